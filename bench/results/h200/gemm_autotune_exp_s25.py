"""Session 25's experiment: can any Triton GEMM that torch's Inductor knows (its mm templates, the persistent
TMA template for Hopper included) beat cuBLAS on Llama-3-8B's projections at 128-256 rows, where cuBLAS runs
them at 0.56-0.80 of their weights' read time and every Triton kernel of ours has lost (README, "Tried and not
kept")?

    PYTHONPATH=. python3 bench/results/h200/gemm_autotune_exp_s25.py [--rows 128,256] [--matrices o,qkv,down,gate_up]

Each matrix and row count is compiled by torch.compile(mode="max-autotune-no-cudagraphs") with Inductor's Triton
and ATen (cuBLAS) choices; Inductor prints its autotuning table (each choice timed alone, its own method) to
stderr. Then the compiled function (4 layers' distinct weights, so the weights stream from memory as in a step)
and F.linear are timed the same way, in a CUDA graph, microseconds a layer, both checked against each other.
An answer for whether a kernel is worth writing, not a kernel for the engine. Table last."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch
import torch._inductor.config as inductor_config
import torch.nn.functional as F

sys.path.insert(0, "bench")
from common import ceilings, device_info, time_graph  # noqa: E402

SHAPES = {"qkv": (6144, 4096), "o": (4096, 4096), "gate_up": (28672, 4096), "down": (4096, 14336)}
LAYERS = 4


def four_linears(xs: list[torch.Tensor], ws: list[torch.Tensor]) -> list[torch.Tensor]:
    return [F.linear(x, w) for x, w in zip(xs, ws)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="128,256")
    parser.add_argument("--matrices", default="o,qkv,down,gate_up")
    parser.add_argument(
        "--out", default=os.environ.get("BENCH_OUT", "results") + "/gemm_autotune.json"
    )
    args = parser.parse_args()
    inductor_config.max_autotune = True
    inductor_config.max_autotune_gemm_backends = "ATEN,TRITON"
    inductor_config.triton.enable_persistent_tma_matmul = True
    dev = torch.device("cuda")
    torch.manual_seed(0)
    ceil = ceilings(rounds=1)
    cells = []
    for name in args.matrices.split(","):
        n_cols, k_dim = SHAPES[name]
        ws = [
            torch.randn(n_cols, k_dim, device=dev, dtype=torch.bfloat16) / k_dim**0.5
            for _ in range(LAYERS)
        ]
        roof_us = n_cols * k_dim * 2 / ceil["copy_bw_Bps"] * 1e6
        for rows in [int(r) for r in args.rows.split(",")]:
            xs = [torch.randn(rows, k_dim, device=dev, dtype=torch.bfloat16) for _ in range(LAYERS)]
            torch._dynamo.reset()
            compiled = torch.compile(four_linears, mode="max-autotune-no-cudagraphs", dynamic=False)
            start = time.time()
            print(f"--- {name} rows {rows}: autotuning", file=sys.stderr, flush=True)
            got = compiled(xs, ws)
            compile_s = time.time() - start
            ref = four_linears(xs, ws)
            err = float((got[0].float() - ref[0].float()).norm() / ref[0].float().norm())
            linear_us = time_graph(lambda: four_linears(xs, ws)) * 1e3 / LAYERS
            compiled_us = time_graph(lambda: compiled(xs, ws)) * 1e3 / LAYERS
            cell = {
                "matrix": name,
                "rows": rows,
                "roof_us": roof_us,
                "linear_us": linear_us,
                "inductor_us": compiled_us,
                "rel_err": err,
                "compile_s": compile_s,
            }
            cells.append(cell)
            print(json.dumps(cell), flush=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({**device_info(), "ceilings": ceil, "cells": cells}, f, indent=1)
    print("\nmatrix   rows  F.linear us  inductor us  roof us  rel err  compile s")
    for c in cells:
        print(
            f"{c['matrix']:7s} {c['rows']:5d}  {c['linear_us']:11.1f}  {c['inductor_us']:11.1f}  "
            f"{c['roof_us']:7.1f}  {c['rel_err']:.1e}  {c['compile_s']:9.0f}"
        )


if __name__ == "__main__":
    main()
