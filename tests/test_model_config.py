"""ModelConfig.from_dict / from_dir: what config.json declares that we cannot serve is a ModelError at load."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from swiftllm.model_config import ModelConfig, ModelError

BASE = {
    "vocab_size": 128,
    "hidden_size": 64,
    "intermediate_size": 96,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "max_position_embeddings": 1024,
}
LLAMA3 = {
    "rope_type": "llama3",
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 16,
}


def test_a_well_formed_config_loads_with_its_constants() -> None:
    config = ModelConfig.from_dict({**BASE, "rope_parameters": {**LLAMA3, "rope_theta": 5e5}})
    assert config.rope_theta == 5e5
    assert config.rope_scaling["factor"] == 8.0
    assert config.rms_norm_eps == 1e-6
    linear = ModelConfig.from_dict({**BASE, "rope_scaling": {"type": "linear", "factor": 2}})
    assert linear.rope_scaling["rope_type"] == "linear"


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"rope_theta": 0}, "rope_theta must be a positive number, not 0"),
        ({"rope_theta": -10000.0}, "rope_theta must be a positive number"),
        ({"rope_theta": "big"}, "rope_theta must be a positive number, not 'big'"),
        ({"rms_norm_eps": 0.0}, "rms_norm_eps must be a positive number"),
        ({"rms_norm_eps": math.nan}, "rms_norm_eps must be a positive number"),
        ({"rope_scaling": {"rope_type": "linear"}}, "factor must be a positive number, not None"),
        ({"rope_scaling": {"rope_type": "linear", "factor": 0}}, "factor must be a positive"),
        ({"rope_scaling": {**LLAMA3, "factor": -8.0}}, "factor must be a positive"),
        (
            {"rope_parameters": {**LLAMA3, "original_max_position_embeddings": None}},
            "original_max_position_embeddings must be a positive number, not None",
        ),
        ({"rope_parameters": {**LLAMA3, "low_freq_factor": 0}}, "low_freq_factor must be"),
        (
            {"rope_parameters": {**LLAMA3, "high_freq_factor": 1.0}},
            "needs high_freq_factor > low_freq_factor",
        ),
        ({"rope_scaling": {"rope_type": "yarn", "factor": 4}}, "unsupported rope scaling type"),
    ],
)
def test_rope_and_norm_constants_that_cannot_work_are_refused(changes: dict, message: str) -> None:
    """These loaded before and gave garbage, a division by zero or a KeyError at the first step."""
    cfg = {**BASE, **changes}
    with pytest.raises(ModelError, match=message):
        ModelConfig.from_dict(cfg)


def test_from_dir_names_the_problem(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({**BASE, "rms_norm_eps": -1e-5}))
    with pytest.raises(ModelError, match="rms_norm_eps must be a positive number, not -1e-05"):
        ModelConfig.from_dir(tmp_path)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("hidden_size", "64"),
        ("num_hidden_layers", 2.5),
        ("vocab_size", None),
        ("num_attention_heads", [4]),
        ("intermediate_size", -5),
    ],
)
def test_a_size_that_is_not_a_positive_integer_is_refused_naming_it(
    key: str, value: object
) -> None:
    """Session 42's fuzzing: these loaded (and failed later in torch's words, or served garbage)."""
    with pytest.raises(ModelError, match=f"config.json: {key} must be a positive integer"):
        ModelConfig.from_dict({**BASE, key: value})


def test_optional_sizes_may_be_null_and_required_ones_not_missing() -> None:
    nulls = {"num_key_value_heads": None, "head_dim": None, "sliding_window": None}
    # max_position_embeddings: null was kept as None, a TypeError at the first max_context (session 48)
    nulls["max_position_embeddings"] = None
    config = ModelConfig.from_dict({**BASE, **nulls})
    assert config.num_kv_heads == config.num_heads
    assert config.max_position_embeddings == 2048 and config.max_context == 2048
    assert config.head_dim == config.hidden_size // config.num_heads
    for key in ("vocab_size", "hidden_size", "intermediate_size"):
        cfg = {name: value for name, value in BASE.items() if name != key}
        with pytest.raises(ModelError, match=f"{key} must be a positive integer, not None"):
            ModelConfig.from_dict(cfg)


@pytest.mark.parametrize(
    "changes,message",
    [
        # optional sizes: absent or null take their defaults, anything else must be a positive integer
        ({"num_key_value_heads": "4"}, "num_key_value_heads must be a positive integer, not '4'"),
        ({"num_key_value_heads": 4.0}, "num_key_value_heads must be a positive integer, not 4.0"),
        ({"max_position_embeddings": "256"}, "max_position_embeddings must be a positive integer"),
        ({"max_position_embeddings": 0}, "max_position_embeddings must be a positive integer"),
        ({"sliding_window": -1}, "sliding_window must be a positive integer, not -1"),
        ({"head_dim": 16.5}, "head_dim must be a positive integer"),
        # what our forward would compute differently from the model's own, silently
        ({"hidden_act": "gelu"}, "hidden_act must be 'silu', not 'gelu'"),
        ({"attention_bias": True}, "attention_bias must be False, not True"),
        ({"mlp_bias": True}, "mlp_bias must be False, not True"),
        ({"tie_word_embeddings": "false"}, "tie_word_embeddings must be true or false"),
        # a string or list where an object belongs failed in dict's own words (session 47's probe)
        ({"rope_scaling": "linear"}, "rope_scaling must be an object, not 'linear'"),
        ({"rope_parameters": ["llama3"]}, "rope_parameters must be an object"),
        ({"rope_scaling": {"rope_type": ["linear"]}}, "unsupported rope scaling type"),
        # a 0 inside rope_parameters was read as absent: the top level's or 10,000 (session 48's probe)
        ({"rope_parameters": {"rope_theta": 0}}, "rope_theta must be a positive number, not 0"),
        # constants: true is no number, and infinity no constant
        ({"rms_norm_eps": math.inf}, "rms_norm_eps must be a positive number, not inf"),
        ({"rms_norm_eps": True}, "rms_norm_eps must be a positive number, not True"),
        ({"rope_theta": math.inf}, "rope_theta must be a positive number"),
        # stop tokens: each a token id of this vocabulary
        ({"eos_token_id": "2"}, r"eos_token_id must hold token ids below vocab_size, not \['2'\]"),
        ({"eos_token_id": True}, "eos_token_id must hold token ids"),
        ({"eos_token_id": [2, 2**70]}, "eos_token_id must hold token ids"),
        ({"eos_token_id": [[2]]}, "eos_token_id must hold token ids"),
        ({"eos_token_id": -1}, "eos_token_id must hold token ids"),
        ({"eos_token_id": 128}, "eos_token_id must hold token ids below vocab_size"),
    ],
)
def test_values_that_loaded_and_were_served_wrong_are_refused(changes: dict, message: str) -> None:
    """Session 47's probe: each loaded. Strings and floats as sizes failed later with a TypeError traceback;
    a GELU or biased model ran as a SiLU one without biases, "false" tied the embeddings, an infinite eps
    generated token 0, and stop ids that are no token ids never matched (2**70 failed the worker's hello)."""
    with pytest.raises(ModelError, match=message):
        ModelConfig.from_dict({**BASE, **changes})


def test_what_the_fixed_keys_allow_still_loads() -> None:
    fine = {
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": None,
        "tie_word_embeddings": True,
    }
    assert ModelConfig.from_dict({**BASE, **fine}).tie_word_embeddings is True
    assert ModelConfig.from_dict({**BASE, "hidden_act": "swish"}).architecture == "LlamaForCausalLM"
    assert ModelConfig.from_dict({**BASE, "eos_token_id": [0, 127]}).eos_token_ids == (0, 127)


@pytest.mark.parametrize("where", ["config.json", "generation_config.json"])
def test_json_that_is_not_an_object_is_a_model_error(tmp_path: Path, where: str) -> None:
    """Session 47's probe: [1] as config.json (or generation_config.json) was an AttributeError traceback."""
    (tmp_path / "config.json").write_text(json.dumps(BASE))
    (tmp_path / where).write_text("[1]")
    with pytest.raises(ModelError, match=f"malformed config in {tmp_path}: AttributeError"):
        ModelConfig.from_dir(tmp_path)


QWEN2 = {**BASE, "architectures": ["Qwen2ForCausalLM"], "sliding_window": 32}


@pytest.mark.parametrize(
    "changes,window",
    [
        ({"use_sliding_window": True, "max_window_layers": 0}, 32),  # every layer slides
        ({"use_sliding_window": True, "max_window_layers": 1}, 32),  # layer 1 of 2 slides
        # none does (max_window_layers defaults to 28): limited all the same, which serves less than it
        # could but nothing wrong (real Qwen2 configs leave use_sliding_window false)
        ({"use_sliding_window": True, "max_window_layers": 2}, 32),
        ({"use_sliding_window": True}, 32),
        ({"use_sliding_window": True, "layer_types": ["full_attention", "sliding_attention"]}, 32),
        ({"use_sliding_window": False, "max_window_layers": 0}, None),
        ({"max_window_layers": 0}, None),  # use_sliding_window defaults to false
    ],
)
def test_a_qwen2_whose_layers_slide_is_served_only_within_its_window(
    changes: dict, window: int | None
) -> None:
    """transformers slides Qwen2's layers from max_window_layers on when use_sliding_window is set; we served
    such a model past its window with full attention (0.13 relative error beyond it, probe p3_sliding)."""
    config = ModelConfig.from_dict({**QWEN2, **changes})
    assert config.sliding_window == window
    assert config.max_context == min(window or 1 << 30, BASE["max_position_embeddings"])


def test_a_mistral_slides_whatever_use_sliding_window_says() -> None:
    """transformers' Mistral ignores use_sliding_window; we read `false` there as no window and served past
    it with full attention (0.75 relative error beyond it, session 66's probe p13_mistral_usw)."""
    mistral = {**BASE, "architectures": ["MistralForCausalLM"], "sliding_window": 32}
    for use_sliding_window in (False, True, None):
        config = ModelConfig.from_dict({**mistral, "use_sliding_window": use_sliding_window})
        assert config.sliding_window == 32 and config.max_context == 32


@pytest.mark.parametrize(
    "changes,message",
    [
        # FP8 weights (F8_E4M3 tensors beside weight_scale ones) loaded and ran without their scales
        ({"quantization_config": {"quant_method": "fp8"}}, "quantized checkpoints"),
        ({"quantization_config": {"quant_method": "compressed-tensors"}}, "quantized checkpoints"),
        # failed at the first step in einsum's words
        ({"num_key_value_heads": 3}, "3 KV heads must divide the 4 heads"),
        ({"num_key_value_heads": 8}, "8 KV heads must divide the 4 heads"),
        # rotary turns pairs of a head's dimensions: an odd head failed at the first step, in a shape
        # error (torch backend) or a bare AssertionError (Triton), session 68's kernel hunt
        ({"hidden_size": 100}, "head_dim 25 must be even and positive"),
        ({"head_dim": 15}, "head_dim 15 must be even and positive"),
        ({"hidden_size": 3, "head_dim": None}, "head_dim 0 must be even and positive"),
    ],
)
def test_quantized_odd_or_unevenly_grouped_models_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        ModelConfig.from_dict({**BASE, **changes})
