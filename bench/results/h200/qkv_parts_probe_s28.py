"""Prepared in session 28, not run: would qkv (and o, down) at 2-32 rows gain from K parts that fill the SMs?

Session 28 measured a read-only stream capped at ~34-42 GB/s an SM (gemv_tiles_probe_s28.py), and qkv's GEMV at
2-32 rows on 96 programs of 64 columns (one an SM by shared memory) at 0.73-0.75 of the read rate. Session 27's
two-part probe (qkv_parts_exp_s27.py) was slower, but at the shipped tile its 192 programs ran one an SM: two
waves. Here, at 2 / 8 / 16 / 32 rows, a chain of Llama-3-8B qkv, o or down GEMVs (distinct weights, CUDA graph,
PDL) with K in 1, 2 or 4 parts over tiles of 128 or 256 keys and 2-4 stages (fewer stages fit two programs an
SM), in us a layer and as a share of the weights read at 1.048x copy bandwidth (session 28's read-only rate).
For o and down (in two parts at the shipped tile, 128 programs one an SM) a gain would be a tile and a part
count: their RMSNorm adds any number of parts. For qkv it would still need decode attention and rotary_store
to add its float32 parts as they load q, k and v.
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
    read_rate = 1.048 * ceil["copy_bw_Bps"]  # session 28's read-only rate
    print(f"copy {ceil['copy_bw_Bps'] / 1e12:.3f} TB/s; floors at 1.048x copy")
    results = {"device": device_info(), "ceilings": ceil, "cells": []}
    # (N, K, layers): qkv, and o and down, which the model already splits in two at 2-32 rows
    matrices = {"qkv": (6144, 4096, 16), "o": (4096, 4096, 16), "down": (4096, 14336, 6)}
    for name, (n_out, k_in, layers) in matrices.items():
        weights = [
            (torch.randn(n_out, k_in, device="cuda") / 64).to(torch.bfloat16) for _ in range(layers)
        ]
        floor_us = n_out * k_in * 2 / read_rate * 1e6
        for rows in [int(r) for r in args.rows.split(",")]:
            x = torch.randn(rows, k_in, device="cuda").to(torch.bfloat16)
            cells = []
            tiles = itertools.product((64,), (128, 256), (4,), (2, 3, 4))
            for tile, parts in itertools.product(tiles, (1, 2, 4)):
                try:
                    ms = time_graph(functools.partial(chain, x, weights, tile, parts), reps=5)
                except triton.runtime.errors.OutOfResources:
                    continue
                us = ms * 1e3 / layers
                cells.append((us, tile, parts))
                results["cells"].append(
                    {"matrix": name, "rows": rows, "tile": tile, "parts": parts, "us": us}
                )
            cells.sort()
            best = "; ".join(f"{t} x{p}: {u:.2f} us ({floor_us / u:.3f})" for u, t, p in cells[:4])
            print(f"{name:4s} rows {rows:2d} (floor {floor_us:.2f} us): {best}", flush=True)
        weights = None
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
