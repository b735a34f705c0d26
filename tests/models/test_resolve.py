"""resolve_model: the directory named, refused clearly when it is not one."""

from pathlib import Path

import pytest

from swiftllm.model_config import ModelError
from swiftllm.models.resolve import resolve_model


def test_a_directory_is_taken_and_what_is_not_one_is_refused_saying_why(tmp_path: Path) -> None:
    assert resolve_model(tmp_path) == str(tmp_path)
    with pytest.raises(ModelError, match="does not exist"):
        resolve_model(tmp_path / "missing")
    with pytest.raises(ModelError, match="'' does not exist"):  # not the current directory
        resolve_model("")
    # session 66's hunt: a user's own .gguf was said not to exist
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    with pytest.raises(ModelError, match="model.gguf' is a file; a model is an HF-style directory"):
        resolve_model(gguf)
