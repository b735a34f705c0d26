"""bench/mixed_gemm.py's kernel (the timing needs a GPU): under Triton's interpreter, the two-row-block GEMM
gives x @ W^T against float64, whole or as split-K partial sums, with pointer or TMA (tensor descriptor) loads,
at row counts that fill its second block exactly and partly."""

from __future__ import annotations

import os

# the script's kernel runs under Triton's interpreter, as tests/kernels run ours
os.environ["TRITON_INTERPRET"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402
from bench_scripts import load_script  # noqa: E402

mixed_gemm = load_script("mixed_gemm")


@pytest.mark.parametrize("rows", [144, 160, 200])
@pytest.mark.parametrize(
    ("block_n", "block_k", "parts", "tma"),
    [(64, 64, 1, False), (64, 64, 2, False), (64, 64, 1, True), (32, 64, 2, True)],
)
def test_two_block_gemm_matches_float64(
    rows: int, block_n: int, block_k: int, parts: int, tma: bool
) -> None:
    torch.manual_seed(0)
    x = torch.randn(rows, 256, dtype=torch.float16)
    weight = (torch.randn(96, 256) / 16).to(torch.float16)
    gemm = mixed_gemm.TwoBlock(block_n, block_k, parts, tma, 4, 2)
    out = gemm(x, weight)
    expected = (rows, 96)
    if parts > 1:
        expected = (parts, rows, 96)
        assert out.dtype == torch.float32
    assert out.shape == expected
    if parts > 1:
        out = out.sum(0)
    ref = x.double() @ weight.double().T
    err = ((out.double() - ref).norm() / ref.norm()).item()
    assert err < 2e-3  # fp16 output rounding; NaN fails
