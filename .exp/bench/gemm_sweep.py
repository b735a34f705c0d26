"""Skinny GEMM sweep (17-256 rows): cuBLAS against a weight-streaming Triton kernel with split-K, on the
Llama-3-8B projections, as a fraction of copy bandwidth (time of 8 layers' distinct weights, CUDA graph).

    PYTHONPATH=. python3 bench/gemm_sweep.py [--rows 32,64,128,256] [--quick]

The kernel computes y^T = W x^T ("swap AB"): the long N dimension fills the MMA's 64-row side and the few
rows of x its narrow side. SPLIT_K > 1 programs each reduce a slice of K; the last to finish an N tile (an
atomic counter, reset by it) sums the fp32 partials. Prints the best config per (matrix, rows) last."""

from __future__ import annotations

import argparse
import itertools
import time

import torch
import triton
import triton.language as tl
from common import ceilings, device_info, time_graph, write_results

DEV = "cuda"
MATRICES = {"qkv": (6144, 4096), "o": (4096, 4096), "gate_up": (28672, 4096), "down": (4096, 14336)}


@triton.jit(do_not_specialize=["m_rows"])
def _skinny_kernel(
    x_ptr,
    w_ptr,
    y_ptr,
    part_ptr,
    count_ptr,
    m_rows,
    n_cols,
    k_dim,
    x_stride,
    w_stride,
    y_stride,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
    SPLIT_K: tl.constexpr,
):
    pid_n, pid_k, pid_m = tl.program_id(0), tl.program_id(1), tl.program_id(2)
    n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    k = tl.arange(0, BLOCK_K)
    k_len = k_dim // SPLIT_K
    w_rows = w_ptr + tl.minimum(n, n_cols - 1).to(tl.int64)[:, None] * w_stride
    acc = tl.zeros([BLOCK_N, BLOCK_M], tl.float32)
    for k0 in range(pid_k * k_len, (pid_k + 1) * k_len, BLOCK_K):
        w = tl.load(w_rows + k0 + k[None, :])
        x = tl.load(
            x_ptr + m[:, None] * x_stride + k0 + k[None, :], mask=m[:, None] < m_rows, other=0.0
        )
        acc = tl.dot(w, tl.trans(x), acc)
    mask = (m[None, :] < m_rows) & (n[:, None] < n_cols)
    y_ptrs = y_ptr + m[None, :] * y_stride + n[:, None]
    if SPLIT_K == 1:
        tl.store(y_ptrs, acc.to(y_ptr.dtype.element_ty), mask=mask)
    else:
        tile = (pid_m * tl.num_programs(0) + pid_n) * BLOCK_N * BLOCK_M
        offs = tl.arange(0, BLOCK_N)[:, None] * BLOCK_M + tl.arange(0, BLOCK_M)[None, :]
        tl.store(
            part_ptr
            + pid_k * tl.num_programs(0) * tl.num_programs(2) * BLOCK_N * BLOCK_M
            + tile
            + offs,
            acc,
        )
        tl.debug_barrier()
        count = tl.atomic_add(count_ptr + pid_m * tl.num_programs(0) + pid_n, 1, sem="acq_rel")
        if count == SPLIT_K - 1:
            total = tl.zeros([BLOCK_N, BLOCK_M], tl.float32)
            for s in range(SPLIT_K):
                total += tl.load(
                    part_ptr
                    + s * tl.num_programs(0) * tl.num_programs(2) * BLOCK_N * BLOCK_M
                    + tile
                    + offs,
                    cache_modifier=".cg",
                )
            tl.store(y_ptrs, total.to(y_ptr.dtype.element_ty), mask=mask)
            tl.atomic_xchg(count_ptr + pid_m * tl.num_programs(0) + pid_n, 0)


