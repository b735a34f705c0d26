"""What a model is, read from an HF-style directory's config.json (+ generation_config.json)."""

import json
from dataclasses import dataclass, field
from pathlib import Path

from swiftllm.sampling_params import SamplingParams

SUPPORTED_ARCHITECTURES = ("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM")
# config.json's required sizes, each a positive integer (a string or a float failed later, in torch's
# words, or served garbage)
SIZES = "vocab_size hidden_size intermediate_size num_hidden_layers num_attention_heads".split()
# sizes that may be absent or null (a default, or none), else positive integers too
OPTIONAL_SIZES = "num_key_value_heads head_dim max_position_embeddings sliding_window".split()
# the values our forward computes with: any other would be served wrong, silently (a GELU model ran SiLU, a
# Llama with attention or MLP biases ran without them, and "false" as a string tied the embeddings)
FIXED = {"hidden_act": ("silu", "swish"), "attention_bias": (False,), "mlp_bias": (False,)}
# keys whose JSON type is checked (a string "linear" as rope_scaling failed in dict's own words)
TYPED = {"tie_word_embeddings": bool, "rope_scaling": dict, "rope_parameters": dict}
JSON_WORDS = {bool: "true or false", dict: "an object"}
# the rope scaling types we serve, and the keys each needs (all positive numbers; worker/model.py's
# rope_inv_freq uses them)
ROPE_KEYS = {
    "default": (),
    "linear": ("factor",),
    "llama3": ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"),
}


class ModelError(ValueError):
    """A model directory that cannot be served, with a message meant for the user."""


