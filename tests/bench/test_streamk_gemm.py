"""bench/streamk_gemm.py's kernel (the timing needs a GPU): under Triton's interpreter, its data-parallel and
stream-K schedules give F.linear's result, and the stream-K flags are left clear for the next call (what lets
a CUDA graph replay it)."""

from __future__ import annotations

import os

# the script's kernel runs under Triton's interpreter, as tests/kernels run ours
os.environ["TRITON_INTERPRET"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402
from bench_scripts import load_script  # noqa: E402

streamk_gemm = load_script("streamk_gemm")
Tiles = streamk_gemm.Tiles


@pytest.mark.parametrize(
    ("rows", "n", "k", "tiles", "sms"),
    [
        # 15 tiles on 5 programs: whole waves, all data-parallel
        (40, 96, 64, Tiles(16, 32, 16, 2, 4, False), 5),
        # 15 tiles on 7 programs: 1 partial wave + 1 full one spread over the programs
        (40, 96, 64, Tiles(16, 32, 16, 2, 4, True), 7),
        # rows and K off the tiles, 12 tiles on 7 programs
        (33, 64, 80, Tiles(16, 16, 16, 2, 4, True), 7),
        # one tile's 16 k-steps over 5 programs: each holds a middle piece of it
        (16, 32, 256, Tiles(16, 32, 16, 2, 4, True), 5),
        # one tile's 4 k-steps over 6 programs: some programs have no work and set no flag
        (16, 32, 64, Tiles(16, 32, 16, 2, 4, True), 6),
    ],
)
def test_gemm_matches_float64_and_clears_its_flags(
    rows: int, n: int, k: int, tiles: Tiles, sms: int
) -> None:
    torch.manual_seed(0)
    gemm = streamk_gemm.StreamKGemm(rows, n, k, tiles, sms)
    for _ in range(2):  # the second call finds the flags as the first left them
        x = torch.randn(rows, k, dtype=torch.float16)
        weight = torch.randn(n, k, dtype=torch.float16)
        out = torch.full((rows, n), float("nan"), dtype=torch.float16)
        gemm(x, weight, out)
        ref = x.double() @ weight.double().T
        assert streamk_gemm.rel_err(out, ref) < 1e-3  # fp16 output rounding; NaN fails
        assert int(gemm.flags.abs().sum()) == 0
    assert (gemm.sk_tiles > 0) == tiles.stream_k
