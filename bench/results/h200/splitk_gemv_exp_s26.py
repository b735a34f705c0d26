"""Session 26's experiment: split-K for the narrow projections (o, down) of the small-batch GEMV, whose fp32
partial sums the next RMSNorm adds (no reduce kernel), against the shipped kernels, at 2-64 rows.

At 2-64 rows the GEMV gives each program 64 output columns over the whole K, so o and down (4,096 columns)
launch 64 programs on 132 SMs: alone they ran at 0.72 / 0.88 of copy bandwidth at 8 rows, 0.59 / 0.75 at 64
(bench/results/h200/gemv_sweep_*). Split over K into P parts they launch 64 * P programs; the norm after them
(the residual add and RMSNorm, which both projections feed) sums the parts as it loads them.

Times, in a CUDA graph under PDL as a decode step runs them, a chain of LAYERS Llama-3-8B layers without
attention (norm, qkv, o, norm, gate_up, SiLU x mul, down; distinct weights per layer), each variant:
  shipped   backend_triton.linear / mlp as they dispatch today
  down32    at 2-16 rows the down projection on 32-column tiles (128 programs; its best tile alone)
  splitP    o and down split over K into P parts, the norms summing the parts
Checks each variant's last hidden state against the shipped one's first (rel err). Run from a tree's root:
    PYTHONPATH=.:/tmp/site python3 bench/results/h200/splitk_gemv_exp_s26.py [--rows 2,8,16,32,64]
With TRITON_INTERPRET=1 (no GPU) it checks the kernels at a small shape in float32 instead."""

import argparse
import json
import os
import sys

import torch
import triton
import triton.language as tl

sys.path.insert(0, "bench")

from swiftllm.kernels import pdl  # noqa: E402
from swiftllm.kernels.gemv import gemv  # noqa: E402
from swiftllm.kernels.rmsnorm import rms_norm  # noqa: E402
from swiftllm.kernels.silu_mul import silu_and_mul  # noqa: E402
from swiftllm.worker import backend_triton as bt  # noqa: E402


@triton.jit
def _splitk_kernel(
    x_ptr,
    w_ptr,
    y_ptr,
    m_rows,
    m_blocks,
    n_cols,
    k_split,
    x_stride,
    w_stride,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
    PDL: tl.constexpr,
):
    n = tl.program_id(0) // m_blocks * BLOCK_N + tl.arange(0, BLOCK_N)
    m = tl.program_id(0) % m_blocks * BLOCK_M + tl.arange(0, BLOCK_M)
    part = tl.program_id(1)
    k = tl.arange(0, BLOCK_K)
    acc = tl.zeros([BLOCK_N, BLOCK_M], tl.float32)
    w_rows = w_ptr + tl.minimum(n, n_cols - 1).to(tl.int64)[:, None] * w_stride
    if PDL:
        pdl.gdc()
    k_lo = part * k_split
    for k0 in range(k_lo, k_lo + k_split, BLOCK_K):
        w = tl.load(w_rows + k0 + k[None, :])
        x = tl.load(
            x_ptr + m[:, None] * x_stride + k0 + k[None, :], mask=m[:, None] < m_rows, other=0.0
        )
        acc = tl.dot(w, tl.trans(x), acc)
    y = tl.trans(acc)
    out = y_ptr + part.to(tl.int64) * m_rows * n_cols + m[:, None] * n_cols + n[None, :]
    tl.store(out, y, mask=(m[:, None] < m_rows) & (n[None, :] < n_cols))


