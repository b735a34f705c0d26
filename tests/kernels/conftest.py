"""Kernel tests run the Triton kernels on CPU through Triton's interpreter.

TRITON_INTERPRET is read when a kernel is decorated (at import of swiftllm.kernels.*), so it is set here,
before any test module of this folder imports them. This folder is a package (it has __init__.py) so that
this conftest does not shadow tests/conftest.py for `from conftest import ...` elsewhere.
"""

from __future__ import annotations

import os

os.environ["TRITON_INTERPRET"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True)
def poisoned_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fresh float tensors start as NaN, so an output element a kernel forgot to write fails the test."""
    empty, empty_like = torch.empty, torch.empty_like

    def poison(t: torch.Tensor) -> torch.Tensor:
        return t.fill_(float("nan")) if t.is_floating_point() else t

    monkeypatch.setattr(torch, "empty", lambda *a, **k: poison(empty(*a, **k)))
    monkeypatch.setattr(torch, "empty_like", lambda *a, **k: poison(empty_like(*a, **k)))
    torch.manual_seed(0)
