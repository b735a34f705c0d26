"""cuBLAS's kernel choice for Llama-3-8B's projections at the row counts a step runs, under torch's default,
the cuBLASLt backend, and TunableOp.

    PYTHONPATH=. python3 bench/cublas_modes.py [--rows 128,256] [--modes default,lt,tunable]

Why: in bench/throughput.py's longest-first run a mixed step has 256 rows, and its linears ran at 610 TFLOP/s
against the 772 TFLOP/s of 8192^3 matmuls (H200, session 15): gate_up's 224 output tiles of 256x128, the
tile cuBLAS's heuristic picks, are 1.7 waves on 132 SMs. This asks whether the library has a faster kernel
for these shapes than the one its heuristic picks:
- default: F.linear as the model calls it;
- lt: torch.backends.cuda.preferred_blas_library("cublaslt");
- tunable: torch.cuda.tunable (TunableOp) with tuning on: each GEMM shape is timed over every
  implementation this torch registers for it and the fastest is kept (on CUDA that may be only the default
  cuBLAS call; the "tuned" lines say which were tried and picked).
Each mode runs in a process of its own (both switches are process-wide), which also measures the 8192^3 rate.
Per projection: microseconds (4 layers' distinct weights in a CUDA graph, so weights stream from memory as in
a step), TFLOP/s, the share of the 8192^3 rate, and the kernel's name. Writes results/cublas_modes.json.
On the H200 (session 16, bench/results/h200/device_call_d715674_s16_gemm.log): with torch 2.11 TunableOp
registers only the default call on CUDA, so it tunes nothing; cuBLASLt picks other kernels at some row counts
(cublas_modes_rows_d715674.json: the four projections' sum 2.7 % faster at 256 rows, 5 % at 64, 96 and 384,
1.2 % slower at 128), yet the worker preferring it made the offline run's mixed steps 0.8 % slower and
decode no faster at 1-128 rows (device_call_s16_isolate.log, device_call_3bee563_s16_ab.log): not taken.
(In the tunable mode the 8192^3 rate is measured while TunableOp tunes that shape, so it reads low and
"x 8192^3" high.)"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import torch
import torch.nn.functional as F
from common import ceilings, device_info, time_graph, write_results

# (out features, in features); gate_up is gate and up stacked, as the model stores them
SHAPES = {"qkv": (6144, 4096), "o": (4096, 4096), "gate_up": (28672, 4096), "down": (4096, 14336)}
LAYERS = 4
MODES = ("default", "lt", "tunable")


def set_mode(mode: str) -> None:
    if mode == "lt":
        torch.backends.cuda.preferred_blas_library("cublaslt")
    if mode == "tunable":
        torch.cuda.tunable.enable(True)
        torch.cuda.tunable.tuning_enable(True)
        torch.cuda.tunable.set_filename("/tmp/cublas_modes_tunable.csv")


def kernel_name(x: torch.Tensor, weight: torch.Tensor) -> str:
    """The longest CUDA kernel one F.linear launches."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        F.linear(x, weight)
        torch.cuda.synchronize()
    kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
    if not kernels:
        return "?"
    return max(kernels, key=lambda e: e.device_time_total).name[:80]


def measure(mode: str, rows_list: list[int]) -> dict:
    """One mode, in this process: every projection at every row count."""
    set_mode(mode)
    rate = ceilings()["matmul_flops"]
    weights = {
        name: [torch.randn(n, k, device="cuda", dtype=torch.bfloat16) * 0.02 for _ in range(LAYERS)]
        for name, (n, k) in SHAPES.items()
    }
    cells = []
    for rows in rows_list:
        for name, (n, k) in SHAPES.items():
            x = torch.randn(rows, k, device="cuda", dtype=torch.bfloat16)
            layer_weights = weights[name]
            for weight in layer_weights:  # warm up, and tune (TunableOp) before any capture
                F.linear(x, weight)
            torch.cuda.synchronize()

            def run(x: torch.Tensor = x, layer_weights: list = layer_weights) -> None:
                for weight in layer_weights:
                    F.linear(x, weight)

            us = time_graph(run, reps=3) * 1e3 / LAYERS
            flops = 2 * rows * n * k / (us / 1e6)
            cells.append(
                {
                    "rows": rows,
                    "projection": name,
                    "us": us,
                    "tflops": flops / 1e12,
                    "share_of_8192_rate": flops / rate,
                    "kernel": kernel_name(x, layer_weights[0]),
                }
            )
    tuned = []
    if mode == "tunable":
        tuned = [list(map(str, result)) for result in torch.cuda.tunable.get_results()]
    return {"mode": mode, "matmul_flops": rate, "cells": cells, "tuned": tuned}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="128,256")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--child", choices=MODES, help="(internal) measure one mode and print its JSON")
    args = ap.parse_args()
    rows_list = [int(r) for r in args.rows.split(",")]
    if args.child:
        print(json.dumps(measure(args.child, rows_list)))
        return
    results = []
    for mode in args.modes.split(","):
        cmd = [sys.executable, __file__, "--child", mode, "--rows", args.rows]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"mode {mode} failed:\n{done.stderr[-2000:]}", flush=True)
            continue
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    write_results("cublas_modes", {**device_info(), "modes": results})
    print(f"\n{'mode':>8} {'rows':>5} {'proj':>8} {'us':>7} {'TFLOP/s':>8} {'x 8192^3':>9}  kernel")
    for result in results:
        for cell in result["cells"]:
            print(
                f"{result['mode']:>8} {cell['rows']:5d} {cell['projection']:>8} {cell['us']:7.1f} "
                f"{cell['tflops']:8.0f} {cell['share_of_8192_rate']:9.2f}  {cell['kernel']}"
            )
        for line in result["tuned"]:
            print(f"   tuned: {' | '.join(line)}")


if __name__ == "__main__":
    main()
