"""Kernel tests run the Triton kernels on CPU through Triton's interpreter.

TRITON_INTERPRET is read when a kernel is decorated (at import of swiftllm.kernels.*), so it is set here,
before any test module of this folder imports them. This folder is a package (it has __init__.py) so that
this conftest does not shadow tests/conftest.py for `from conftest import ...` elsewhere.
"""

from __future__ import annotations

import os

os.environ["TRITON_INTERPRET"] = "1"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from triton.language import core as tl_core  # noqa: E402
from triton.runtime import interpreter  # noqa: E402


@pytest.fixture(autouse=True)
def poisoned_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fresh float tensors start as NaN, so an output element a kernel forgot to write fails the test."""
    empty, empty_like = torch.empty, torch.empty_like

    def poison(t: torch.Tensor) -> torch.Tensor:
        return t.fill_(float("nan")) if t.is_floating_point() else t

    monkeypatch.setattr(torch, "empty", lambda *a, **k: poison(empty(*a, **k)))
    monkeypatch.setattr(torch, "empty_like", lambda *a, **k: poison(empty_like(*a, **k)))
    torch.manual_seed(0)


def to_tf32(x: np.ndarray) -> np.ndarray:
    """float32 rounded to TF32's 10 mantissa bits (to nearest), as tensor cores read float32 operands."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    return ((bits + np.uint32(0x1000)) & np.uint32(0xFFFFE000)).view(np.float32)


@pytest.fixture(autouse=True)
def tensor_core_dots(monkeypatch: pytest.MonkeyPatch) -> None:
    """The interpreter's tl.dot as a GPU's: float32 operands rounded to TF32 unless the kernel asks for
    input_precision "ieee". The interpreter ignores the precision (np.matmul in float32), so a kernel left
    at Triton's default passed the float32 tests here and computed at TF32 (a 3e-4 error) on a GPU."""
    create_dot = interpreter.InterpreterBuilder.create_dot

    def dot(self, a, b, d, input_precision, max_num_imprecise_acc):  # noqa: ANN001
        float32 = a.data.dtype == np.float32 and b.data.dtype == np.float32
        if float32 and input_precision != tl_core.ir.INPUT_PRECISION.IEEE:
            a = interpreter.TensorHandle(to_tf32(a.data), a.dtype)
            b = interpreter.TensorHandle(to_tf32(b.data), b.dtype)
        return create_dot(self, a, b, d, input_precision, max_num_imprecise_acc)

    monkeypatch.setattr(interpreter.InterpreterBuilder, "create_dot", dot)
