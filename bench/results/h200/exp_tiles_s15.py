"""Session 15 experiment (device_call_after2_s15_profile.log): decode attention's tiles at a mixed step's decode
rows with the KV-head-first grid and rows longest context first, 154 of 256 padded rows, mean 448, sigma 0.77
(and 1.0), and at latency.py's uniform 1088. Ran from the .after tree (the kernel as committed, whose tile knobs
were then block_n, num_warps, num_stages keywords; written here with DecodeTiles, the same values).

    cd <tree> && PYTHONPATH=. python3 ../bench/results/h200/exp_tiles_s15.py"""

import sys

import numpy as np
import torch

sys.path.insert(0, "bench")
from common import ceilings, time_graph  # noqa: E402
from decode_sweep import HEAD_DIM, HEADS, KV_HEADS, LAYERS, PAGE, context_lengths  # noqa: E402

from swiftllm.kernels.decode_attention import DecodeTiles, decode_attention  # noqa: E402

DEV = "cuda"
TILES = [(64, 4, 3), (128, 4, 2), (128, 8, 2), (128, 4, 3), (128, 8, 3), (256, 8, 2), (256, 4, 2)]
TILES += [(64, 2, 2), (128, 2, 2)]
CASES = ((154, 256, 448, 0.77), (154, 256, 448, 1.0), (256, 256, 1088, 0.0), (128, 128, 1088, 0.0))


def layer_us(
    caches: list, q: torch.Tensor, table: torch.Tensor, lens: torch.Tensor, tiles: DecodeTiles
) -> float:
    def run() -> None:
        for k, v in caches:
            decode_attention(q, k, v, table, lens, HEAD_DIM**-0.5, 1, None, 2048, tiles)

    return time_graph(run, reps=3) * 1e3 / LAYERS


def main() -> None:
    bw = ceilings()["copy_bw_Bps"]
    for rows, padded, ctx, sigma in CASES:
        contexts = np.sort(context_lengths(rows, ctx, sigma))[::-1].copy()
        lens = np.zeros(padded, np.int64)
        lens[:rows] = contexts
        blocks = -(-int(contexts.max()) // PAGE)
        shape = (rows * blocks, KV_HEADS, PAGE, HEAD_DIM)
        caches = [
            (
                torch.randn(shape, device=DEV, dtype=torch.bfloat16),
                torch.randn(shape, device=DEV, dtype=torch.bfloat16),
            )
            for _ in range(LAYERS)
        ]
        table = torch.zeros(padded, 128, device=DEV, dtype=torch.int32)
        perm = torch.randperm(rows * blocks, device=DEV, dtype=torch.int32)
        table[:rows, :blocks] = perm.view(rows, blocks)
        q = torch.randn(padded, HEADS, HEAD_DIM, device=DEV, dtype=torch.bfloat16)
        lens_t = torch.tensor(lens, device=DEV, dtype=torch.int32)
        floor_us = int(contexts.sum()) * KV_HEADS * HEAD_DIM * 4 / bw * 1e6
        cells = []
        for block_n, warps, stages in TILES:
            name = f"{block_n}x{warps}x{stages}"
            try:
                t = layer_us(caches, q, table, lens_t, DecodeTiles(block_n, warps, stages))
                cells.append(f"{name} {t:6.1f} ({t / floor_us:.2f})")
            except Exception as e:  # noqa: BLE001
                cells.append(f"{name} failed: {type(e).__name__}")
        head = f"{rows}/{padded} rows, {ctx}, s{sigma}, desc: floor {floor_us:6.1f}: "
        print(head + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
