"""Stream-K GEMM experiment: can a Triton kernel that balances work across all SMs beat cuBLAS on Llama-3-8B's
projections at the row counts a step runs (128: a decode step; 256: a longest-first mixed step)?

    PYTHONPATH=. python3 bench/streamk_gemm.py [--rows 128,256] [--quick]

Why: at 256 rows cuBLAS runs gate_up on 224 output tiles of 256x128, 1.7 waves on 132 SMs (H200, session 15),
so the second wave leaves a fifth of the GPU idle, and the step's linears run at 610 TFLOP/s against 772 for
8192^3. Tile counts of these shapes are 7 x 2^k (28672 = 7 x 4096), which no power-of-two tile divides into
132 SMs. Stream-K (Osama et al., 2023) instead gives every program an equal run of (tile, k-step) iterations:
a tile split between programs is summed by the one that computes its last k-step.

The kernel (ours, written for this experiment): C = A W^T through TMA descriptors and tl.dot, persistent, one
program per SM. Tiles are data-parallel (whole K, stored directly) except the last partial wave plus one full
wave, whose iterations are spread evenly over the programs ("DP + one SK wave"). A program walks its
stream-K run backwards, so the chunk it leaves a partial for (the head of a tile, k from 0) is its first,
written to its own fp32 slot with a flag set; the program that owns the tile's last k-step adds the lower
programs' slots once their flags are set (a compare-and-swap that also resets the flag, so a CUDA graph can
replay it). Waits only go to lower program ids, which hold no waits before their slot is written.
Each variant is checked against F.linear (relative error), timed as 4 layers' distinct weights in a CUDA
graph (weights stream from memory as in a step; the graph's replays also check that the flags reset), and
reported in microseconds, TFLOP/s and as a share of the 8192^3 rate, next to cuBLAS (F.linear) timed the
same way. Writes results/streamk_gemm.json; the table comes last."""

from __future__ import annotations

import argparse
import itertools
from typing import NamedTuple

import torch
import torch.nn.functional as F
import triton
import triton.language as tl
from common import ceilings, device_info, time_graph, write_results
from triton.tools.tensor_descriptor import TensorDescriptor

# (out features, in features); gate_up is gate and up stacked, as the model stores them
SHAPES = {"qkv": (6144, 4096), "o": (4096, 4096), "gate_up": (28672, 4096), "down": (4096, 14336)}
LAYERS = 4


class Tiles(NamedTuple):
    block_m: int
    block_n: int
    block_k: int
    num_stages: int
    num_warps: int
    stream_k: bool


CONFIGS = [
    Tiles(*tiles, stream_k)
    for tiles, stream_k in itertools.product(
        [(128, 256, 64, 3, 8), (128, 128, 64, 4, 4), (128, 128, 64, 4, 8), (64, 256, 64, 4, 4)],
        [False, True],
    )
]
QUICK = [Tiles(128, 256, 64, 3, 8, False), Tiles(128, 256, 64, 3, 8, True)]


@triton.jit
def _chunk(a_desc, w_desc, off_m, off_n, k_lo, k_hi, acc, BLOCK_K: tl.constexpr):
    for ki in range(k_lo, k_hi):
        a = a_desc.load([off_m, ki * BLOCK_K])
        w = w_desc.load([off_n, ki * BLOCK_K])
        acc = tl.dot(a, w.T, acc)
    return acc


