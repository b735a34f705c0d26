"""What each request field may hold: its types and valid values, in one table that both `SamplingParams`
(the Python API) and the REST schema (controller/openai_schema.py, which adds the REST-only fields) check
against, so that a value one refuses the other refuses too, with the same words.

The domains are those the worker computes in: int32 and float32 (a top_p that float32 rounds to 0 would
make the worker refuse the step). Plain data: the controller process imports this."""

import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral
from typing import Any

MAX_STOP = 16  # stop strings (each one is searched for in every step's new text)
MAX_STOP_TOKEN_IDS = 1024
NUMBER = (int, float)
INT = (int,)
# the only code points UTF-8 cannot encode: a string holding one cannot be tokenized
SURROGATE = re.compile("[\ud800-\udfff]")


def float32(value: float) -> float:
    """The value as the worker computes with it (float32): 1e-300 is 0 there, 1e39 is inf. Rounded by
    struct's C cast, as numpy rounds (tests/test_field_rules.py), at a tenth of np.float32's cost under
    np.errstate: each request's SamplingParams rounds some twenty values."""
    try:
        return struct.unpack("f", struct.pack("f", float(value)))[0]
    except OverflowError:  # an integer beyond any float, of either sign
        return math.inf if value > 0 else -math.inf


def finite_in(low: float, high: float) -> Callable[[Any], bool]:
    """A number in [low, high] (finite bounds), also after rounding to float32, the bounds rounded too
    (NaN and inf never are: every comparison with a finite bound fails them, as it does a value that float32
    rounds to inf): so 1e-38 passes [1e-38, 1], though float32 rounds it to 9.99995e-39, and is positive there."""
    return lambda value: float32(low) <= float32(value) <= float32(high) and low <= value <= high


def int_in(low: int, high: int) -> Callable[[Any], bool]:
    return lambda value: low <= value <= high


def list_of(kind: type, max_len: int, valid: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """A list (or tuple) of at most max_len items, each exactly of `kind` (a bool is not an int)."""
    return lambda items: (
        len(items) <= max_len and all(type(item) is kind and valid(item) for item in items)
    )


def is_text(value: object) -> bool:
    """A string the tokenizer can take: UTF-8-encodable (a lone surrogate such as "\ud800" is not)."""
    return isinstance(value, str) and SURROGATE.search(value) is None


def is_token_id(value: object) -> bool:
    """An integer, numpy's too (numbers.Integral); a bool is no token id. A plain int is asked first:
    isinstance against the Integral ABC costs ~0.4 us a token, 6 ms for a 16,384-token prompt, which
    LLM.generate checks before its first step: much of the 10-20 ms by which a 16k-token generate ran
    behind 74a2896's on an H100 (session 51, bench/results/h100/prefill_kernels_s51)."""
    return type(value) is int or (isinstance(value, Integral) and not isinstance(value, bool))


def is_stop(value: object) -> bool:
    return bool(value) if isinstance(value, str) else list_of(str, MAX_STOP, bool)(value)


@dataclass(frozen=True)
class Field:
    """How one request field is read: its types (bool is never a number), what a valid value is (the
    error's wording and the check), and its value when absent or null. `neutral`: for a REST field we
    accept but do not implement, the only values allowed (anything else is a 400 "not supported")."""

    kinds: tuple[type, ...]
    what: str
    valid: Callable[[Any], bool] = lambda value: True
    default: Any = None
    neutral: tuple[Any, ...] | None = None

    def is_kind(self, value: object) -> bool:
        """isinstance of one of `kinds`, where True and False are no number."""
        return isinstance(value, self.kinds) and (bool in self.kinds or not isinstance(value, bool))

    def accepts(self, value: object) -> bool:
        return self.is_kind(value) and self.valid(value)


# The request fields that SamplingParams takes as they are, under the same names, read in this
# order (adding one is one line here). A tuple is what SamplingParams holds, a list what JSON gives.
SAMPLING_FIELDS: dict[str, Field] = {
    "top_k": Field(INT, "an integer in [-1, 2**31)", int_in(-1, 2**31 - 1)),
    "stop": Field(
        (str, list, tuple), f"a non-empty string or a list of up to {MAX_STOP}", is_stop, ()
    ),
    "stop_token_ids": Field(
        (list, tuple),
        f"a list of up to {MAX_STOP_TOKEN_IDS} token ids",
        list_of(int, MAX_STOP_TOKEN_IDS, int_in(0, 2**31 - 1)),
        [],
    ),
    "seed": Field(INT, "an integer in [-2**63, 2**64)", int_in(-(2**63), 2**64 - 1)),
    # below 1e-5: greedy (SamplingParams.resolved)
    "temperature": Field(NUMBER, "a number in [0, 100]", finite_in(0, 100)),
    # the worker refuses 0, and 1e-46 is 0 in float32
    "top_p": Field(NUMBER, "a number in [1e-38, 1]", finite_in(1e-38, 1)),
    "ignore_eos": Field((bool,), "a boolean", default=False),
    "presence_penalty": Field(NUMBER, "a number in [-2, 2]", finite_in(-2, 2), 0.0),
    "frequency_penalty": Field(NUMBER, "a number in [-2, 2]", finite_in(-2, 2), 0.0),
    # vLLM's
    "min_p": Field(NUMBER, "a number in [0, 1]", finite_in(0, 1), 0.0),
    "repetition_penalty": Field(NUMBER, "a number in [1e-6, 100]", finite_in(1e-6, 100), 1.0),
    "include_stop_str_in_output": Field((bool,), "a boolean", default=False),
}
# Every SamplingParams field: the above, and the two REST reads in its own way (chat's
# max_completion_tokens and top_logprobs follow the same rules)
PARAM_FIELDS: dict[str, Field] = {
    **SAMPLING_FIELDS,
    "max_tokens": Field(INT, "an integer in [1, 2**31)", int_in(1, 2**31 - 1)),
    "logprobs": Field(INT, "an integer in [0, 20]", int_in(0, 20)),
}
