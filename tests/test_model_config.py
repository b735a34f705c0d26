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
    config = ModelConfig.from_dict({**BASE, **nulls})
    assert config.num_kv_heads == config.num_heads
    assert config.head_dim == config.hidden_size // config.num_heads
    for key in ("vocab_size", "hidden_size", "intermediate_size"):
        cfg = {name: value for name, value in BASE.items() if name != key}
        with pytest.raises(ModelError, match=f"{key} must be a positive integer, not None"):
            ModelConfig.from_dict(cfg)
