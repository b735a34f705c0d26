"""ModelRunner: a cache larger than the machine's free memory is refused up front, and nothing is lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_step, runner_for

from swiftllm.model_config import ModelError


def test_a_cache_that_cannot_fit_in_memory_is_an_error_not_a_crash(tiny_model_dir: Path) -> None:
    runner = runner_for(tiny_model_dir)
    with pytest.raises(ModelError, match="GiB"):
        runner.init_cache(16, 10**9, 0, 256)
    runner.init_cache(16, 8, 0, 256)  # still usable afterwards
    assert len(runner.step(make_step([0], [[1, 2, 3]], [3], [[0]])).tokens) == 1
