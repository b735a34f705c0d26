"""Session 24's experiment: does cuBLAS run Llama-3-8B's projections faster at 64-256 rows when asked for
y^T = W x^T (its m = the output features, its n = the rows) than for y = x W^T, as F.linear asks?

    PYTHONPATH=. python3 bench/results/h200/gemm_swap_exp_s24.py [--rows 64,96,128,192,256]

Why: at 128 rows cuBLAS ran o at 0.58 of its weights' read time, qkv at 0.69, down at 0.74
(profile_step_decode_nopdl_8dd37bd_s23.json), and no Triton kernel of ours has beaten it there (README, "Tried
and not kept"). The swapped problem has the same bytes and FLOPs, but cuBLAS's heuristic sees other shapes and
may pick other tiles. Only the time is asked here: a model would then need y^T's columns as its rows (a
transposed read in the next kernel). Each cell: 4 layers' distinct weights in a CUDA graph (weights stream from
memory as in a step), microseconds a layer, both forms checked equal. Table last; writes
results/gemm_swap_exp.json."""

from __future__ import annotations

import argparse
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, "bench")
from common import ceilings, device_info, time_graph, write_results  # noqa: E402

SHAPES = {"qkv": (6144, 4096), "o": (4096, 4096), "gate_up": (28672, 4096), "down": (4096, 14336)}
LAYERS = 4


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="64,96,128,192,256")
    args = parser.parse_args()
    rows_list = [int(r) for r in args.rows.split(",")]
    dev = torch.device("cuda")
    torch.manual_seed(0)
    ceil = ceilings()
    cells = []
    for name, (n_cols, k_dim) in SHAPES.items():
        weights = [
            torch.randn(n_cols, k_dim, device=dev, dtype=torch.bfloat16) / k_dim**0.5
            for _ in range(LAYERS)
        ]
        roof_us = n_cols * k_dim * 2 / ceil["copy_bw_Bps"] * 1e6
        for rows in rows_list:
            xs = [torch.randn(rows, k_dim, device=dev, dtype=torch.bfloat16) for _ in range(LAYERS)]

            def plain() -> None:
                for x, w in zip(xs, weights):
                    F.linear(x, w)

            def swapped() -> None:
                for x, w in zip(xs, weights):
                    torch.mm(w, x.t())

            diff = (
                torch.mm(weights[0], xs[0].t()).t().float() - F.linear(xs[0], weights[0]).float()
            ).abs()
            plain_us = time_graph(plain) * 1e3 / LAYERS
            swapped_us = time_graph(swapped) * 1e3 / LAYERS
            cell = {
                "matrix": name,
                "rows": rows,
                "roof_us": roof_us,
                "linear_us": plain_us,
                "swapped_us": swapped_us,
                "max_abs_diff": float(diff.max()),
            }
            cells.append(cell)
            print(
                f"{name:7s} rows {rows:3d}: F.linear {plain_us:6.1f} us, mm(W, x^T) {swapped_us:6.1f} us, "
                f"roof {roof_us:5.1f}, max |diff| {cell['max_abs_diff']:.2e}",
                flush=True,
            )
    write_results("gemm_swap_exp", {**device_info(), "ceilings": ceil, "cells": cells})
    print("\nmatrix   rows  F.linear us  mm(W, x^T) us  roof us  swapped gain us/layer  x32")
    for c in cells:
        gain = c["linear_us"] - c["swapped_us"]
        print(
            f"{c['matrix']:7s} {c['rows']:5d}  {c['linear_us']:11.1f}  {c['swapped_us']:13.1f}  "
            f"{c['roof_us']:7.1f}  {gain:+21.1f}  {gain * 32:+5.0f}"
        )


if __name__ == "__main__":
    main()
