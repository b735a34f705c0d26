"""The linears of a paced mixed step (160-320 rows): cuBLAS against a swap-AB Triton GEMM whose one program
holds every row of the step in two row blocks, as the Llama-3-8B projections run in a step.

    PYTHONPATH=. python3 bench/mixed_gemm.py [--rows 160,192,256] [--quick]

Why: all 200 requests at once (issue 16) spends ~43 % of its device time in 481 mixed steps of 160 tokens
(72 decode rows, ~88 prompt tokens), at ~6.7 ms against a roofline of ~4.6; offline's mixed steps hold 256.
At those rows the weight read (3.8 ms a step) and the FLOPs (3.2-3.8 ms at 160) take about as long, and
cuBLAS runs the projections at 1.2-1.4x the longer of the two (docs/performance_log.md, sessions 21 and 25).
Earlier Triton GEMMs lost to cuBLAS there (sessions 12, 16, 24, 25), each with power-of-two row tiles: 160 rows
as 2 x 128 or 3 x 64 (the rows' tiles re-reading W from the L2, or the MMA padded by up to 60 %).

The kernel computes y^T = W x^T (W's columns the MMA's long side, x's rows its short side, as the GEMV's
tl.dot path). One program owns BLOCK_N output columns over a K part and every row: the first 128 rows as one
tl.dot, the rest (a power of two >= 16: 32 at 160, 64 at 192) as a second over the same W tile, so W is read
once and the MMA pads at most to the next multiple of 16. With PARTS > 1 (o and down, whose sum the next
RMSNorm takes in the engine) each part writes float32 partial sums, as backend_triton's split-K does. TMA=1
loads W and x through host tensor descriptors (Hopper's copy engine), TMA=0 through pointers.

Prints per (matrix, rows): cuBLAS (F.linear; for o and down also the engine's split-K bmm, the faster counted)
and the best kernel config, in us a layer and as a ratio to the roofline max(weight bytes / copy, FLOPs /
matmul rate), both measured at the start of the run; the table last. One JSON in bench/results/ (or
$BENCH_OUT). A research probe: nothing in swiftllm/ uses the kernel yet."""

from __future__ import annotations

import argparse
import itertools
import time

import torch
import triton
import triton.language as tl
from common import ceilings, device_info, time_graph, write_results

from swiftllm.worker.backend_triton import SPLIT_K_PARTS, split_k_matmul

DEV = "cuda"
MATRICES = {"qkv": (6144, 4096), "o": (4096, 4096), "gate_up": (28672, 4096), "down": (4096, 14336)}
FIRST_BLOCK = 128  # rows in the first tl.dot
LAYERS = 8  # distinct weights per timing, so that W comes from memory, not the L2


@triton.jit
def _two_block_kernel(
    x_ptr,
    w_ptr,
    y_ptr,
    x_desc,
    w_desc,
    m_rows,
    n_cols,
    k_dim,
    x_stride,
    w_stride,
    y_stride,
    part_stride,
    BLOCK_M2: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
    PARTS: tl.constexpr,
    TMA: tl.constexpr,
    FIRST: tl.constexpr,
):
    pid_n = tl.program_id(0)
    part = tl.program_id(1)
    n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    k = tl.arange(0, BLOCK_K)
    m1 = tl.arange(0, FIRST)
    m2 = FIRST + tl.arange(0, BLOCK_M2)
    k_len = k_dim // PARTS
    k_begin = part * k_len
    w_rows = w_ptr + tl.minimum(n, n_cols - 1).to(tl.int64)[:, None] * w_stride
    acc1 = tl.zeros([BLOCK_N, FIRST], tl.float32)
    acc2 = tl.zeros([BLOCK_N, BLOCK_M2], tl.float32)
    for k0 in range(k_begin, k_begin + k_len, BLOCK_K):
        if TMA:
            w = w_desc.load([pid_n * BLOCK_N, k0])
            x1 = x_desc.load([0, k0])
        else:
            w = tl.load(w_rows + k0 + k[None, :])
            x1 = tl.load(
                x_ptr + m1[:, None] * x_stride + k0 + k[None, :],
                mask=m1[:, None] < m_rows,
                other=0.0,
            )
        acc1 = tl.dot(w, tl.trans(x1), acc1)
        x2 = tl.load(
            x_ptr + m2[:, None] * x_stride + k0 + k[None, :], mask=m2[:, None] < m_rows, other=0.0
        )
        acc2 = tl.dot(w, tl.trans(x2), acc2)
    n_mask = n[:, None] < n_cols
    y1 = y_ptr + part * part_stride + m1[None, :] * y_stride + n[:, None]
    y2 = y_ptr + part * part_stride + m2[None, :] * y_stride + n[:, None]
    tl.store(y1, acc1.to(y_ptr.dtype.element_ty), mask=n_mask & (m1[None, :] < m_rows))
    tl.store(y2, acc2.to(y_ptr.dtype.element_ty), mask=n_mask & (m2[None, :] < m_rows))


