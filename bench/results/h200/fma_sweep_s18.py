"""Session 18: the GEMV's multiply-add of 2-8 rows at once (tiles under 16 columns), weight tile loaded before
the PDL wait: a chain of four Llama-3-8B layers' projections (bench/gemv_sweep.chain_ms) at 2, 4, 8 rows
under each candidate tile and under the shipped 2-16-row tl.dot tile. Writes the best tile at 8 rows into
this tree's GEMV_CONFIGS["2-8 rows", "fma"]. Run from the .fma tree's root."""

import itertools
import re
import sys

import torch

sys.path.insert(0, "bench")
from gemv_sweep import LAYERS, MATRICES, chain_ms  # noqa: E402

from swiftllm.kernels.gemv import GemvConfig  # noqa: E402

weights = {
    name: [torch.randn(n, k, device="cuda", dtype=torch.bfloat16) for _ in range(LAYERS)]
    for name, (n, k) in MATRICES.items()
}
dot_tile = GemvConfig(64, 256, 4, 4)
scores: dict[GemvConfig, float] = {}
for rows in (2, 4, 8):
    inputs = {
        name: torch.randn(rows, k, device="cuda", dtype=torch.bfloat16)
        for name, (n, k) in MATRICES.items()
    }
    base = chain_ms(inputs, weights, dict.fromkeys(MATRICES, dot_tile))
    print(f"FMA rows {rows} tl.dot tile {tuple(dot_tile)}: {base * 1e3:.1f} us", flush=True)
    for values in itertools.product((4, 8), (256, 512, 1024), (4,), (2, 3)):
        tile = GemvConfig(*values)
        if rows * tile.block_n * tile.block_k > 16384:
            continue  # the [rows, columns, K] accumulator would spill
        try:
            ms = chain_ms(inputs, weights, dict.fromkeys(MATRICES, tile))
        except Exception as error:
            print(f"FMA rows {rows} {tuple(tile)}: {type(error).__name__}", flush=True)
            continue
        print(
            f"FMA rows {rows} {tuple(tile)}: {ms * 1e3:.1f} us ({ms / base:.3f} of tl.dot)",
            flush=True,
        )
        if rows == 8:
            scores[tile] = ms
best = min(scores, key=scores.get)
print(f"FMA best at 8 rows {tuple(best)}", flush=True)
path = "swiftllm/kernels/gemv.py"
text = open(path).read()
text = re.sub(
    r'\("2-8 rows", "fma"\): GemvConfig\([^)]*\)',
    f'("2-8 rows", "fma"): GemvConfig(block_n={best.block_n}, block_k={best.block_k}, '
    f"num_warps={best.num_warps}, num_stages={best.num_stages})",
    text,
)
open(path, "w").write(text)
