"""Small-batch linear layer y = x @ W^T (+ bias) for M <= 64 rows: a weight-streaming GEMV. Its gated form
(M <= 128) computes an MLP's silu_and_mul(x @ gate_up^T) without writing gate_up's output.

A program owns BLOCK_N output columns of BLOCK_M rows over the whole K, or over K's p-th part with
parts > 1. Grid: (cdiv(N, BLOCK_N) * cdiv(M, BLOCK_M), parts)."""
# Owning whole columns, a program reads W exactly once in long coalesced rows and needs no split-K reduction; x is
# re-read from L2. With parts > 1 (a projection whose next op is rms_norm, at 2-32 rows) each part writes float32
# partial sums [parts, M, N] and rms_norm adds them: more programs for few rows.
# Decode at small batch is nothing but streaming weights. At one row a multiply-add into a [BLOCK_N, BLOCK_K]
# accumulator streams an 8B model's layers 8% faster than tl.dot (which pads x to 16 rows); at 2-64 rows tl.dot,
# as y^T = W x^T so that W's 64-128 columns are the MMA's long side and x's padded rows the short one, beats
# cuBLAS by 2-7% on most matrices (H100, bench/forward.py's gemv table; the H200's tiles below).

from typing import NamedTuple

import torch
import triton
import triton.language as tl

from swiftllm.kernels import pdl

WIDE = 16384  # output columns from which a matrix counts as wide (an MLP's gate_up, an LM head)
GEMV_ROW_LIMIT = 64  # the most rows x may have (GATED_BLOCK_M in the gated form)


class GemvConfig(NamedTuple):
    block_n: int
    block_k: int
    num_warps: int
    num_stages: int


# The best tiles by the rows' range and the matrix. At 1-16 rows, the H200's (bench/gemv_sweep.py, 2026-12-01): the
# tile that ran a chain of four Llama-3-8B layers' projections fastest under PDL, as a step runs them (the best per
# matrix alone can lose in a chain); against the H100's tiles the chain ran 6% faster at one row and 2-4% at 8-16,
# and the decode step 1.6% / 2.2% at 1 / 8 sequences (bench/latency.py, same call). At 2-16 rows, y^T = W x^T (as at
# 17-64 rows) instead of x W^T, at its best chain tile: the chain 0.474 -> 0.456 ms at 8 rows, the decode step 4.93
# -> 4.79 ms at 8 sequences and 5.32 -> 5.13 at 16 (H200, bench/results/h200/device_call_fd36a69_gemv.log, both
# orders). At 17-64 rows the H100's tiles stay: the chain's best at 32 rows (64-column tiles for wide matrices too)
# made the step 1% slower at 32 sequences.
GEMV_CONFIGS: dict[tuple[str, str], GemvConfig] = {
    ("1 row", "plain"): GemvConfig(block_n=4, block_k=2048, num_warps=4, num_stages=2),
    ("2-16 rows", "any"): GemvConfig(block_n=64, block_k=256, num_warps=4, num_stages=4),
    ("17-64 rows", "narrow"): GemvConfig(block_n=64, block_k=128, num_warps=4, num_stages=6),
    ("17-64 rows", "wide"): GemvConfig(block_n=128, block_k=128, num_warps=4, num_stages=4),
    ("up to 128 rows", "gated"): GemvConfig(block_n=128, block_k=64, num_warps=8, num_stages=4),
}
# The gated form's tile: the best of 32 at 128 rows, 69.4 us a Llama-3-8B layer against 73.5 for cuBLAS's gate_up
# and silu_and_mul (H200, bench/results/h200/gated_gemm_exp_s25.py). One program holds all of a step's rows.
GATED_BLOCK_M = 128


# The most shared memory a tile above takes a block (bench/sm90_resources.py: 192 KB at 17-64 rows, wide, and
# in the gated form; 160 KB at 2-16 rows): Hopper lets a block have 227 KB, an A100 163 KB, an L40S or a
# consumer card ~100 KB.
TILE_SHARED_MEMORY = 192 * 1024


def block_shared_memory(device: torch.device) -> float:
    """The shared memory a block on `device` may have (in bytes, opted in): unlimited in the interpreter."""
    if device.type != "cuda":
        return float("inf")
    # a build whose properties lack the field (torch's own code guards it for ROCm): assume too little
    return getattr(torch.cuda.get_device_properties(device), "shared_memory_per_block_optin", 0)


