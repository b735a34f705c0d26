"""Session 25's experiment: the MLP's gate_up projection and SiLU x mul as one Triton GEMM at 64-256 rows, against
cuBLAS's gate_up followed by our silu_and_mul kernel.

    PYTHONPATH=. python3 bench/results/h200/gated_gemm_exp_s25.py [--rows 64,96,128,192,256]

Why: at 128-256 rows no Triton GEMM of ours or Inductor's beats cuBLAS on the projections themselves
(gemm_autotune_exp_s25.py: gate_up at 128 rows 65.0 against 65.9 us, the others slower), but cuBLAS cannot
fuse the SiLU x mul that follows gate_up: 186 us of offline's mean mixed step (5.8 us a layer at 256 rows,
profile_step_mixed_8dd37bd_s23.json). A program here owns BLOCK_N gate columns and the BLOCK_N up columns that
pair with them (rows n and I + n of W, no reordering), two accumulators, and stores silu(gate) * up: the
[M, 2I] intermediate is never written. Two orientations: y = x W^T ("xw", tl.dot(x, W^T)) and y^T = W x^T
("wx", as the GEMV's tl.dot path), each over a few tiles. Each cell: 4 layers' distinct weights in a CUDA graph,
microseconds a layer; each fused result checked against float64. Table last."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys

import torch
import torch.nn.functional as F
import triton
import triton.language as tl

sys.path.insert(0, "bench")
from common import ceilings, device_info, time_graph  # noqa: E402

from swiftllm.kernels.silu_mul import silu_and_mul  # noqa: E402

HIDDEN, INTER = 4096, 14336
LAYERS = 4


@triton.jit(do_not_specialize=["m_rows", "m_blocks"])
def _gated_kernel(
    x_ptr,
    w_ptr,
    y_ptr,
    m_rows,
    m_blocks,
    inter,
    k_dim,
    WX: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
):
    # the row blocks of a column tile are neighbours in launch order: all but the first read W from the L2
    n = tl.program_id(0) // m_blocks * BLOCK_N + tl.arange(0, BLOCK_N)
    m = tl.program_id(0) % m_blocks * BLOCK_M + tl.arange(0, BLOCK_M)
    k = tl.arange(0, BLOCK_K)
    x_ptrs = x_ptr + m[:, None] * k_dim + k[None, :]
    g_ptrs = w_ptr + n.to(tl.int64)[:, None] * k_dim + k[None, :]
    u_ptrs = g_ptrs + inter.to(tl.int64) * k_dim
    if WX:
        acc_g = tl.zeros([BLOCK_N, BLOCK_M], tl.float32)
        acc_u = tl.zeros([BLOCK_N, BLOCK_M], tl.float32)
    else:
        acc_g = tl.zeros([BLOCK_M, BLOCK_N], tl.float32)
        acc_u = tl.zeros([BLOCK_M, BLOCK_N], tl.float32)
    for _ in range(0, k_dim, BLOCK_K):
        x = tl.load(x_ptrs, mask=m[:, None] < m_rows, other=0.0)
        g = tl.load(g_ptrs)
        u = tl.load(u_ptrs)
        if WX:
            acc_g = tl.dot(g, tl.trans(x), acc_g)
            acc_u = tl.dot(u, tl.trans(x), acc_u)
        else:
            acc_g = tl.dot(x, tl.trans(g), acc_g)
            acc_u = tl.dot(x, tl.trans(u), acc_u)
        x_ptrs += BLOCK_K
        g_ptrs += BLOCK_K
        u_ptrs += BLOCK_K
    y = acc_g / (1.0 + tl.exp(-acc_g)) * acc_u
    if WX:
        y = tl.trans(y)
    tl.store(
        y_ptr + m[:, None] * inter + n[None, :],
        y.to(y_ptr.dtype.element_ty),
        mask=m[:, None] < m_rows,
    )


def gated(x: torch.Tensor, w: torch.Tensor, tile: tuple) -> torch.Tensor:
    wx, block_m, block_n, block_k, warps, stages = tile
    m_rows, k_dim = x.shape
    inter = w.shape[0] // 2
    y = torch.empty((m_rows, inter), dtype=x.dtype, device=x.device)
    m_blocks = triton.cdiv(m_rows, block_m)
    _gated_kernel[(inter // block_n * m_blocks,)](
        x,
        w,
        y,
        m_rows,
        m_blocks,
        inter,
        k_dim,
        WX=wx,
        BLOCK_M=block_m,
        BLOCK_N=block_n,
        BLOCK_K=block_k,
        num_warps=warps,
        num_stages=stages,
    )
    return y


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="64,96,128,192,256")
    parser.add_argument("--out", default=os.environ.get("BENCH_OUT", "results") + "/gated.json")
    args = parser.parse_args()
    dev = torch.device("cuda")
    torch.manual_seed(0)
    ceil = ceilings(rounds=1)
    ws = [
        torch.randn(2 * INTER, HIDDEN, device=dev, dtype=torch.bfloat16) / HIDDEN**0.5
        for _ in range(LAYERS)
    ]
    roof_us = 2 * INTER * HIDDEN * 2 / ceil["copy_bw_Bps"] * 1e6
    tiles = [
        (wx, bm, bn, bk, warps, stages)
        for wx, bm, bn, bk, warps, stages in itertools.product(
            (False, True), (64, 128), (64, 128), (64, 128), (4, 8), (3, 4)
        )
        if (bm + 2 * bn) * bk * 2 * stages <= 220 * 1024
    ]
    cells = []
    for rows in [int(r) for r in args.rows.split(",")]:
        xs = [torch.randn(rows, HIDDEN, device=dev, dtype=torch.bfloat16) for _ in range(LAYERS)]
        ref = F.linear(xs[0].double(), ws[0].double())
        ref = F.silu(ref[:, :INTER]) * ref[:, INTER:]
        base_us = time_graph(lambda: [silu_and_mul(F.linear(x, w)) for x, w in zip(xs, ws)])
        linear_us = time_graph(lambda: [F.linear(x, w) for x, w in zip(xs, ws)])
        cell = {
            "rows": rows,
            "roof_us": roof_us,
            "cublas_silu_us": base_us * 1e3 / LAYERS,
            "cublas_us": linear_us * 1e3 / LAYERS,
            "tiles": [],
        }
        for tile in tiles:
            try:
                got = gated(xs[0], ws[0], tile)
                err = float((got.double() - ref).norm() / ref.norm())
                us = time_graph(lambda: [gated(x, w, tile) for x, w in zip(xs, ws)]) * 1e3
            except Exception as exc:  # a tile past the shared memory or registers
                print(f"rows {rows} tile {tile}: {type(exc).__name__}", flush=True)
                continue
            cell["tiles"].append({"tile": list(tile), "us": us / LAYERS, "rel_err": err})
        cell["tiles"].sort(key=lambda t: t["us"])
        cells.append(cell)
        best = cell["tiles"][0]
        print(
            json.dumps({k: v for k, v in cell.items() if k != "tiles"} | {"best": best}), flush=True
        )
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({**device_info(), "ceilings": ceil, "cells": cells}, f, indent=1)
    print(
        "\nrows  cuBLAS us  cuBLAS+silu us  fused best us  gain us/layer  best tile (wx,bm,bn,bk,w,s)  err"
    )
    for c in cells:
        best = c["tiles"][0]
        gain = c["cublas_silu_us"] - best["us"]
        print(
            f"{c['rows']:4d}  {c['cublas_us']:9.1f}  {c['cublas_silu_us']:14.1f}  {best['us']:13.1f}  "
            f"{gain:+13.1f}  {str(best['tile']):27s}  {best['rel_err']:.1e}"
        )
    print("next best per row count:")
    for c in cells:
        print(c["rows"], [(t["tile"], round(t["us"], 1)) for t in c["tiles"][1:5]])


if __name__ == "__main__":
    main()
