"""Session 15 experiment: decode attention's program order (seq-first grid vs KV-head-first) and the decode
rows' order (random as the scheduler sends them, or longest context first), at a mixed step's decode rows
(154 rows of log-normal contexts, mean 448, sigma 0.77, in a 256-row padded grid as FixedGridAttention
launches them) and at latency.py's uniform 1088. us per layer over 8 layers' caches in a CUDA graph
(device_call_7776151_s15_order.log).

It imports `da_flag`: swiftllm/kernels/decode_attention.py at 7776151 with kv_first_flag_s15.diff applied (a
KV_FIRST switch for the grid's order, and the kernel's tile knobs as block_n, num_warps, num_stages keywords, as
they were then), copied to .run/da_flag.py; run from a tree's root."""

import sys

import numpy as np
import torch

sys.path.insert(0, "bench")
from common import ceilings, time_graph  # noqa: E402
from decode_sweep import CAPACITY, HEAD_DIM, HEADS, KV_HEADS, LAYERS, PAGE  # noqa: E402

sys.path.insert(0, "../.run")
from da_flag import decode_attention, decode_params  # noqa: E402

DEV = "cuda"


def context_lengths(batch: int, context: int, spread: float) -> np.ndarray:
    """decode_sweep.context_lengths as it was when this ran: the draw in its own (random) order."""
    if spread == 0:
        return np.full(batch, context)
    normal = np.random.default_rng(0).standard_normal(batch)
    drawn = np.round(context * np.exp(spread * normal - spread**2 / 2))
    return np.clip(drawn, 1, CAPACITY).astype(np.int64)


def case(rows: int, padded: int, context: int, sigma: float, order: str):
    contexts = context_lengths(rows, context, sigma)
    if order == "desc":
        contexts = np.sort(contexts)[::-1].copy()
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
    table[:rows, :blocks] = torch.randperm(rows * blocks, device=DEV, dtype=torch.int32).view(
        rows, blocks
    )
    q = torch.randn(padded, HEADS, HEAD_DIM, device=DEV, dtype=torch.bfloat16)
    floor = int(contexts.sum()) * KV_HEADS * HEAD_DIM * 4
    return caches, q, table, torch.tensor(lens, device=DEV, dtype=torch.int32), floor


def us(caches, q, table, lens, kv_first, tiles):
    splits, min_chunk = decode_params(len(q), KV_HEADS, 2048, torch.device(DEV))
    block_n, warps, stages = tiles

    def run():
        for k, v in caches:
            decode_attention(
                q,
                k,
                v,
                table,
                lens,
                HEAD_DIM**-0.5,
                splits,
                None,
                min_chunk,
                block_n,
                warps,
                stages,
                kv_first=kv_first,
            )

    return time_graph(run, reps=3) * 1e3 / LAYERS


def main():
    bw = ceilings()["copy_bw_Bps"]
    cases = [
        ("154/256 rows, 448, s0.77", 154, 256, 448, 0.77),
        ("154/256 rows, 448, s1.0", 154, 256, 448, 1.0),
        ("154/256 rows, 448, s0", 154, 256, 448, 0.0),
        ("8 rows, 1088", 8, 8, 1088, 0.0),
        ("32 rows, 1088", 32, 32, 1088, 0.0),
        ("128 rows, 1088", 128, 128, 1088, 0.0),
        ("256 rows, 1088", 256, 256, 1088, 0.0),
    ]
    tiles_list = [(64, 4, 3), (128, 4, 2), (64, 4, 2)]
    print(f"copy {bw / 1e12:.2f} TB/s; us per layer (x K/V read at copy bandwidth)")
    for name, rows, padded, ctx, sigma in cases:
        for order in ("random", "desc"):
            if sigma == 0 and order == "desc":
                continue
            caches, q, table, lens, floor = case(rows, padded, ctx, sigma, order)
            floor_us = floor / bw * 1e6
            cells = []
            for kv_first in (False, True):
                for tiles in tiles_list:
                    t = us(caches, q, table, lens, kv_first, tiles)
                    cells.append(
                        f"{'kv' if kv_first else 'sq'} {'x'.join(map(str, tiles))} {t:6.1f} ({t / floor_us:.2f})"
                    )
            print(f"{name:26s} {order:6s} floor {floor_us:6.1f}: " + " | ".join(cells), flush=True)
            del caches


if __name__ == "__main__":
    main()