def gemv_parts(
    x: torch.Tensor,
    w: torch.Tensor,
    parts: int,
    block_n: int,
    block_k: int,
    warps: int,
    stages: int,
) -> torch.Tensor:
    m_rows, k_dim = x.shape
    n_cols = w.shape[0]
    assert k_dim % (parts * block_k) == 0
    block_m = max(16, triton.next_power_of_2(m_rows))
    m_blocks = triton.cdiv(m_rows, block_m)
    y = torch.empty((parts, m_rows, n_cols), dtype=torch.float32, device=x.device)
    _splitk_kernel[(triton.cdiv(n_cols, block_n) * m_blocks, parts)](
        x,
        w,
        y,
        m_rows,
        m_blocks,
        n_cols,
        k_dim // parts,
        x.stride(0),
        w.stride(0),
        BLOCK_M=block_m,
        BLOCK_N=block_n,
        BLOCK_K=block_k,
        PDL=pdl.ENABLED,
        num_warps=warps,
        num_stages=stages,
        launch_pdl=pdl.ENABLED,
    )
    return y


@triton.jit
def _norm_parts_kernel(
    p_ptr,
    res_ptr,
    w_ptr,
    out_ptr,
    res_out_ptr,
    n_cols,
    part_stride,
    eps,
    PARTS: tl.constexpr,
    BLOCK: tl.constexpr,
    PDL: tl.constexpr,
):
    if PDL:
        pdl.gdc()
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    acc = tl.load(p_ptr + row * n_cols + cols, mask=mask, other=0.0)
    for p in tl.static_range(1, PARTS):
        acc += tl.load(p_ptr + p * part_stride + row * n_cols + cols, mask=mask, other=0.0)
    res = tl.load(res_ptr + row * n_cols + cols, mask=mask, other=0.0)
    x = (
        acc.to(res.dtype) + res
    )  # rounded to the activation dtype first, as the projection's output would be
    tl.store(res_out_ptr + row * n_cols + cols, x, mask=mask)
    xf = x.to(tl.float32)
    inv = tl.rsqrt(tl.sum(xf * xf, axis=0) / n_cols + eps)
    w = tl.load(w_ptr + cols, mask=mask, other=0.0).to(tl.float32)
    tl.store(out_ptr + row * n_cols + cols, (xf * inv * w).to(out_ptr.dtype.element_ty), mask=mask)


