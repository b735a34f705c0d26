"""Small-batch linear layer y = x @ W^T (+ bias) for M <= 64 rows: a weight-streaming GEMV.

A program owns BLOCK_N output columns of BLOCK_M rows over the whole K. Grid: (cdiv(N, BLOCK_N) * cdiv(M, BLOCK_M),).
With SILU, x is gate_up's output [M, 2K] and the kernel multiplies W by silu_and_mul(x), computed as it loads x."""
# Owning whole columns, a program reads W exactly once in long coalesced rows and needs no split-K reduction; x is
# re-read from L2.
# Decode at small batch is nothing but streaming weights. At one row a multiply-add into a [BLOCK_N, BLOCK_K]
# accumulator streams an 8B model's layers 8% faster than tl.dot (which pads x to 16 rows); at 2-16 rows tl.dot
# beats cuBLAS by ~5% (H100, CUDA graphs of 8 layers' projections); at 17-64 rows, with y^T = W x^T so that W's
# 64-128 columns are the MMA's long side, by 2-7% on most matrices (bench/forward.py's gemv table).

import torch
import triton
import triton.language as tl

from swiftllm.kernels import pdl

WIDE = 16384  # output columns from which a matrix counts as wide (an MLP's gate_up, an LM head)


# values that change from step to step are not specialised on: a new value must not cost a JIT compile
@triton.jit(do_not_specialize=["m_rows", "m_blocks"])
def _gemv_kernel(
    x_ptr,
    w_ptr,
    b_ptr,
    y_ptr,
    m_rows,
    m_blocks,
    n_cols,
    k_dim,
    x_stride,
    w_stride,
    y_stride,
    HAS_BIAS: tl.constexpr,
    SILU: tl.constexpr,
    EVEN_K: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
    PDL: tl.constexpr,
):
    if PDL:
        pdl.gdc()
    # the row blocks of a column tile are neighbours in launch order, so all but the first read W from the L2
    n = tl.program_id(0) // m_blocks * BLOCK_N + tl.arange(0, BLOCK_N)
    m = tl.program_id(0) % m_blocks * BLOCK_M + tl.arange(0, BLOCK_M)
    k = tl.arange(0, BLOCK_K)
    acc = tl.zeros(
        [BLOCK_N, BLOCK_K]
        if BLOCK_M == 1
        else [BLOCK_N, BLOCK_M]
        if BLOCK_M > 16
        else [BLOCK_M, BLOCK_N],
        tl.float32,
    )
    # columns past N re-read row N - 1 (in bounds, never stored) so no load is masked on N; with EVEN_K the K mask
    # folds to all-true, so the weight stream is unmasked in the common case
    w_rows = w_ptr + tl.minimum(n, n_cols - 1).to(tl.int64)[:, None] * w_stride
    for k0 in range(0, k_dim, BLOCK_K):
        kmask = (k0 + k < k_dim) | EVEN_K
        w = tl.load(w_rows + k0 + k[None, :], mask=kmask[None, :], other=0.0)
        x_ptrs, x_mask = (
            x_ptr + m[:, None] * x_stride + k0 + k[None, :],
            (m[:, None] < m_rows) & kmask[None, :],
        )
        x = tl.load(x_ptrs, mask=x_mask, other=0.0)
        if SILU:  # SiLU(gate) in float32, rounded to the activation dtype before the product with up, as silu_mul.py
            gate = x.to(tl.float32)
            x = (gate / (1.0 + tl.exp(-gate))).to(x.dtype) * tl.load(
                x_ptrs + k_dim, mask=x_mask, other=0.0
            )
        # one row: tensor cores would pad it to 16, a plain multiply-add (reduced once, after the loop) is faster
        if BLOCK_M == 1:
            acc += w.to(tl.float32) * x.to(tl.float32)
        else:
            acc = tl.dot(w, tl.trans(x), acc) if BLOCK_M > 16 else tl.dot(x, tl.trans(w), acc)
    y = tl.sum(acc, 1)[None, :] if BLOCK_M == 1 else tl.trans(acc) if BLOCK_M > 16 else acc
    if HAS_BIAS:
        y += tl.load(b_ptr + n, mask=n < n_cols, other=0.0).to(tl.float32)[None, :]
    tl.store(
        y_ptr + m[:, None] * y_stride + n[None, :],
        y.to(y_ptr.dtype.element_ty),
        mask=(m[:, None] < m_rows) & (n[None, :] < n_cols),
    )


def gemv(
    x: torch.Tensor,
    w: torch.Tensor,
    bias: torch.Tensor | None = None,
    *config: int,
    silu: bool = False,
) -> torch.Tensor:
    """x [M, K] (M <= 64; [M, 2K] with silu), w [N, K] -> [M, N] in x's dtype. config (BLOCK_N, BLOCK_K,
    num_warps, num_stages) overrides the choice by shape, for benchmarks to sweep."""
    (m_rows, k_in), (n_cols, k_dim) = x.shape, w.shape
    assert m_rows <= 64 and k_in == k_dim * (1 + silu) and x.stride(1) == 1 and w.stride(1) == 1
    # the H100's best over chains of Llama-3-8B layers with PDL, where the best per matrix alone lost (32-row tiles 7%)
    # at 2-16 rows; past 16 the best per matrix (wide ones, as gate_up, take 128 columns and up to 64 rows a tile)
    wide = n_cols >= WIDE
    block_n, block_k, num_warps, num_stages = config or (
        ((128, 128, 4, 4) if wide else (64, 128, 4, 6))
        if m_rows > 16
        else (16, 512, 2, 4)
        if m_rows > 1
        else (4, 512, 4, 4)
        if silu
        else (4, 1024, 4, 3)
    )
    block_m = 1 if m_rows == 1 else min(max(16, triton.next_power_of_2(m_rows)), 64 if wide else 32)
    m_blocks = triton.cdiv(m_rows, block_m)
    y = torch.empty((m_rows, n_cols), dtype=x.dtype, device=x.device)
    _gemv_kernel[(triton.cdiv(n_cols, block_n) * m_blocks,)](
        x,
        w,
        bias if bias is not None else w,
        y,
        m_rows,
        m_blocks,
        n_cols,
        k_dim,
        x.stride(0),
        w.stride(0),
        y.stride(0),
        HAS_BIAS=bias is not None,
        SILU=silu,
        EVEN_K=k_dim % block_k == 0,
        BLOCK_M=block_m,
        BLOCK_N=block_n,
        BLOCK_K=block_k,
        PDL=pdl.ENABLED,
        num_warps=num_warps,
        num_stages=num_stages,
        launch_pdl=pdl.ENABLED,
    )
    return y