class Skinny:
    """One config; its partials buffer and counters are allocated once (the counters reset themselves)."""

    def __init__(
        self, block_m: int, block_n: int, block_k: int, split_k: int, warps: int, stages: int
    ) -> None:
        self.cfg = (block_m, block_n, block_k, split_k, warps, stages)
        self.count = torch.zeros(4096, dtype=torch.int32, device=DEV)
        self.part = torch.empty(
            split_k * 256 * 28672 if split_k > 1 else 1, dtype=torch.float32, device=DEV
        )

    def __call__(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        bm, bn, bk, sk, warps, stages = self.cfg
        (m, k), (n, _) = x.shape, w.shape
        y = torch.empty((m, n), dtype=x.dtype, device=x.device)
        _skinny_kernel[(triton.cdiv(n, bn), sk, triton.cdiv(m, bm))](
            x,
            w,
            y,
            self.part,
            self.count,
            m,
            n,
            k,
            x.stride(0),
            w.stride(0),
            y.stride(0),
            BLOCK_M=bm,
            BLOCK_N=bn,
            BLOCK_K=bk,
            SPLIT_K=sk,
            num_warps=warps,
            num_stages=stages,
        )
        return y


def configs(m: int, quick: bool) -> list[tuple]:
    bms = [max(16, triton.next_power_of_2(m))] if m <= 64 else [64, 128]
    if m > 128:
        bms = [64, 128]
    out = []
    for bm, bn, bk, sk, (warps, stages) in itertools.product(
        bms, (64, 128), (64, 128), (1, 2, 4), ((4, 4), (4, 6), (8, 4))
    ):
        if bm >= 128 and (bk == 128 and stages == 6):
            continue  # does not fit shared memory
        if quick and (warps, stages) == (8, 4):
            continue
        out.append((bm, bn, bk, sk, warps, stages))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="24,32,48,64,128,256")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    t_start = time.time()
    data = {**device_info(), "ceilings": ceilings(), "rows": []}
    bw = data["ceilings"]["copy_bw_Bps"]
    weights = {
        name: [torch.randn(n, k, device=DEV, dtype=torch.bfloat16) / 64 for _ in range(8)]
        for name, (n, k) in MATRICES.items()
    }
    kernels: dict[tuple, Skinny] = {}
    for m in (int(r) for r in args.rows.split(",")):
        for name, ws in weights.items():
            n, k = MATRICES[name]
            x = torch.randn(m, k, device=DEV, dtype=torch.bfloat16)
            ref = torch.nn.functional.linear(x, ws[0])
            cublas = time_graph(lambda: [torch.nn.functional.linear(x, w) for w in ws], reps=4) / 8  # noqa: B023
            row = {
                "matrix": name,
                "rows": m,
                "cublas_of_bw": n * k * 2 / (cublas / 1e3) / bw,
                "configs": [],
            }
            for cfg in configs(m, args.quick):
                if k % (cfg[2] * cfg[3]):
                    continue
                fn = kernels.get(cfg) or kernels.setdefault(cfg, Skinny(*cfg))
                try:
                    err = ((fn(x, ws[0]).float() - ref.float()).norm() / ref.float().norm()).item()
                    ms = time_graph(lambda: [fn(x, w) for w in ws], reps=4) / 8  # noqa: B023
                except Exception as e:  # noqa: BLE001 - a config that does not compile is skipped, with why
                    print(f"  {name} m={m} {cfg}: {type(e).__name__} {str(e)[:80]}", flush=True)
                    continue
                row["configs"].append(
                    {"cfg": list(cfg), "of_bw": n * k * 2 / (ms / 1e3) / bw, "rel_err": err}
                )
            best = max(row["configs"], key=lambda c: c["of_bw"])
            row["best"] = best
            data["rows"].append(row)
            print(
                f"{name:8s} m={m:3d} cuBLAS {row['cublas_of_bw']:.3f}  best {best['of_bw']:.3f} {best['cfg']} "
                f"err {best['rel_err']:.1e}  [{time.time() - t_start:.0f} s]",
                flush=True,
            )
    write_results("gemm_sweep", data)
    print(
        f"\n{data['device']}  copy {bw / 1e12:.2f} TB/s   fraction of copy bandwidth, 8 layers' weights"
    )
    print(
        f"{'matrix':8s} {'rows':>4} {'cuBLAS':>7} {'ours':>6} {'ratio':>6}  (BM, BN, BK, split, warps, stages)"
    )
    for r in data["rows"]:
        b = r["best"]
        print(
            f"{r['matrix']:8s} {r['rows']:4d} {r['cublas_of_bw']:7.3f} {b['of_bw']:6.3f} "
            f"{b['of_bw'] / r['cublas_of_bw']:6.3f}  {b['cfg']}"
        )
    worst = max(c["rel_err"] for r in data["rows"] for c in r["configs"])
    print(f"worst relative error over every config: {worst:.1e}")


if __name__ == "__main__":
    main()
