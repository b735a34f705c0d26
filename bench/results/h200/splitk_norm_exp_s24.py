"""Session 24's experiment: the output and down projections at 64-256 rows as a split-K GEMM whose fp32 partials
the next RMSNorm (with its residual add) sums, against cuBLAS + our RMSNorm as a step runs them today.

    PYTHONPATH=. python3 bench/splitk_norm_exp_s24.py [--rows 96,128,256] [--quick]

Runs on a tree with splitk_norm_lost_s24.diff applied (its swiftllm.kernels.splitk_linear and the RMSNorm that
reads partial sums; local branch splitk-norm), copied into that tree's bench/ (device_call_s24_splitk.sh).
Result (session 24, call 2, device_call_s24_splitk.log): cuBLAS + norm won at every cell but o at 96 rows.

Why: at 128 rows (bench/results/h200/profile_step_decode_nopdl_8dd37bd_s23.json) cuBLAS runs o at 13.8 us a
layer against the 8.0 us of its weights' read, down at 37.9 (with its split-K reduce kernel) against 28.1; the
decode step at 128 sequences needs 220 us less for issue 16's 1.1x vLLM. Both outputs go only to an RMSNorm
that adds the residual, so a split-K GEMM needs no reduce kernel of its own: the norm reads the partials.
One program owns a BLOCK_M x BLOCK_N tile over a K/S slice, M-blocks of one weight tile adjacent in launch order.
Each cell: 4 layers' distinct weights (streamed from memory as in a step), [projection -> norm] each, in a CUDA
graph; microseconds per layer; max relative error of the normed rows against float64. Table printed last;
writes results/splitk_norm_exp.json."""

from __future__ import annotations

import argparse
import sys

import torch

sys.path.insert(0, "bench")
from common import ceilings, device_info, time_graph, write_results  # noqa: E402
from run_info import RESULTS  # noqa: E402
from swiftllm.kernels.splitk_linear import SplitTiles, linear_partials  # noqa: E402

from swiftllm.kernels.rmsnorm import rms_norm  # noqa: E402

SHAPES = {"o": (4096, 4096), "down": (4096, 14336)}  # (out features, in features)
LAYERS = 4
EPS = 1e-5
# (BLOCK_N, BLOCK_K, num_warps, num_stages), each at BLOCK_M 64 and 128 and each split count
TILES = [(64, 128, 4, 4), (128, 64, 8, 4), (128, 128, 8, 3), (64, 64, 4, 4), (128, 64, 4, 4)]
SPLITS = [2, 4, 8]


def splitk_norm(x, w, residual, norm_w, tiles):  # noqa: ANN001, ANN201
    return rms_norm(linear_partials(x, w, tiles), norm_w, EPS, residual)


