from __future__ import annotations

from typing import NamedTuple

import pytest
import torch
from conftest import rel_err

from swiftllm.kernels.gemv import gemv, tiles_fit

from .paged import tolerance


# 1 row: the multiply-add path; 3 and 16: tl.dot of W x^T, x padded to 16 rows; 17-64: the same at 32-64
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


# at one row the first weight tile is loaded ahead of the loop (before the PDL wait): K over several of the
# shipped 2,048-wide tiles, whole (4,096) and with a masked last tile (4,196), so the loop's tiles follow it
@pytest.mark.parametrize("k_dim", [4096, 4196])
def test_gemv_one_row_over_several_tiles_matches_matmul(k_dim: int) -> None:
    x, w = torch.randn(1, k_dim), torch.randn(41, k_dim)
    ref = torch.nn.functional.linear(x.double(), w.double())
    assert rel_err(gemv(x, w), ref) < tolerance(torch.float32)


# the gated form: gate_up [2N, K] -> SiLU(gate) * up [M, N], all rows in one 128-row block (2 and 128: its
# ends; N = 41 is off BLOCK_N, so the up rows start inside a tile; K = 1100 masks the last tile)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("rows", [2, 77, 128])
def test_gemv_gated_matches_silu_and_mul_of_matmul(dtype: torch.dtype, rows: int) -> None:
    x = torch.randn(rows, 1100).to(dtype)
    w = (torch.randn(82, 1100) / 10).to(dtype)
    gate_up = torch.nn.functional.linear(x.double(), w.double())
    ref = torch.nn.functional.silu(gate_up[:, :41]) * gate_up[:, 41:]
    out = gemv(x, w, gated=True)
    assert out.shape == (rows, 41) and out.dtype == dtype
    assert rel_err(out, ref) < tolerance(dtype)


class OnCuda(NamedTuple):
    """What tiles_fit reads of a tensor, as if on a GPU (this machine has none)."""

    dtype: torch.dtype
    device: torch.device = torch.device("cuda", 0)

    def element_size(self) -> int:
        return self.dtype.itemsize


def test_tiles_fit_asks_the_device_how_much_shared_memory_a_block_may_have(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert tiles_fit(torch.zeros(1, dtype=torch.float32))  # the interpreter

    class Properties:
        shared_memory_per_block_optin = 227 * 1024  # Hopper

    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: Properties)
    assert tiles_fit(OnCuda(torch.bfloat16))
    assert tiles_fit(OnCuda(torch.float16))
    # float32's tiles took 245-295 KB compiled for sm_90 (bench/results/cpu/ptx_ieee_s68/)
    assert not tiles_fit(OnCuda(torch.float32))
    Properties.shared_memory_per_block_optin = 163 * 1024  # an A100
    assert not tiles_fit(OnCuda(torch.bfloat16))


# parts: K split over the grid's second axis, each part's float32 sum stored in its own [M, N] of the result
# (3 and 40 rows: tl.dot's row blocks of 16 and 64). K = 1,024 is whole tiles of every part
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("rows", [3, 40])
@pytest.mark.parametrize("parts", [2, 4])
def test_gemv_parts_sum_to_matmul(dtype: torch.dtype, rows: int, parts: int) -> None:
    x, w = torch.randn(rows, 1024).to(dtype), torch.randn(41, 1024).to(dtype)
    ref = torch.nn.functional.linear(x.double(), w.double())
    out = gemv(x, w, parts=parts)
    assert out.shape == (parts, rows, 41) and out.dtype == torch.float32
    assert rel_err(out.sum(0), ref) < tolerance(dtype)
    # each part is K's own share, not the whole sum again nor another part's
    k_part = 1024 // parts
    for part in range(parts):
        share = x[:, part * k_part : (part + 1) * k_part].double()
        expected = share @ w[:, part * k_part : (part + 1) * k_part].double().T
        assert rel_err(out[part], expected) < tolerance(dtype)


# one row (its programs fill the GPU already), a bias, or K that is no whole number of K tiles a part: one whole
# sum [M, N] in x's dtype
def test_gemv_parts_fall_back_to_whole_sums_at_one_row_with_a_bias_or_ragged_k() -> None:
    one_row, wide_k = torch.randn(1, 8192), torch.randn(41, 8192)
    out = gemv(
        one_row, wide_k, parts=2
    )  # 8,192 is two parts of the one-row tile's 2,048-wide K tiles
    ref = torch.nn.functional.linear(one_row.double(), wide_k.double())
    assert out.shape == (1, 41) and rel_err(out, ref) < tolerance(one_row.dtype)
    x, w, bias = torch.randn(3, 1100), torch.randn(41, 1100), torch.randn(41)
    ref = torch.nn.functional.linear(x.double(), w.double())
    out = gemv(x, w, parts=2)  # 1,100 is no whole number of K tiles a part
    assert out.shape == (3, 41) and out.dtype == x.dtype and rel_err(out, ref) < tolerance(x.dtype)
    out = gemv(x[:, :1024], w[:, :1024], bias, parts=2)
    ref = torch.nn.functional.linear(x[:, :1024].double(), w[:, :1024].double(), bias.double())
    assert out.shape == (3, 41) and rel_err(out, ref) < tolerance(x.dtype)