# runtime values that differ between shapes and modes are not specialised on: one compile per tile config
@triton.jit(do_not_specialize=["M", "N", "K", "sk_tiles", "grid"])
def _streamk_kernel(
    a_desc,
    w_desc,
    c_desc,
    part_ptr,
    flag_ptr,
    M,
    N,
    K,
    sk_tiles,
    grid,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
):
    pid = tl.program_id(0)
    tiles_m = tl.cdiv(M, BLOCK_M)
    k_iters = tl.cdiv(K, BLOCK_K)
    dp_tiles = tl.cdiv(N, BLOCK_N) * tiles_m - sk_tiles
    # data-parallel tiles: whole K, M fastest so that programs side by side share W's tile in L2
    for tile in range(pid, dp_tiles, grid):
        off_m = (tile % tiles_m) * BLOCK_M
        off_n = (tile // tiles_m) * BLOCK_N
        acc = tl.zeros([BLOCK_M, BLOCK_N], tl.float32)
        acc = _chunk(a_desc, w_desc, off_m, off_n, 0, k_iters, acc, BLOCK_K)
        c_desc.store([off_m, off_n], acc.to(c_desc.dtype))
    # stream-K: this program's equal run [start, end) of the remaining tiles' iterations, walked backwards
    total = sk_tiles * k_iters
    start = pid * total // grid
    end = (pid + 1) * total // grid
    rm = tl.arange(0, BLOCK_M)
    rn = tl.arange(0, BLOCK_N)
    slot = rm[:, None] * BLOCK_N + rn[None, :]
    it_end = end
    while it_end > start:
        t_local = (it_end - 1) // k_iters
        tile_start = t_local * k_iters
        lo = tl.maximum(start, tile_start)
        tile = dp_tiles + t_local
        off_m = (tile % tiles_m) * BLOCK_M
        off_n = (tile // tiles_m) * BLOCK_N
        acc = tl.zeros([BLOCK_M, BLOCK_N], tl.float32)
        acc = _chunk(
            a_desc, w_desc, off_m, off_n, lo - tile_start, it_end - tile_start, acc, BLOCK_K
        )
        if it_end - tile_start < k_iters:
            # the head of a tile, left to the program that holds its last k-step
            tl.store(part_ptr + pid * BLOCK_M * BLOCK_N + slot, acc)
            tl.debug_barrier()
            tl.atomic_xchg(flag_ptr + pid, 1)
        else:
            covered = it_end - lo
            other = pid - 1
            while covered < k_iters:
                other_start = other * total // grid
                other_end = (other + 1) * total // grid
                if other_end > other_start:  # a program with no iterations sets no flag
                    while tl.atomic_cas(flag_ptr + other, 1, 0) != 1:
                        pass
                    part = tl.load(
                        part_ptr + other * BLOCK_M * BLOCK_N + slot, cache_modifier=".cg"
                    )
                    acc += part
                    covered += other_end - tl.maximum(other_start, tile_start)
                other -= 1
            c_desc.store([off_m, off_n], acc.to(c_desc.dtype))
        it_end = lo


class StreamKGemm:
    """C = x W^T for one weight shape and tile config; flags and partial slots allocated once (zeroed), so a
    captured graph replays it."""

    def __init__(self, rows: int, n: int, k: int, tiles: Tiles, sms: int) -> None:
        self.tiles = tiles
        self.rows = rows
        self.n = n
        self.k = k
        tile_count = triton.cdiv(rows, tiles.block_m) * triton.cdiv(n, tiles.block_n)
        self.grid = min(sms, tile_count)
        if tiles.stream_k:
            self.grid = sms  # fewer tiles than SMs: every SM still gets an equal share
        self.sk_tiles = 0
        if tiles.stream_k and tile_count % self.grid != 0:
            self.sk_tiles = tile_count % self.grid
            if tile_count > self.grid:
                self.sk_tiles += self.grid
        device = "cuda" if torch.cuda.is_available() else "cpu"
        self.flags = torch.zeros(self.grid, dtype=torch.int32, device=device)
        self.parts = torch.empty(
            (self.grid, tiles.block_m, tiles.block_n), dtype=torch.float32, device=device
        )

    def __call__(self, x: torch.Tensor, weight: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        t = self.tiles
        a_desc = TensorDescriptor.from_tensor(x, [t.block_m, t.block_k])
        w_desc = TensorDescriptor.from_tensor(weight, [t.block_n, t.block_k])
        c_desc = TensorDescriptor.from_tensor(out, [t.block_m, t.block_n])
        _streamk_kernel[(self.grid,)](
            a_desc,
            w_desc,
            c_desc,
            self.parts,
            self.flags,
            self.rows,
            self.n,
            self.k,
            self.sk_tiles,
            self.grid,
            BLOCK_M=t.block_m,
            BLOCK_N=t.block_n,
            BLOCK_K=t.block_k,
            num_stages=t.num_stages,
            num_warps=t.num_warps,
        )
        return out


def rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    diff = (out.double() - ref.double()).norm()
    return float(diff / ref.double().norm())


def measure(rows_list: list[int], configs: list[Tiles]) -> dict:
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    rate = ceilings()["matmul_flops"]
    weights = {
        name: [torch.randn(n, k, device="cuda", dtype=torch.bfloat16) * 0.02 for _ in range(LAYERS)]
        for name, (n, k) in SHAPES.items()
    }
    cells = []
    for rows, (name, (n, k)) in itertools.product(rows_list, SHAPES.items()):
        x = torch.randn(rows, k, device="cuda", dtype=torch.bfloat16)
        out = torch.empty(rows, n, device="cuda", dtype=torch.bfloat16)
        layer_weights = weights[name]
        ref = F.linear(x, layer_weights[0]).float()
        flops = 2 * rows * n * k

        def cublas(x: torch.Tensor = x, layer_weights: list = layer_weights) -> None:
            for weight in layer_weights:
                F.linear(x, weight)

        us = time_graph(cublas, reps=3) * 1e3 / LAYERS
        cells.append(dict(rows=rows, projection=name, kernel="cublas", us=us, err=0.0))
        for tiles in configs:
            gemm = StreamKGemm(rows, n, k, tiles, sms)
            label = "{}x{}x{} s{} w{} {}".format(*tiles[:5], "sk" if tiles.stream_k else "dp")
            try:
                err = rel_err(gemm(x, layer_weights[0], out), ref)

                def run(
                    gemm: StreamKGemm = gemm,
                    x: torch.Tensor = x,
                    lw: list = layer_weights,
                    out: torch.Tensor = out,
                ) -> None:
                    for weight in lw:
                        gemm(x, weight, out)

                us = time_graph(run, reps=3) * 1e3 / LAYERS
                err = max(err, rel_err(gemm(x, layer_weights[0], out), ref))  # after replays
                flags_clear = int(gemm.flags.abs().sum().item()) == 0
            except Exception as e:  # noqa: BLE001 - a config that does not compile is reported, not fatal
                print(
                    f"{rows} {name} {label}: failed: {type(e).__name__}: {str(e)[:200]}", flush=True
                )
                continue
            cells.append(
                dict(rows=rows, projection=name, kernel=label, us=us, err=err, flags=flags_clear)
            )
            print(f"{rows} {name} {label}: {us:.1f} us, err {err:.1e}", flush=True)
        for cell in cells:
            if cell["rows"] == rows and cell["projection"] == name:
                cell["tflops"] = flops / (cell["us"] / 1e6) / 1e12
                cell["share_of_8192_rate"] = flops / (cell["us"] / 1e6) / rate
    return {"matmul_flops": rate, "sms": sms, "cells": cells}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="128,256")
    ap.add_argument(
        "--quick", action="store_true", help="one tile shape, data-parallel and stream-K"
    )
    args = ap.parse_args()
    rows_list = [int(r) for r in args.rows.split(",")]
    result = measure(rows_list, QUICK if args.quick else CONFIGS)
    write_results("streamk_gemm", {**device_info(), **result})
    print(
        f"\n{'rows':>5} {'proj':>8} {'kernel':>26} {'us':>7} {'TFLOP/s':>8} {'x 8192^3':>9} {'err':>8}"
    )
    for cell in result["cells"]:
        print(
            f"{cell['rows']:5d} {cell['projection']:>8} {cell['kernel']:>26} {cell['us']:7.1f} "
            f"{cell['tflops']:8.0f} {cell['share_of_8192_rate']:9.2f} {cell['err']:8.1e}"
        )


if __name__ == "__main__":
    main()
