"""Causal attention for query chunks of any length >= 1 over the paged cache (FlashAttention-2 style).

Grid: (cdiv(max_query_len, TOK), S, Hkv). A program owns TOK query tokens of one sequence for one KV head
and all G query heads of its group, packed as the ROWS = TOK * G rows of its tiles (row r is token r // G,
head r % G). Any head dim: tiles are padded to the next power of two and masked."""
# A sequence's query tokens sit at positions ctx - ql ... ctx - 1 and their K/V are already in the cache, so a
# chunked-prefill query attends to its cached prefix and to its own tokens through the same loop.
# Packing the group's heads as rows loads each K/V tile once for the whole group (GQA without repeated K/V),
# and a decode row in a mixed batch wastes only ROWS - G rows. Programs past their sequence's query length exit
# at once; the heaviest tiles (last in the sequence) are launched first to balance the causal triangle.
# Keys strictly before the tile's first query position need no mask: only tiles crossing the diagonal are masked.

import torch
import triton
import triton.language as tl

from swiftllm.kernels.decode_attention import LOG2E, _tile
from swiftllm.kernels.gemv import block_shared_memory


# values that change from step to step are not specialised on: a new value must not cost a JIT compile
# A mixed step passes its prefill rows' metadata as slices after the decode rows (query_start[decodes:], ...),
# 4-byte aligned only: without do_not_specialize_on_alignment each alignment was another compile (1.8 s on the
# H200) that a request waited for in serving. These pointers feed scalar and few-element loads.
@triton.jit(
    do_not_specialize=["n_tiles", "table_stride"],
    do_not_specialize_on_alignment=["table_ptr", "qstart_ptr", "ctx_ptr"],
)
def _prefill_kernel(
    q_ptr,
    k_ptr,
    v_ptr,
    table_ptr,
    qstart_ptr,
    ctx_ptr,
    out_ptr,
    qk_scale,
    n_tiles,
    q_stride_t,
    q_stride_h,
    o_stride_t,
    o_stride_h,
    table_stride,
    c_stride_b,
    c_stride_h,
    c_stride_o,
    G: tl.constexpr,
    TOK: tl.constexpr,
    ROWS: tl.constexpr,
    D: tl.constexpr,
    BLOCK_D: tl.constexpr,
    PAGE: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    tile = n_tiles - 1 - tl.program_id(0)
    seq = tl.program_id(1).to(tl.int64)
    kvh = tl.program_id(2)
    q0 = tl.load(qstart_ptr + seq)
    ql = tl.load(qstart_ptr + seq + 1) - q0
    if tile * TOK >= ql:
        return
    ctx = tl.load(ctx_ptr + seq)

    r, d = tl.arange(0, ROWS), tl.arange(0, BLOCK_D)
    tok = tile * TOK + r // G
    head = kvh * G + r % G
    rmask = (r < TOK * G) & (tok < ql)
    pos = tl.where(rmask, ctx - ql + tok, 0)  # masked rows see key 0 only: finite, never stored
    tok_row = (q0 + tok).to(tl.int64)
    qmask = rmask[:, None] & (d[None, :] < D)
    q = tl.load(
        q_ptr + tok_row[:, None] * q_stride_t + head[:, None] * q_stride_h + d[None, :],
        mask=qmask,
        other=0.0,
    )

    m = tl.full([ROWS], float("-inf"), tl.float32)
    l_sum = tl.zeros([ROWS], tl.float32)
    acc = tl.zeros([ROWS, BLOCK_D], tl.float32)
    table_row = table_ptr + seq * table_stride
    head_off = kvh.to(tl.int64) * c_stride_h
    # first query position of the tile: keys before it are visible to all rows
    first = ctx - ql + tile * TOK
    full_end = (first // BLOCK_N) * BLOCK_N
    end = tl.minimum(first + TOK, ctx)
    cache = (k_ptr, v_ptr, table_row, head_off, c_stride_b, c_stride_o)
    for n0 in range(0, full_end, BLOCK_N):
        acc, m, l_sum = _tile(
            (acc, m, l_sum), q, cache, n0, end, pos, d, qk_scale, D, BLOCK_D, PAGE, BLOCK_N, False
        )
    for n0 in range(full_end, end, BLOCK_N):
        acc, m, l_sum = _tile(
            (acc, m, l_sum), q, cache, n0, end, pos, d, qk_scale, D, BLOCK_D, PAGE, BLOCK_N, True
        )

    tl.store(
        out_ptr + tok_row[:, None] * o_stride_t + head[:, None] * o_stride_h + d[None, :],
        (acc / tl.where(l_sum > 0, l_sum, 1.0)[:, None]).to(out_ptr.dtype.element_ty),
        mask=qmask,
    )


def prefill_attention(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    query_start: torch.Tensor,
    context_lens: torch.Tensor,
    block_table: torch.Tensor,
    max_query_len: int,
    scale: float,
    out: torch.Tensor | None = None,
    block_n: int | None = None,
    num_stages: int = 3,
) -> torch.Tensor:
    """q [T, H, D] for S sequences (query_start [S+1]) -> [T, H, D]. block_n, num_stages: tuning knobs."""
    n_tok, n_heads, dim = q.shape
    _, n_kv, page, _ = k_cache.shape
    group = n_heads // n_kv
    assert q.stride(2) == 1 and block_table.stride(1) == 1 and n_heads % n_kv == 0
    assert k_cache.is_contiguous() and v_cache.is_contiguous()
    out = torch.empty((n_tok, n_heads, dim), dtype=q.dtype, device=q.device) if out is None else out
    block_d = triton.next_power_of_2(dim)
    rows = max(triton.next_power_of_2(group), 128 if block_d <= 128 else 64)
    tok = rows // group
    # Keys a tile: 128 (measured best on H100 in bf16, 3 stages; 32 above head dim 128), halved while the tiles'
    # shared memory, (ROWS + 4 x keys) x BLOCK_D elements, is more than a block on this device may have. The
    # estimate is sm_90's for bf16 / fp16 (wgmma reads the Q tile from shared memory; K and V double-buffered) and
    # sm_89's and sm_90's for float32 (FMAs), compiled on a CPU: bench/results/cpu/prefill_tiles_s69/. float32
    # takes 64 keys at head dim 128 on an H100 / H200 (257 KB at 128 would not launch), and 64 at head dim 64 or
    # 16 at 128 where a block may have ~100 KB (compute capability 8.6, 8.9, 12.0). bf16 there takes 64 keys at
    # head dim 128, though 128 would fit (99 KB compiled for sm_89, whose mma keeps Q in registers): not timed.
    if block_n is None:
        block_n = 128 if block_d <= 128 else 32
        # less 1 KB: the compiled tiles run up to 1 KB over the estimate
        limit = block_shared_memory(q.device) - 1024
        while block_n > 16 and (rows + 4 * block_n) * block_d * q.element_size() > limit:
            block_n //= 2
    n_tiles = triton.cdiv(max_query_len, tok)  # no tokens: an empty grid launches nothing
    _prefill_kernel[(n_tiles, len(context_lens), n_kv)](
        q,
        k_cache,
        v_cache,
        block_table,
        query_start,
        context_lens,
        out,
        scale * LOG2E,
        n_tiles,
        *q.stride()[:2],
        *out.stride()[:2],
        block_table.stride(0),
        *k_cache.stride()[:3],
        G=group,
        TOK=tok,
        ROWS=rows,
        D=dim,
        BLOCK_D=block_d,
        PAGE=page,
        BLOCK_N=block_n,
        num_warps=8 if rows >= 128 else 4,
        num_stages=num_stages,
    )
    return out
