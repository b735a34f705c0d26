"""What a request asks for: how many tokens, how to pick them, when to stop."""

from dataclasses import dataclass, fields, replace

import numpy as np

from swiftllm.field_rules import PARAM_FIELDS

# a temperature below this (and above 0) means greedy, vLLM's rule: logits / 1e-40 overflow float32
MIN_TEMPERATURE = 1e-5


def python_value(value: object) -> object:
    """numpy's scalars (an np.random seed, an np.str_ stop string) as the Python values they hold, which
    the worker protocol's msgpack encodes; anything else as it is. (Left: np.float32(1e-38) holds
    9.99999935e-39, which top_p's bound 1e-38 refuses, and a longdouble's item() is a longdouble, refused
    as no number; reading a numpy float as the decimal it prints as would take both, for two lines.)"""
    return value.item() if isinstance(value, np.generic) else value


# fields by name only: vLLM's SamplingParams(2) is n=2, which here would have been max_tokens=2
@dataclass(frozen=True, kw_only=True)
class SamplingParams:
    """One request's sampling options, checked at construction (a bad value raises ValueError).

    None for temperature / top_p / top_k means "the model's generation_config.json default, else the
    neutral value"; `resolved` fills them in when the engine queues the request."""

    max_tokens: int = 16
    # None: model default, else 1.0; 0 (or < MIN_TEMPERATURE) = greedy
    temperature: float | None = None
    top_p: float | None = None  # None: model default, else 1.0 (off)
    top_k: int | None = None  # None: model default, else 0 (off)
    seed: int | None = None  # None: a random seed, fixed when the engine queues the request
    stop: tuple[str, ...] = ()
    stop_token_ids: tuple[int, ...] = ()
    ignore_eos: bool = False
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    # vLLM's: a seen token's logit is divided by it if positive, multiplied if negative; 1 = off. Counted
    # over the tokens generated so far (vLLM and HF count the prompt's too)
    repetition_penalty: float = 1.0
    min_p: float = 0.0  # drop tokens less likely than min_p x the most likely one; 0 = off
    logprobs: int | None = None  # None: none; 0: the chosen token's; N: also the top N
    include_stop_str_in_output: bool = False

    def __post_init__(self) -> None:
        # one stop string or token id stands for a list of one; the checks below refuse a wrong type
        for name in ("stop", "stop_token_ids"):
            items = getattr(self, name)
            items = () if items is None else items  # None: vLLM's default for both
            items = items if isinstance(items, list | tuple) else [items]
            object.__setattr__(self, name, tuple(map(python_value, items)))
        # the same table REST checks a request against: the same values pass, with the same words
        for item in fields(self):
            value = python_value(getattr(self, item.name))
            object.__setattr__(self, item.name, value)
            domain = PARAM_FIELDS[item.name]
            unset = value is None and item.default is None  # the model's default, or none
            if not unset and not domain.accepts(value):
                raise ValueError(f"{item.name} must be {domain.what}")

    @property
    def is_penalized(self) -> bool:
        """Whether sampling needs the tokens generated so far (some penalty is on)."""
        return bool(self.presence_penalty or self.frequency_penalty or self.repetition_penalty != 1)

    def resolved(self, defaults: dict) -> "SamplingParams":
        """Fill unset values from the model's generation_config, then the neutral values."""
        defaults = {"temperature": 1.0, "top_p": 1.0, "top_k": 0, **defaults}
        temperature = defaults["temperature"] if self.temperature is None else self.temperature
        if temperature < MIN_TEMPERATURE:
            temperature = 0.0
        top_p = defaults["top_p"] if self.top_p is None else self.top_p
        top_k = defaults["top_k"] if self.top_k is None else self.top_k
        # top_k -1 (vLLM's "off") and 0 both mean off
        return replace(
            self, temperature=float(temperature), top_p=float(top_p), top_k=max(int(top_k), 0)
        )
