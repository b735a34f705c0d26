"""Session 29: the per-rank projections of Llama-3-8B at tensor parallel 2, timed on one GPU.

Session 28 left unmeasured how the one-row GEMV reads down's per-rank weight at TP = 2 (K = 7,168, not a
multiple of the one-row tile's 2,048 keys: its last tile is masked). No multi-GPU machine is lent, but a
rank's GEMVs are the same kernels on smaller matrices, so one GPU can time them: for each projection at 1, 8
and 32 rows, a chain of 8 distinct weights through backend_triton.linear as the model calls it (o and down
partial), in a CUDA graph under PDL, in us a projection and as a share of its weights read at 1.048x copy
bandwidth (session 28's read-only rate). Beside it the TP = 1 shapes, and down at K = 8,192 (even tiles).

    PYTHONPATH=.:/tmp/site python3 bench/results/h200/tp2_gemv_probe_s29.py [--out F]
"""

import argparse
import json
import sys

import torch

sys.path.insert(0, "bench")
from common import ceilings, device_info, time_graph  # noqa: E402

from swiftllm.worker.backend_triton import linear  # noqa: E402

# (name, N, K, partial)
SHAPES = [
    ("tp1 qkv", 6144, 4096, False),
    ("tp1 o", 4096, 4096, True),
    ("tp1 gate_up", 28672, 4096, False),
    ("tp1 down", 4096, 14336, True),
    ("tp2 qkv", 3072, 4096, False),
    ("tp2 o", 4096, 2048, True),
    ("tp2 gate_up", 14336, 4096, False),
    ("tp2 down", 4096, 7168, True),
    ("tp2 down, K 8192", 4096, 8192, True),
]
CHAIN = 8


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="1,8,32")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    bw = ceilings()["copy_bw_Bps"]
    read = 1.048 * bw
    cells = []
    print(f"copy {bw / 1e12:.3f} TB/s; shares of {read / 1e12:.3f} TB/s (1.048x copy)", flush=True)
    for name, n, k, partial in SHAPES:
        weights = [torch.randn(n, k, device="cuda", dtype=torch.bfloat16) for _ in range(CHAIN)]
        line = []
        for rows in (int(r) for r in args.rows.split(",")):
            x = torch.randn(rows, k, device="cuda", dtype=torch.bfloat16)

            def run(x=x, weights=weights, partial=partial) -> None:
                for w in weights:
                    linear(x, w, partial=partial)

            us = time_graph(run, reps=3) * 1e3 / CHAIN
            floor = n * k * 2 / read * 1e6
            cells.append({"shape": name, "n": n, "k": k, "rows": rows, "us": us, "floor_us": floor})
            line.append(f"{rows:>2} rows {us:7.2f} us ({floor / us:.3f})")
        print(f"{name:>17}: " + "   ".join(line), flush=True)
        del weights
        torch.cuda.empty_cache()
    if args.out:
        json.dump(
            {**device_info(), "copy_bw_Bps": bw, "cells": cells}, open(args.out, "w"), indent=1
        )


if __name__ == "__main__":
    main()