def reference(x, w, residual, norm_w):  # noqa: ANN001, ANN201
    h = (x.double() @ w.double().T).to(x.dtype) + residual
    hf = h.double()
    return hf * torch.rsqrt(hf.pow(2).mean(-1, keepdim=True) + EPS) * norm_w.double()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="96,128,256")
    parser.add_argument("--quick", action="store_true", help="two tiles, 4 splits")
    args = parser.parse_args()
    rows_list = [int(r) for r in args.rows.split(",")]
    tiles = TILES[:2] if args.quick else TILES
    splits_list = [4] if args.quick else SPLITS
    dev = torch.device("cuda")
    torch.manual_seed(0)
    ceil = ceilings()
    cells = []
    for name, (n_cols, k_dim) in SHAPES.items():
        weights = [
            torch.randn(n_cols, k_dim, device=dev, dtype=torch.bfloat16) / k_dim**0.5
            for _ in range(LAYERS)
        ]
        norm_w = torch.rand(n_cols, device=dev, dtype=torch.bfloat16) + 0.5
        roof_us = n_cols * k_dim * 2 / ceil["copy_bw_Bps"] * 1e6
        for rows in rows_list:
            xs = [torch.randn(rows, k_dim, device=dev, dtype=torch.bfloat16) for _ in range(LAYERS)]
            res = torch.randn(rows, n_cols, device=dev, dtype=torch.bfloat16)
            ref = reference(xs[0], weights[0], res, norm_w)

            def base() -> None:
                for x, w in zip(xs, weights):
                    rms_norm(torch.nn.functional.linear(x, w), norm_w, EPS, res)

            def gemm_only() -> None:
                for x, w in zip(xs, weights):
                    torch.nn.functional.linear(x, w)

            got, _ = rms_norm(torch.nn.functional.linear(xs[0], weights[0]), norm_w, EPS, res)
            base_err = float(((got.double() - ref).norm() / ref.norm()).item())
            base_us = time_graph(base) * 1e3 / LAYERS
            gemm_us = time_graph(gemm_only) * 1e3 / LAYERS
            row = {
                "matrix": name,
                "rows": rows,
                "roof_us": roof_us,
                "cublas_norm_us": base_us,
                "cublas_us": gemm_us,
                "cublas_err": base_err,
                "variants": [],
            }
            for block_n, block_k, warps, stages in tiles:
                for block_m in (64, 128):
                    for splits in splits_list:
                        tile = SplitTiles(block_m, block_n, block_k, warps, stages, splits)
                        if k_dim % (splits * block_k):
                            continue
                        got, _ = splitk_norm(xs[0], weights[0], res, norm_w, tile)
                        err = float(((got.double() - ref).norm() / ref.norm()).item())

                        def new(tile: SplitTiles = tile) -> None:
                            for x, w in zip(xs, weights):
                                splitk_norm(x, w, res, norm_w, tile)

                        us = time_graph(new) * 1e3 / LAYERS
                        row["variants"].append({"tile": list(tile), "us": us, "err": err})
            best = min(row["variants"], key=lambda v: v["us"])
            row["best"] = best
            cells.append(row)
            print(
                f"{name:5s} rows {rows:3d}: cuBLAS+norm {base_us:6.1f} us (cuBLAS alone {gemm_us:5.1f}, roof "
                f"{roof_us:5.1f}) | split-K+norm best {best['us']:6.1f} {best['tile']} "
                f"err {best['err']:.1e} (cuBLAS path {base_err:.1e}) | gain {base_us - best['us']:+5.1f} us/layer",
                flush=True,
            )
    # one tile for every projection and row count: the least summed time over the cells at 128 and 256 rows
    totals: dict[tuple, float] = {}
    for c in cells:
        if c["rows"] in (128, 256):
            for v in c["variants"]:
                key = tuple(v["tile"])
                totals[key] = totals.get(key, 0.0) + v["us"]
    counts = [
        key
        for c in cells
        if c["rows"] in (128, 256)
        for key in map(tuple, (v["tile"] for v in c["variants"]))
    ]
    everywhere = [
        key for key in totals if counts.count(key) == max(counts.count(k) for k in totals)
    ]
    shared = min(everywhere, key=totals.get) if everywhere else None
    write_results(
        "splitk_norm_exp",
        {**device_info(), "ceilings": ceil, "cells": cells, "shared_tile": shared},
    )
    print(
        "\nmatrix rows  cuBLAS+norm  split-K+norm  best tile (M, N, K, warps, stages, splits)  gain/layer  x32"
    )
    for c in cells:
        b = c["best"]
        gain = c["cublas_norm_us"] - b["us"]
        print(
            f"{c['matrix']:6s} {c['rows']:4d}  {c['cublas_norm_us']:11.1f}  {b['us']:12.1f}  "
            f"{str(b['tile']):40s}  {gain:+10.1f}  {gain * 32:+5.0f}"
        )
    if shared:
        print(f"shared tile (least total at 128 and 256 rows): {list(shared)}")
        for c in cells:
            us = next((v["us"] for v in c["variants"] if tuple(v["tile"]) == shared), float("nan"))
            print(
                f"  {c['matrix']:6s} {c['rows']:4d}: {us:6.1f} us against cuBLAS+norm {c['cublas_norm_us']:6.1f}"
            )
        (RESULTS / "shared_tile.txt").write_text(" ".join(str(v) for v in shared) + "\n")


if __name__ == "__main__":
    main()
