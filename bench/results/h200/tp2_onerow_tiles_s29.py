"""Session 29: one-row GEMV tiles for Llama-3-8B's per-rank projections at TP = 2 (call 4 found down at K = 7,168
at 0.82 of the read rate, its last 2,048-key tile masked, and o at K = 2,048 at 0.65: one tile a program).
Chains of 8 distinct weights in a CUDA graph under PDL, us a projection and share of 1.048x copy bandwidth.

    PYTHONPATH=.:/tmp/site python3 bench/results/h200/tp2_onerow_tiles_s29.py [--out F]
"""

import argparse
import json
import sys

import torch
import triton

sys.path.insert(0, "bench")
from common import ceilings, time_graph  # noqa: E402

from swiftllm.kernels.gemv import gemv  # noqa: E402

SHAPES = [
    ("tp1 qkv", 6144, 4096),
    ("tp1 o", 4096, 4096),
    ("tp1 gate_up", 28672, 4096),
    ("tp2 qkv", 3072, 4096),
    ("tp2 o", 4096, 2048),
    ("tp2 down", 4096, 7168),
    ("tp1 down", 4096, 14336),
]
TILES = [
    (4, 2048, 4, 2),
    (4, 1024, 4, 2),
    (4, 1024, 4, 3),
    (4, 512, 4, 3),
    (4, 512, 4, 4),
    (2, 1024, 4, 3),
    (8, 1024, 4, 2),
    (8, 512, 4, 3),
    (2, 512, 4, 4),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=None)
    parser.add_argument("--shapes", default=None, help="comma-separated names (default: all)")
    args = parser.parse_args()
    bw = ceilings()["copy_bw_Bps"]
    read = 1.048 * bw
    cells = []
    for name, n, k in SHAPES:
        if args.shapes and name not in args.shapes.split(","):
            continue
        weights = [torch.randn(n, k, device="cuda", dtype=torch.bfloat16) for _ in range(8)]
        x = torch.randn(1, k, device="cuda", dtype=torch.bfloat16)
        floor = n * k * 2 / read * 1e6
        line = []
        for tile in TILES:
            try:
                us = (
                    time_graph(
                        lambda tile=tile, x=x, ws=weights: [gemv(x, w, None, *tile) for w in ws],
                        reps=3,
                    )
                    * 1e3
                    / 8
                )
            except triton.runtime.errors.OutOfResources:
                us = float("nan")
            cells.append({"shape": name, "n": n, "k": k, "tile": tile, "us": us, "floor_us": floor})
            line.append(f"{tile}: {us:.2f} ({floor / us:.3f})")
        print(f"{name} (floor {floor:.2f} us): " + "; ".join(line), flush=True)
        del weights
    if args.out:
        json.dump({"copy_bw_Bps": bw, "cells": cells}, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
