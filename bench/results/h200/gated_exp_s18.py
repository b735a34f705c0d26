"""Prepared in session 18, not run: the gated GEMV (gated_gemv_untimed_s18.diff) against what a decode step runs
now for the MLP's first half, at 2-64 rows, on four Llama-3-8B layers' gate_up weights (distinct, so they
stream from memory as in a step), in CUDA graphs with PDL as the step runs them:
- now:   backend_triton.linear(x, gate_up) (the GEMV at up to 64 rows for this wide matrix), then silu_and_mul;
- gated: gemv(x, gate_up, gated=True) at the patch's tile (the shipped tile with half its columns) and at each
         candidate tile (BLOCK_N 16 / 32 / 64, BLOCK_K 128 / 256, 4 warps, 3 / 4 stages).
Prints microseconds a layer for each and the best gated tile per row count. Run from the root of a tree with
the patch applied:

    PYTHONPATH=. python3 bench/results/h200/gated_exp_s18.py"""

import itertools
import sys

import torch

sys.path.insert(0, "bench")
from common import time_graph  # noqa: E402

from swiftllm.kernels.gemv import gemv  # noqa: E402
from swiftllm.kernels.silu_mul import silu_and_mul  # noqa: E402
from swiftllm.worker import backend_triton  # noqa: E402

LAYERS = 4
INTERMEDIATE = 14336
HIDDEN = 4096


def per_layer_us(fn) -> float:  # noqa: ANN001
    return time_graph(fn, reps=5) * 1e3 / LAYERS


def main() -> None:
    weights = [
        torch.randn(2 * INTERMEDIATE, HIDDEN, device="cuda", dtype=torch.bfloat16) / 64
        for _ in range(LAYERS)
    ]
    tiles = list(itertools.product((16, 32, 64), (128, 256), (4,), (3, 4)))
    print(f"{'rows':>4} {'now us':>7} {'gated us':>8} {'best gated us':>13}  best tile", flush=True)
    for rows in (2, 4, 8, 16, 32, 64):
        x = torch.randn(rows, HIDDEN, device="cuda", dtype=torch.bfloat16)
        now = per_layer_us(lambda: [silu_and_mul(backend_triton.linear(x, w)) for w in weights])
        shipped = per_layer_us(lambda: [gemv(x, w, gated=True) for w in weights])
        timed = {}
        for tile in tiles:
            try:
                timed[tile] = per_layer_us(
                    lambda: [gemv(x, w, None, *tile, gated=True) for w in weights]
                )
            except (
                Exception
            ) as error:  # a tile that does not fit (shared memory): skipped, saying why
                print(f"rows {rows} {tile}: {type(error).__name__}", flush=True)
        best = min(timed, key=timed.get)
        print(f"{rows:4d} {now:7.1f} {shipped:8.1f} {timed[best]:13.1f}  {best}", flush=True)


if __name__ == "__main__":
    main()