def norm_parts(
    parts: torch.Tensor, weight: torch.Tensor, eps: float, residual: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    p, t, n = parts.shape
    out = torch.empty((t, n), dtype=residual.dtype, device=residual.device)
    new_res = torch.empty_like(out)
    block = triton.next_power_of_2(n)
    _norm_parts_kernel[(t,)](
        parts,
        residual,
        weight,
        out,
        new_res,
        n,
        t * n,
        eps,
        PARTS=p,
        BLOCK=block,
        PDL=pdl.ENABLED,
        num_warps=min(max(block // 512, 1), 16),
        launch_pdl=pdl.ENABLED,
    )
    return out, new_res


def norm_any(h: torch.Tensor, weight: torch.Tensor, eps: float, residual: torch.Tensor | None):
    if h.dim() == 3:
        return norm_parts(h, weight, eps, residual)
    return rms_norm(h, weight, eps, residual)


def chain(
    variant: str, rows: int, h0: torch.Tensor, attn: torch.Tensor, layers: list[dict], eps: float
):
    """The layers' projections and norms; returns (hidden, residual) as the last layer leaves them."""
    h = h0
    residual = None
    for lw in layers:
        x, residual = norm_any(h, lw["in_norm"], eps, residual)
        bt.linear(x, lw["qkv"])
        if variant.startswith("split"):
            parts = int(variant[5:])
            h = gemv_parts(
                attn, lw["o"], parts, 64, 128 if rows > 16 else 256, 4, 6 if rows > 16 else 4
            )
        else:
            h = bt.linear(attn, lw["o"])
        x, residual = norm_any(h, lw["post_norm"], eps, residual)
        if variant.startswith("split"):
            s = silu_and_mul(bt.linear(x, lw["gate_up"]))
            h = gemv_parts(
                s, lw["down"], parts, 64, 128 if rows > 16 else 256, 4, 6 if rows > 16 else 4
            )
        elif variant == "down32" and rows <= 16:
            h = gemv(silu_and_mul(bt.linear(x, lw["gate_up"])), lw["down"], None, 32, 256, 4, 6)
        else:
            h = bt.mlp(x, lw["gate_up"], lw["down"])
    if h.dim() == 3:
        h = h.sum(0).to(residual.dtype)
    return h, residual


def make_layers(
    n_layers: int, hidden: int, inter: int, qkv: int, dtype: torch.dtype, device: str
) -> list[dict]:
    def w(n: int, k: int) -> torch.Tensor:
        return (torch.randn(n, k, device=device) / k**0.5).to(dtype)

    return [
        {
            "in_norm": torch.rand(hidden, device=device).to(dtype) + 0.5,
            "qkv": w(qkv, hidden),
            "o": w(hidden, hidden),
            "post_norm": torch.rand(hidden, device=device).to(dtype) + 0.5,
            "gate_up": w(2 * inter, hidden),
            "down": w(hidden, inter),
        }
        for _ in range(n_layers)
    ]


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm())


def interpret_check() -> None:
    """The kernels at a small shape in float32 against float64 (TRITON_INTERPRET=1)."""
    torch.manual_seed(0)
    for rows in (3, 17):
        x = torch.randn(rows, 512)
        w = torch.randn(96, 512)
        y = gemv_parts(x, w, 4, 64, 64, 4, 2)
        print("parts gemv", rows, rel(y.sum(0), x.double() @ w.double().T))
        res = torch.randn(rows, 96)
        nw = torch.rand(96) + 0.5
        out, new_res = norm_parts(y, nw, 1e-5, res)
        ref_res = x.double() @ w.double().T + res.double()
        ref = ref_res * torch.rsqrt(ref_res.pow(2).mean(-1, keepdim=True) + 1e-5) * nw.double()
        print("norm parts", rows, rel(new_res, ref_res), rel(out, ref))


def main() -> None:
    if os.environ.get("TRITON_INTERPRET") == "1":
        interpret_check()
        return
    from common import ceilings, device_info, time_graph

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="2,8,16,32,64")
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--variants", default="shipped,down32,split2,split4,shipped")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.manual_seed(0)
    dev = "cuda"
    hidden, inter, qkv = 4096, 14336, 6144
    layers = make_layers(args.layers, hidden, inter, qkv, torch.bfloat16, dev)
    ceil = ceilings()
    weight_bytes = sum(2 * t.numel() for lw in layers for k, t in lw.items() if "norm" not in k)
    floor_ms = weight_bytes / ceil["copy_bw_Bps"] * 1e3
    print(
        f"ceilings copy {ceil['copy_bw_Bps'] / 1e12:.2f} TB/s; {args.layers} layers' weights at copy: {floor_ms:.3f} ms"
    )
    results = {
        "device": device_info(),
        "ceilings": ceil,
        "layers": args.layers,
        "floor_ms": floor_ms,
        "rows": {},
    }
    variants = args.variants.split(",")
    for rows in [int(r) for r in args.rows.split(",")]:
        h0 = torch.randn(rows, hidden, device=dev).to(torch.bfloat16)
        attn = torch.randn(rows, hidden, device=dev).to(torch.bfloat16)
        ref_h, ref_res = chain("shipped", rows, h0, attn, layers, 1e-5)
        cells = []
        for v in variants:
            h, res = chain(v, rows, h0, attn, layers, 1e-5)
            err = max(rel(h, ref_h), rel(res, ref_res))
            ms = time_graph(lambda: chain(v, rows, h0, attn, layers, 1e-5), reps=10)
            results["rows"].setdefault(str(rows), []).append(
                {"variant": v, "ms": ms, "rel_err": err}
            )
            cells.append(f"{v} {ms:.4f} ({floor_ms / ms:.3f}, err {err:.1e})")
        print(f"rows {rows:3d}: " + " | ".join(cells), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