class TwoBlock:
    """One config: (BLOCK_N, BLOCK_K, PARTS, TMA, warps, stages); rows past FIRST_BLOCK go to the second block."""

    def __init__(
        self, block_n: int, block_k: int, parts: int, tma: bool, warps: int, stages: int
    ) -> None:
        self.cfg = (block_n, block_k, parts, tma, warps, stages)

    def __call__(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        from triton.tools.tensor_descriptor import TensorDescriptor

        block_n, block_k, parts, tma, warps, stages = self.cfg
        (m, k), (n, _) = x.shape, w.shape
        block_m2 = max(16, triton.next_power_of_2(m - FIRST_BLOCK))
        dtype = x.dtype if parts == 1 else torch.float32
        y = torch.empty((parts, m, n), dtype=dtype, device=x.device)
        x_desc = TensorDescriptor.from_tensor(x, [FIRST_BLOCK, block_k])
        w_desc = TensorDescriptor.from_tensor(w, [block_n, block_k])
        _two_block_kernel[(triton.cdiv(n, block_n), parts)](
            x,
            w,
            y,
            x_desc,
            w_desc,
            m,
            n,
            k,
            x.stride(0),
            w.stride(0),
            y.stride(1),
            y.stride(0),
            BLOCK_M2=block_m2,
            BLOCK_N=block_n,
            BLOCK_K=block_k,
            PARTS=parts,
            TMA=tma,
            FIRST=FIRST_BLOCK,
            num_warps=warps,
            num_stages=stages,
        )
        return y if parts > 1 else y[0]


def configs(matrix: str, quick: bool) -> list[tuple]:
    parts = (1, 2) if matrix in ("qkv", "gate_up") else (2, 4)
    warps_stages = ((8, 3), (8, 4)) if quick else ((4, 3), (8, 3), (8, 4), (8, 5))
    out = []
    for block_n, block_k, part, tma, (warps, stages) in itertools.product(
        (64, 128), (64, 128), parts, (False, True), warps_stages
    ):
        if block_n == 128 and block_k == 128 and stages > 3:
            continue  # more shared memory than a block may have
        out.append((block_n, block_k, part, tma, warps, stages))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", default="160,192,256")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--matrices", default=",".join(MATRICES))
    args = ap.parse_args()
    started = time.time()
    data = {**device_info(), "ceilings": ceilings(), "rows": []}
    bandwidth = data["ceilings"]["copy_bw_Bps"]
    flops = data["ceilings"]["matmul_flops"]
    names = args.matrices.split(",")
    weights = {
        name: [
            torch.randn(MATRICES[name], device=DEV, dtype=torch.bfloat16) / 64
            for _ in range(LAYERS)
        ]
        for name in names
    }
    for rows in (int(r) for r in args.rows.split(",")):
        for name in names:
            n, k = MATRICES[name]
            ws = weights[name]
            floor_us = max(n * k * 2 / bandwidth, 2 * rows * n * k / flops) * 1e6
            x = torch.randn(rows, k, device=DEV, dtype=torch.bfloat16)
            ref = torch.nn.functional.linear(x.double(), ws[0].double())
            linear = torch.nn.functional.linear
            cublas_us = time_graph(lambda: [linear(x, w) for w in ws], reps=4) / LAYERS * 1e3  # noqa: B023
            if name in ("o", "down"):
                split = lambda: [split_k_matmul(x, w, SPLIT_K_PARTS) for w in ws]  # noqa: B023, E731
                bmm_us = time_graph(split, reps=4) / LAYERS * 1e3
                cublas_us = min(cublas_us, bmm_us)
            row = {"matrix": name, "rows": rows, "floor_us": floor_us, "cublas_us": cublas_us}
            row["configs"] = []
            for cfg in configs(name, args.quick):
                if k % (cfg[1] * cfg[2]):
                    continue
                fn = TwoBlock(*cfg)
                try:
                    out = fn(x, ws[0])
                    if out.dim() == 3:
                        out = out.sum(0)
                    err = ((out.double() - ref).norm() / ref.norm()).item()
                    us = time_graph(lambda: [fn(x, w) for w in ws], reps=4) / LAYERS * 1e3  # noqa: B023
                except Exception as e:  # noqa: BLE001 - a config that does not compile is skipped, with why
                    print(
                        f"  {name} rows={rows} {cfg}: {type(e).__name__} {str(e)[:100]}", flush=True
                    )
                    continue
                if not err < 2e-2:  # NaN fails too
                    print(
                        f"  {name} rows={rows} {cfg}: relative error {err:.1e}, not counted",
                        flush=True,
                    )
                    continue
                row["configs"].append({"cfg": list(cfg), "us": us, "rel_err": err})
            if not row["configs"]:
                print(f"{name:8s} rows={rows}: no config ran", flush=True)
                continue
            row["best"] = min(row["configs"], key=lambda c: c["us"])
            data["rows"].append(row)
            best = row["best"]
            print(
                f"{name:8s} rows={rows:3d} floor {floor_us:6.1f} us  cuBLAS {cublas_us:6.1f}  "
                f"ours {best['us']:6.1f} {best['cfg']}  [{time.time() - started:.0f} s]",
                flush=True,
            )
    write_results("mixed_gemm", data)
    print(
        f"\n{data['device']}  copy {bandwidth / 1e12:.2f} TB/s  matmul {flops / 1e12:.0f} TFLOP/s; "
        "us a layer (8 layers' weights, CUDA graph), ratio to the roofline"
    )
    print(
        f"{'matrix':8s} {'rows':>4} {'floor':>6} {'cuBLAS':>12} {'ours':>12}  (BN, BK, parts, TMA, warps, stages)"
    )
    for r in data["rows"]:
        b = r["best"]
        cublas = f"{r['cublas_us']:.1f} ({r['cublas_us'] / r['floor_us']:.2f})"
        ours = f"{b['us']:.1f} ({b['us'] / r['floor_us']:.2f})"
        print(
            f"{r['matrix']:8s} {r['rows']:4d} {r['floor_us']:6.1f} {cublas:>12} {ours:>12}  {b['cfg']}"
        )
    for rows in sorted({r["rows"] for r in data["rows"]}):
        at = [r for r in data["rows"] if r["rows"] == rows]
        cublas = sum(r["cublas_us"] for r in at)
        ours = sum(r["best"]["us"] for r in at)
        print(
            f"layer at {rows} rows ({len(at)} matrices): cuBLAS {cublas:.1f} us, ours {ours:.1f} us"
        )


if __name__ == "__main__":
    main()
