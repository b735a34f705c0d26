"""Fixtures shared by the bench script tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_scripts import load_script


@pytest.fixture(scope="session")
def llama3_dummy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """make_dummy_model.py's Llama-3-8B dir (config and the 128,256-entry tokenizer), built once: tests
    only read it."""
    dummy = load_script("make_dummy_model")
    return dummy.make_dummy_model(tmp_path_factory.mktemp("llama3-8b"), "llama3-8b")
