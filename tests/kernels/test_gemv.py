from __future__ import annotations

import pytest
import torch
from conftest import rel_err

from swiftllm.kernels.gemv import gemv

from .paged import tolerance


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("rows", [1, 5, 16])
@pytest.mark.parametrize("with_bias", [False, True])
def test_gemv_matches_matmul(dtype: torch.dtype, rows: int, with_bias: bool) -> None:
    x, w = torch.randn(rows, 300).to(dtype), torch.randn(40, 300).to(dtype)  # N, K off the block sizes
    bias = torch.randn(40).to(dtype) if with_bias else None
    ref = torch.nn.functional.linear(x.double(), w.double(), bias.double() if with_bias else None)
    out = gemv(x, w, bias)
    assert out.shape == (rows, 40) and out.dtype == dtype
    assert rel_err(out, ref) < tolerance(dtype)