def tiles_fit(x: torch.Tensor) -> bool:
    """Whether a block on x's device may have every tile's shared memory in x's dtype. Where not (before Hopper;
    float32 anywhere: its x and W tiles are twice as large, 245-295 KB on sm_90 by session 68's compile), the
    tl.dot tiles of 2 or more rows would not launch (Triton's OutOfResources): the backend keeps cuBLAS there."""
    return block_shared_memory(x.device) >= TILE_SHARED_MEMORY * x.element_size() // 2


def gemv_config(m_rows: int, wide: bool, gated: bool = False) -> GemvConfig:
    if gated:
        return GEMV_CONFIGS["up to 128 rows", "gated"]
    if m_rows == 1:
        return GEMV_CONFIGS["1 row", "plain"]
    if m_rows <= 16:
        return GEMV_CONFIGS["2-16 rows", "any"]
    return GEMV_CONFIGS["17-64 rows", "wide" if wide else "narrow"]


@triton.jit
def _load_x(x_ptr, m, k, k0, m_rows, k_dim, x_stride, EVEN_K: tl.constexpr):
    """x's rows m at K offsets k0 + k, [BLOCK_M, BLOCK_K]."""
    kmask = (k0 + k < k_dim) | EVEN_K
    x_ptrs = x_ptr + m[:, None] * x_stride + k0 + k[None, :]
    return tl.load(x_ptrs, mask=(m[:, None] < m_rows) & kmask[None, :], other=0.0)


