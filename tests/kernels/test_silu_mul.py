from __future__ import annotations

import pytest
import torch
from conftest import rel_err

from swiftllm.kernels.silu_mul import silu_and_mul
from swiftllm.worker import backend_torch

from .paged import tolerance


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("inter", [48, 1500])  # 1500: several column blocks and a ragged last one
def test_silu_and_mul_matches_reference(dtype: torch.dtype, inter: int) -> None:
    x = (torch.randn(3, 2 * inter) * 3).to(dtype)
    out = silu_and_mul(x)
    ref = backend_torch.silu_and_mul(x.float())
    assert out.shape == (3, inter) and not out.isnan().any()
    assert rel_err(out, ref) < tolerance(dtype)


def test_silu_and_mul_of_no_rows_launches_nothing() -> None:
    assert silu_and_mul(torch.randn(0, 96)).shape == (0, 48)