@dataclass(frozen=True)
class ModelConfig:
    """A model's shape, rotary settings and stop tokens, as both processes need them.

    Read with `from_dir`; plain data (no torch), so the controller reads it too. The worker turns it into
    tensors (swiftllm/worker/model.py)."""

    architecture: str
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    rms_norm_eps: float
    rope_theta: float
    max_position_embeddings: int
    tie_word_embeddings: bool
    qkv_bias: bool = False
    rope_scaling: dict = field(default_factory=dict)
    sliding_window: int | None = None
    torch_dtype: str = "float32"
    eos_token_ids: tuple[int, ...] = ()
    # temperature / top_p / top_k from generation_config.json: what a request that sets none gets
    generation_defaults: dict = field(default_factory=dict)

    @property
    def q_size(self) -> int:
        return self.num_heads * self.head_dim

    @property
    def kv_size(self) -> int:
        return self.num_kv_heads * self.head_dim

    @property
    def max_context(self) -> int:
        """Longest context served: the position limit, or a sliding window (we do not implement sliding)."""
        window = self.sliding_window or self.max_position_embeddings
        return min(self.max_position_embeddings, window)

    @staticmethod
    def from_dict(cfg: dict, generation: dict | None = None) -> "ModelConfig":
        """From config.json's and generation_config.json's contents; what we cannot serve (architecture,
        rope scaling type, a rope or norm constant that is missing or not positive) raises ModelError, a
        missing required key KeyError."""
        arch = (cfg.get("architectures") or ["LlamaForCausalLM"])[0]
        if arch not in SUPPORTED_ARCHITECTURES:
            raise ModelError(
                f"unsupported architecture {arch!r}; supported: {', '.join(SUPPORTED_ARCHITECTURES)}"
            )
        for key in [*SIZES, *(key for key in OPTIONAL_SIZES if cfg.get(key) is not None)]:
            value = cfg.get(key)
            if type(value) is not int or value < 1:
                raise ModelError(f"config.json: {key} must be a positive integer, not {value!r}")
        for key, allowed in FIXED.items():
            if cfg.get(key) not in (None, *allowed):
                raise ModelError(f"config.json: {key} must be {allowed[0]!r}, not {cfg[key]!r}")
        for key, kind in TYPED.items():
            if cfg.get(key) is not None and not isinstance(cfg[key], kind):
                raise ModelError(f"config.json: {key} must be {JSON_WORDS[kind]}, not {cfg[key]!r}")
        if cfg.get("quantization_config") is not None:  # FP8 weights ran without their scales
            raise ModelError("config.json: quantized checkpoints are not supported")
        # null means unset (a null default would fail every request that inherits it)
        generation = {key: value for key, value in (generation or {}).items() if value is not None}
        heads = cfg["num_attention_heads"]
        kv_heads = cfg.get("num_key_value_heads") or heads
        if heads % kv_heads:  # failed at the first step, in einsum's words
            raise ModelError(f"config.json: {kv_heads} KV heads must divide the {heads} heads")
        head_dim = cfg.get("head_dim") or cfg["hidden_size"] // heads
        if head_dim < 2 or head_dim % 2:  # rotary turns pairs: an odd one failed the first step
            raise ModelError(f"config.json: head_dim {head_dim} must be even and positive")
        # transformers 5 writes rope_parameters (theta inside); older configs rope_theta + rope_scaling.
        rope = dict(cfg.get("rope_parameters") or cfg.get("rope_scaling") or {})
        # inside rope_parameters, else beside it; a 0 is refused below, not read as absent
        theta = rope.pop("rope_theta", cfg.get("rope_theta", 10000.0))
        rope_type = rope.setdefault("rope_type", rope.get("type", "default"))
        if not isinstance(rope_type, str) or rope_type not in ROPE_KEYS:
            raise ModelError(
                f"unsupported rope scaling type {rope_type!r}; supported: {', '.join(ROPE_KEYS)}"
            )
        # zero or negative ones gave garbage or a division by zero at the first step, not an error
        positive = {key: rope.get(key) for key in ROPE_KEYS[rope_type]}
        positive.update(rope_theta=theta, rms_norm_eps=cfg.get("rms_norm_eps", 1e-6))
        for key, value in positive.items():
            if type(value) not in (int, float) or not 0 < value < float("inf"):  # true is no number
                raise ModelError(f"config.json: {key} must be a positive number, not {value!r}")
        if rope_type == "llama3" and rope["high_freq_factor"] <= rope["low_freq_factor"]:
            raise ModelError("config.json: llama3 rope needs high_freq_factor > low_freq_factor")
        eos_ids = generation.get("eos_token_id", cfg.get("eos_token_id"))  # an id, a list or none
        if not isinstance(eos_ids, list):
            eos_ids = [] if eos_ids is None else [eos_ids]
        # "2", true or 2**70 were taken: never matched, matched token 1, or failed the worker's hello
        if not all(type(eos) is int and 0 <= eos < cfg["vocab_size"] for eos in eos_ids):
            raise ModelError(f"eos_token_id must hold token ids below vocab_size, not {eos_ids!r}")
        defaults = {k: generation[k] for k in ("temperature", "top_p", "top_k") if k in generation}
        try:  # every request inherits them: checked here, or a bad one would fail the first request
            SamplingParams(**defaults)
        except ValueError as error:  # a wrong type too: SamplingParams checks types (field_rules)
            raise ModelError(f"generation_config.json: {error}") from None
        # transformers slides every Mistral layer, and a Qwen2's only with use_sliding_window (those from
        # max_window_layers on: the context is limited here whichever layers slide); 4096 its default
        qwen_slides = arch == "Qwen2ForCausalLM" and cfg.get("use_sliding_window")
        slides = arch == "MistralForCausalLM" or qwen_slides
        return ModelConfig(
            architecture=arch,
            vocab_size=cfg["vocab_size"],
            hidden_size=cfg["hidden_size"],
            intermediate_size=cfg["intermediate_size"],
            num_layers=cfg["num_hidden_layers"],
            num_heads=heads,
            num_kv_heads=kv_heads,
            head_dim=head_dim,
            rms_norm_eps=positive["rms_norm_eps"],
            rope_theta=float(theta),
            max_position_embeddings=cfg.get("max_position_embeddings") or 2048,  # null: the default
            tie_word_embeddings=cfg.get("tie_word_embeddings", False),
            qkv_bias=arch == "Qwen2ForCausalLM",
            rope_scaling=rope,
            sliding_window=cfg.get("sliding_window", 4096) if slides else None,
            torch_dtype=str(cfg.get("dtype") or cfg.get("torch_dtype") or "float32"),
            eos_token_ids=tuple(eos_ids),
            generation_defaults=defaults,
        )

    @staticmethod
    def from_dir(path: str | Path) -> "ModelConfig":
        """Read a model directory; any problem is a ModelError with a message meant for the user."""
        path = Path(path)
        if not (path / "config.json").is_file():
            raise ModelError(f"{path} is not a model directory (no config.json)")
        try:
            gen_file = path / "generation_config.json"
            generation = json.loads(gen_file.read_text()) if gen_file.is_file() else {}
            return ModelConfig.from_dict(json.loads((path / "config.json").read_text()), generation)
        # AttributeError: a file that holds JSON but not an object ([1], "x")
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
            raise ModelError(f"malformed config in {path}: {type(e).__name__}: {e}") from None
