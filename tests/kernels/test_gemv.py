from __future__ import annotations

import pytest
import torch
from conftest import rel_err

from swiftllm.kernels.gemv import gemv
from swiftllm.worker import backend_torch

from .paged import tolerance


# 1 row: the multiply-add path (BLOCK_N 4, BLOCK_K 1024); 3 and 16: tl.dot (16 x 512); 17-64: tl.dot of W x^T
# (32 rows x 128; two row blocks past 32). N = 41 is off every BLOCK_N; K = 1024 is a multiple of every BLOCK_K
# (the unmasked EVEN_K case), 1100 of none
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("rows", [1, 3, 16, 17, 32, 40, 64])
@pytest.mark.parametrize(("k_dim", "with_bias"), [(1024, False), (1100, True)])
def test_gemv_matches_matmul(dtype: torch.dtype, rows: int, k_dim: int, with_bias: bool) -> None:
    x, w = torch.randn(rows, k_dim).to(dtype), torch.randn(41, k_dim).to(dtype)
    bias = torch.randn(41).to(dtype) if with_bias else None
    ref = torch.nn.functional.linear(x.double(), w.double(), bias.double() if with_bias else None)
    out = gemv(x, w, bias)
    assert out.shape == (rows, 41) and out.dtype == dtype
    assert rel_err(out, ref) < tolerance(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("rows", [1, 5])
def test_gemv_with_silu_matches_silu_and_mul_then_matmul(dtype: torch.dtype, rows: int) -> None:
    x = (torch.randn(rows, 2400) * 3).to(dtype)[:, :2200]  # gate_up [rows, 2K], strided rows
    w = torch.randn(41, 1100).to(dtype)
    # SiLU rounded as in x
    ref = torch.nn.functional.linear(backend_torch.silu_and_mul(x).double(), w.double())
    out = gemv(x, w, silu=True)
    assert out.shape == (rows, 41) and out.dtype == dtype
    assert rel_err(out, ref) < tolerance(dtype)


# the RMSNorm prologue on each path (1 row, tl.dot at 2-16, W x^T past 16), with a bias and off-tile K
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("rows", [1, 5, 40])
def test_gemv_with_norm_matches_rms_norm_then_matmul(dtype: torch.dtype, rows: int) -> None:
    stream = (torch.randn(rows, 2200) * 30).to(dtype)[
        :, :1100
    ]  # strided rows, a residual stream's scale
    norm_weight = (torch.rand(1100) + 0.5).to(dtype)
    w, bias = torch.randn(41, 1100).to(dtype), torch.randn(41).to(dtype)
    normed = backend_torch.rms_norm(stream.double(), norm_weight.double(), 1e-5)
    ref = torch.nn.functional.linear(normed, w.double(), bias.double())
    out = gemv(stream, w, bias, norm=norm_weight, eps=1e-5)
    assert out.shape == (rows, 41) and out.dtype == dtype
    assert rel_err(out, ref) < tolerance(dtype) * 2


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize(("rows", "silu"), [(1, False), (1, True), (5, False), (40, False)])
def test_gemv_with_residual_adds_it(dtype: torch.dtype, rows: int, silu: bool) -> None:
    k_in = 2200 if silu else 1100
    x = torch.randn(rows, k_in).to(dtype)
    w = torch.randn(41, 1100).to(dtype)
    residual = (torch.randn(rows, 82) * 10).to(dtype)[:, :41]  # strided rows
    act = backend_torch.silu_and_mul(x.double()) if silu else x.double()
    ref = torch.nn.functional.linear(act, w.double()) + residual.double()
    out = gemv(x, w, silu=silu, residual=residual)
    assert out.shape == (rows, 41) and out.dtype == dtype
    assert rel_err(out, ref) < tolerance(dtype)
