"""field_types: wrongly typed values fail where they are given, naming the field (session 41 listed them as
an unnamed TypeError from the first comparison, or for config.json a failure at the first step)."""

import json
import shutil
from pathlib import Path

import pytest

from swiftllm.config import EngineConfig
from swiftllm.field_types import FieldTypeError, has_type
from swiftllm.model_config import ModelConfig, ModelError
from swiftllm.models.gguf_import import ensure_default_model
from swiftllm.sampling_params import SamplingParams


@pytest.mark.parametrize(
    "value, annotation, expected",
    [
        (3, int, True),
        (3, float, True),  # the numeric tower
        (3.0, int, False),
        (True, int, False),  # a bool is not a count
        (True, bool, True),
        (1, bool, False),
        (None, int | None, True),
        (None, int, False),
        ("4", int | None, False),
        ((1, 2), tuple[int, ...], True),
        ([1, 2], tuple[int, ...], False),
        ({}, dict, True),
        ("auto", str, True),
    ],
)
def test_has_type(value: object, annotation: object, expected: bool) -> None:
    assert has_type(value, annotation) is expected


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: SamplingParams(temperature="0.7"), "temperature must be float | None, not str"),
        (lambda: SamplingParams(max_tokens=True), "max_tokens must be int, not bool"),
        (lambda: SamplingParams(top_k=2.5), "top_k must be int | None, not float"),
        (lambda: SamplingParams(ignore_eos="no"), "ignore_eos must be bool, not str"),
        (lambda: SamplingParams(stop_token_ids=["2"]), "stop_token_ids must be token ids"),
        (lambda: EngineConfig(swap_space_gb="4"), "swap_space_gb must be float, not str"),
        (lambda: EngineConfig(cuda_graphs=1), "cuda_graphs must be bool, not int"),
        (lambda: EngineConfig(port=None), "port must be int, not NoneType"),
        (lambda: EngineConfig(threads=2000), "threads must be at most 1024"),
    ],
)
def test_wrong_types_name_their_field(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):  # a ValueError, as other bad values are
        make()  # type: ignore[operator]


def test_a_wrong_type_is_a_type_error_too() -> None:
    with pytest.raises(TypeError, match="temperature") as raised:
        SamplingParams(temperature="0.7")
    assert type(raised.value) is FieldTypeError


def test_the_numbers_people_write_still_pass() -> None:
    assert SamplingParams(temperature=1, top_p=1, presence_penalty=0).temperature == 1
    assert SamplingParams(stop="x", stop_token_ids=[2]).stop_token_ids == (2,)
    assert EngineConfig(swap_space_gb=0, gpu_memory_utilization=1).swap_space_gb == 0


@pytest.mark.parametrize(
    "key, value, field",
    [
        ("hidden_size", "576", "hidden_size must be int, not str"),
        ("num_hidden_layers", 30.0, "num_layers must be int, not float"),
        ("tie_word_embeddings", "true", "tie_word_embeddings must be bool, not str"),
        ("rms_norm_eps", [1e-5], "rms_norm_eps must be float, not list"),
    ],
)
def test_a_wrongly_typed_config_json_is_a_model_error(
    tmp_path: Path, key: str, value: object, field: str
) -> None:
    shutil.copy(ensure_default_model() / "config.json", tmp_path / "config.json")
    config = json.loads((tmp_path / "config.json").read_text())
    ModelConfig.from_dir(tmp_path)  # as shipped: loads
    (tmp_path / "config.json").write_text(json.dumps({**config, key: value}))
    with pytest.raises(ModelError, match=f"malformed config in {tmp_path}: .*{field}"):
        ModelConfig.from_dir(tmp_path)
