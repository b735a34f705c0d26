"""Prepared in session 28, not run: would qkv at 2-32 rows gain from K parts once its programs fill the SMs?

Session 28 measured a read-only stream capped at ~34-42 GB/s an SM (gemv_tiles_probe_s28.py), and qkv's GEMV at
2-32 rows on 96 programs of 64 columns (one an SM by shared memory) at 0.73-0.75 of the read rate. Session 27's
two-part probe (qkv_parts_exp_s27.py) was slower, but at the shipped tile its 192 programs ran one an SM: two
waves. Here, at 2 / 8 / 16 / 32 rows, a chain of 16 Llama-3-8B qkv GEMVs (distinct weights, CUDA graph, PDL)
with K in 1, 2 or 4 parts over tiles of 128 or 256 keys and 2-4 stages (fewer stages fit two programs an SM),
in us a layer and as a share of qkv's weights read at the run's best read-only rate. A gain here would still
need decode attention and rotary_store to add qkv's float32 parts as they load q, k and v.
Run from a tree's root: PYTHONPATH=.:/tmp/site python3 bench/results/h200/qkv_parts_probe_s28.py [--out F]"""

import argparse
import functools
import itertools
import json
import sys

import torch
import triton

sys.path.insert(0, "bench")

from swiftllm.kernels.gemv import gemv  # noqa: E402


def chain(x: torch.Tensor, weights: list, tile: tuple, parts: int) -> None:
    for w in weights:
        gemv(x, w, None, *tile, parts=parts)


def main() -> None:
    from common import ceilings, device_info, time_graph

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="2,8,16,32")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.manual_seed(0)
    ceil = ceilings()
    hidden, qkv, layers = 4096, 6144, 16
    weights = [
        (torch.randn(qkv, hidden, device="cuda") / 64).to(torch.bfloat16) for _ in range(layers)
    ]
    floor_us = qkv * hidden * 2 / (1.048 * ceil["copy_bw_Bps"]) * 1e6  # session 28's read rate
    print(f"copy {ceil['copy_bw_Bps'] / 1e12:.3f} TB/s; qkv read at 1.048x copy: {floor_us:.2f} us")
    results = {"device": device_info(), "ceilings": ceil, "floor_us": floor_us, "cells": []}
    for rows in [int(r) for r in args.rows.split(",")]:
        x = torch.randn(rows, hidden, device="cuda").to(torch.bfloat16)
        cells = []
        for tile, parts in itertools.product(
            itertools.product((64,), (128, 256), (4,), (2, 3, 4)), (1, 2, 4)
        ):
            try:
                ms = time_graph(functools.partial(chain, x, weights, tile, parts), reps=5)
            except triton.runtime.errors.OutOfResources:
                continue
            us = ms * 1e3 / layers
            cells.append((us, tile, parts))
            results["cells"].append({"rows": rows, "tile": tile, "parts": parts, "us": us})
        cells.sort()
        best = "; ".join(f"{t} x{p}: {u:.2f} us ({floor_us / u:.3f})" for u, t, p in cells[:4])
        print(f"rows {rows:2d}: {best}", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