@triton.jit
def _accumulate(acc, w, x, BLOCK_M: tl.constexpr):
    """acc + W's tile [BLOCK_N, BLOCK_K] times x's tile over the same K (the accumulator's layout by rows: see
    the kernel)."""
    # one row: tensor cores would pad it to 16, a plain multiply-add (reduced once, after the loop) is faster
    if BLOCK_M == 1:
        acc += w.to(tl.float32) * x.to(tl.float32)
    else:  # y^T = W x^T: W's columns are the MMA's long side
        acc = tl.dot(w, tl.trans(x), acc, input_precision="ieee")  # float32 not rounded to TF32
    return acc


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
    GATED: tl.constexpr,
    PARTS: tl.constexpr,
    EVEN_K: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
    PDL: tl.constexpr,
):
    # the row blocks of a column tile are neighbours in launch order, so all but the first read W from the L2
    n = tl.program_id(0) // m_blocks * BLOCK_N + tl.arange(0, BLOCK_N)
    m = tl.program_id(0) % m_blocks * BLOCK_M + tl.arange(0, BLOCK_M)
    k = tl.arange(0, BLOCK_K)
    # the accumulator's layout by rows (a compile-time choice): see the loop
    acc = tl.zeros([BLOCK_N, BLOCK_K if BLOCK_M == 1 else BLOCK_M], tl.float32)
    # columns past N re-read row N - 1 (in bounds, never stored) so no load is masked on N; with EVEN_K the K mask
    # folds to all-true, so the weight stream is unmasked in the common case
    w_rows = w_ptr + tl.minimum(n, n_cols - 1).to(tl.int64)[:, None] * w_stride
    # W is never written by the kernels before this one, so at one row the first tile of W is loaded before the
    # PDL wait: while the kernel before drains (a norm, attention's reduce: latency-bound), the weight stream
    # has begun. The decode step at one sequence: 5.43 -> 5.31 ms with the reduce letting this kernel launch
    # early (H100, bare step), latency.py's 4.32-4.33 -> 4.19-4.21 ms (H200; bench/results/h200/
    # device_call_97aad57_s18_latency.log). Through tl.dot (2-64 rows) the tile loaded outside the loop made
    # the steps 0.4-1.4% slower (H100, bench/results/h100/device_call_s18_wfirst.log).
    k_start = 0
    k_end = k_dim
    # with parts (2 or more rows), the grid's second axis splits K: this program sums K's part [k_start, k_end)
    # into its part's own [M, N] of y. A compile-time branch: with one part the kernel compiles as without it
    # (one row's step ran 4.7% slower when the part offsets were computed at run time even for one part)
    if PARTS > 1:
        k_start = tl.program_id(1) * (k_dim // PARTS)
        k_end = k_start + k_dim // PARTS
        y_ptr += tl.program_id(1).to(tl.int64) * m_rows * y_stride
    if BLOCK_M == 1:
        w = tl.load(w_rows + k[None, :], mask=((k < k_dim) | EVEN_K)[None, :], other=0.0)
        if PDL:
            pdl.gdc()
        x = _load_x(x_ptr, m, k, 0, m_rows, k_dim, x_stride, EVEN_K)
        acc = _accumulate(acc, w, x, BLOCK_M)
        k_start = BLOCK_K
    elif PDL:
        pdl.gdc()
    # gated: W is gate_up [2N, K], and up's row N + n (its own accumulator) pairs with gate's row n
    if GATED:
        up_rows = w_rows + n_cols.to(tl.int64) * w_stride
        acc_up = tl.zeros([BLOCK_N, BLOCK_M], tl.float32)
    for k0 in range(k_start, k_end, BLOCK_K):
        kmask = (k0 + k < k_dim) | EVEN_K
        w = tl.load(w_rows + k0 + k[None, :], mask=kmask[None, :], other=0.0)
        x = _load_x(x_ptr, m, k, k0, m_rows, k_dim, x_stride, EVEN_K)
        acc = _accumulate(acc, w, x, BLOCK_M)
        if GATED:
            up = tl.load(up_rows + k0 + k[None, :], mask=kmask[None, :], other=0.0)
            acc_up = _accumulate(acc_up, up, x, BLOCK_M)
    y = tl.sum(acc, 1)[None, :] if BLOCK_M == 1 else tl.trans(acc)
    if GATED:  # SiLU(gate) * up from the float32 sums: gate_up's [M, 2N] output is never written
        y = y / (1.0 + tl.exp(-y)) * tl.trans(acc_up)
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
    gated: bool = False,
    parts: int = 1,
) -> torch.Tensor:
    """x [M, K] (M <= 64), w [N, K] -> [M, N] in x's dtype. With gated, w is gate_up [2N, K], M <=
    GATED_BLOCK_M, and the result silu_and_mul(x @ w^T) [M, N]. With parts > 1 (2 or more rows, not gated,
    no bias, K a multiple of parts * BLOCK_K), K is split into that many parts and the result is their
    float32 partial sums [parts, M, N], for an rms_norm to add (else [M, N] as without). config (BLOCK_N,
    BLOCK_K, num_warps, num_stages) overrides the choice by shape, for benchmarks to sweep."""
    m_rows, k_in = x.shape
    n_cols = w.shape[0] // (1 + gated)
    k_dim = w.shape[1]
    wide = n_cols >= WIDE
    block_m = 1
    row_limit = GATED_BLOCK_M if gated else GEMV_ROW_LIMIT
    if gated:
        block_m = GATED_BLOCK_M
    elif m_rows > 1:
        block_m = min(max(16, triton.next_power_of_2(m_rows)), 64 if wide else 32)
    assert m_rows <= row_limit and k_in == k_dim and x.stride(1) == 1 and w.stride(1) == 1
    assert not gated or bias is None  # a bias would land after the SiLU
    block_n, block_k, num_warps, num_stages = config or gemv_config(m_rows, wide, gated)
    m_blocks = triton.cdiv(m_rows, block_m)
    if block_m == 1 or gated or bias is not None or k_dim % (parts * block_k):
        parts = 1  # one row has programs enough; the gated SiLU and the bias apply to whole sums; whole K tiles
    y = torch.empty((m_rows, n_cols), dtype=x.dtype, device=x.device)
    if parts > 1:  # float32 sums: rms_norm adds the parts, then rounds to x's dtype
        y = torch.empty((parts, m_rows, n_cols), dtype=torch.float32, device=x.device)
    _gemv_kernel[(triton.cdiv(n_cols, block_n) * m_blocks, parts)](
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
        y.stride(-2),
        HAS_BIAS=bias is not None,
        GATED=gated,
        PARTS=parts,
        EVEN_K=k_dim % block_k == 0,
        BLOCK_M=block_m,
        BLOCK_N=block_n,
        BLOCK_K=block_k,
        **pdl.LAUNCH,
        num_warps=num_warps,
        num_stages=num_stages,
    )
    return y
