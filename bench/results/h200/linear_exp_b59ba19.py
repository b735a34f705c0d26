"""Session 12 experiment: our weight-streaming GEMV kernel at 24-256 rows (block_m up to 128) against cuBLAS,
per Llama-3-8B projection (4 layers' distinct weights, CUDA graph, PDL as shipped), and the chain of all four."""

import itertools
import sys

import torch
import triton

sys.path.insert(0, "bench")
from common import ceilings, time_graph  # noqa: E402

from swiftllm.kernels import pdl  # noqa: E402
from swiftllm.kernels.gemv import _gemv_kernel, gemv  # noqa: E402

MATS = {"qkv": (6144, 4096), "o": (4096, 4096), "gate_up": (28672, 4096), "down": (4096, 14336)}
L = 4


def run_gemv(x, w, y, bn, bk, nw, ns, bm):
    m, k = x.shape
    n = w.shape[0]
    mb = triton.cdiv(m, bm)
    _gemv_kernel[(triton.cdiv(n, bn) * mb,)](
        x,
        w,
        w,
        y,
        m,
        mb,
        n,
        k,
        x.stride(0),
        w.stride(0),
        y.stride(0),
        HAS_BIAS=False,
        SILU=False,
        EVEN_K=k % bk == 0,
        BLOCK_M=bm,
        BLOCK_N=bn,
        BLOCK_K=bk,
        PDL=pdl.ENABLED,
        num_warps=nw,
        num_stages=ns,
        launch_pdl=pdl.ENABLED,
    )


ceil = ceilings()
bw, fl = ceil["copy_bw_Bps"], ceil["matmul_flops"]
print(f"copy {bw / 1e12:.2f} TB/s, matmul {fl / 1e12:.0f} TFLOP/s", flush=True)
W = {
    nm: [torch.randn(n, k, device="cuda", dtype=torch.bfloat16) / 64 for _ in range(L)]
    for nm, (n, k) in MATS.items()
}
rows_list = (
    [int(r) for r in sys.argv[1].split(",")] if len(sys.argv) > 1 else [48, 64, 96, 128, 192, 256]
)
summary = []
for rows in rows_list:
    X = {
        nm: torch.randn(rows, k, device="cuda", dtype=torch.bfloat16) for nm, (n, k) in MATS.items()
    }
    Y = {
        nm: torch.empty(rows, n, device="cuda", dtype=torch.bfloat16) for nm, (n, k) in MATS.items()
    }
    tot_cublas = tot_best = tot_roof = 0.0
    for nm, (n, k) in MATS.items():
        roof = max(n * k * 2 / bw, 2 * rows * n * k / fl) * 1e6
        cub = (
            time_graph(lambda: [torch.nn.functional.linear(X[nm], w) for w in W[nm]], reps=5)
            * 1e3
            / L
        )
        ref = torch.nn.functional.linear(X[nm], W[nm][0]).float()
        shipped = None
        if rows <= 64:
            shipped = time_graph(lambda: [gemv(X[nm], w) for w in W[nm]], reps=5) * 1e3 / L
        bms = [32, 64] if rows <= 64 else [64, 128]
        best = (1e9, None)
        for bn, bk, nw, ns, bm in itertools.product((64, 128), (64, 128), (4, 8), (3, 4), bms):
            if (bn * bk + bm * bk) * 2 * ns > 220 * 1024:
                continue
            try:
                run_gemv(X[nm], W[nm][0], Y[nm], bn, bk, nw, ns, bm)
                err = ((Y[nm].float() - ref).norm() / ref.norm()).item()
                if not err < 2e-2:
                    print(
                        f"  rows {rows} {nm} {(bn, bk, nw, ns, bm)} rel err {err:.2e}: skipped",
                        flush=True,
                    )
                    continue
                us = (
                    time_graph(
                        lambda: [run_gemv(X[nm], w, Y[nm], bn, bk, nw, ns, bm) for w in W[nm]],
                        reps=5,
                    )
                    * 1e3
                    / L
                )
            except Exception as e:  # noqa: BLE001
                print(f"  rows {rows} {nm} {(bn, bk, nw, ns, bm)}: {type(e).__name__}", flush=True)
                continue
            if us < best[0]:
                best = (us, (bn, bk, nw, ns, bm))
        tot_cublas += cub
        tot_best += min(best[0], cub)
        tot_roof += roof
        sh = f"shipped {shipped:6.1f}" if shipped else "               "
        print(
            f"rows {rows:3d} {nm:8s} roof {roof:6.1f} us  cuBLAS {cub:6.1f} ({roof / cub:.2f})  {sh}  "
            f"gemv best {best[0]:6.1f} ({roof / best[0]:.2f}) {best[1]}",
            flush=True,
        )
    summary.append((rows, tot_roof, tot_cublas, tot_best))
print("\nrows  roofline-us  cuBLAS-us (roof/x)  best-of-both-us (roof/x)  gain")
for rows, r, c, b in summary:
    print(f"{rows:4d} {r:10.1f} {c:10.1f} ({r / c:.2f}) {b:10.1f} ({r / b:.2f})  {1 - b / c:+.1%}")
