"""Paged decode attention: one query token per sequence over its cached context, any head dim (padded, masked).

v1 (splits == 1): grid (Hkv, S, 1), one program per (KV head, sequence) over the whole context.
v2 (splits > 1, Flash-Decoding): grid (Hkv, S, splits), each program over a chunk of max(ctx / splits, min_chunk)
tokens writes a partial output and its log-sum-exp; a reduce kernel, grid (S, H), merges them. A sequence that
fits one chunk is written directly. Sequences with context length 0 (padded rows of a graph) write zeros;
rows with context length -1 are left as they are (another kernel writes them)."""
# A program loads each K/V tile once for its KV head's whole query group (GQA: the G query heads of the group
# are the rows of one tl.dot, padded to at least 16), so K/V cross memory once.
# The KV head is the grid's fastest axis, so programs start row by row: the scheduler sends decode rows longest
# context first, and a long one is then never the last to start (the straggler of a step whose contexts vary).
# v1 or v2 is chosen from static shapes only (decode_params): small batches split every context to fill the
# GPU; large batches split only contexts longer than LONG_CHUNK, so that one long sequence does not become
# the straggler of a batch of short ones. The grid never depends on context lengths, which the kernels read
# on the device: splits with no work exit at once, so a captured CUDA graph replays any lengths.
# Under PDL the attention kernel only waits for its predecessor (pdl.py) and does not let its successor launch
# early: with that, decode + reduce measured 1-6 us slower at 1-16 sequences (H100), no faster at 64-256. The
# reduce does let its successor (the output projection) launch early: at one row the GEMV then loads its first
# weight tile while the reduce runs (the decode step at one sequence 5.43 -> 5.31 ms, H100; the reduce's early
# launch alone changed no batch size by more than 0.4%: bench/results/h100/device_call_s18_wfirst.log).

from typing import NamedTuple

import torch
import triton
import triton.language as tl

from swiftllm.kernels import pdl
from swiftllm.kernels.gemv import block_shared_memory
from swiftllm.kernels.rotary_store import rotate_store

# at small batch: chunks of one tile still pay (measured on H100: 7 us vs 11 at 256, B=1)
MIN_CHUNK = 64
LONG_CHUNK = 2048  # at large batch: only contexts longer than this are split
MAX_SPLITS = 64
LOG2E = 1.4426950408889634
MAX_GRID_Y = 65535  # CUDA's limit on a grid's second axis: the sequences of one call


class DecodeTiles(NamedTuple):
    """The kernel's tuning knobs (bench/decode_sweep.py --tiles): keys a tile (at head dim 128; fewer above,
    in proportion), warps, pipeline stages."""

    block_n: int
    num_warps: int
    num_stages: int


class NewTokens(NamedTuple):
    """A decode step's new K and V [S, Hkv, D] (not rotated, not yet in the cache) and the rotary table
    cos_sin [max_pos, D] (rotary_store.py's). Given these, the kernel does rotary_store_kv's work itself:
    it rotates q, and the program that owns each sequence's last position rotates k and stores k and v
    there before it reads the cache. One kernel fewer a layer (rotary_store's); a power-of-two head dim."""

    k: torch.Tensor
    v: torch.Tensor
    cos_sin: torch.Tensor


# The block table's load takes a pipeline stage of its own (K/V addresses depend on it), so at 3-4 stages Triton
# 3.6 keeps ONE shared buffer each for K and V and waits for every copy at the top of each iteration: a program
# has one tile in flight (TTGIR at sm_90; bench/results/h200/decode_stages_probe_s29.py). Loading the table one
# tile ahead into registers double-buffers K/V at 3 stages, and ran faster at 1-8 sequences (the decode step
# -0.8 / -0.9 % at 1 / 8), but its 72 KB hold an SM to 3 programs against 4, so wherever the grid then needs a
# second wave it lost: +4.0 % at 32 sequences, +1.7 % at 256 (H200, session 29: decode_attention_exp_s29.diff,
# device_call_s29_call*.log). By the same count it would lose at 1-8 sequences too once contexts are long enough
# for every split to be live (not timed), and graphs fix the split count from static shapes.
DEFAULT_TILES = DecodeTiles(64, 4, 3)
# Decode rows of a mixed step (decodes riding with prompt chunks) have contexts of every length: in
# bench/throughput.py's longest-first run, mean 448 and log-normal sigma 0.77. There 128-key tiles over 2
# stages read their K/V at 1.10 of copy bandwidth against 1.19 for the default (H200, session 15,
# bench/results/h200/exp_tiles_s15.py); at one context of 1088 the default is 3-5% faster (128 and 256
# rows), so decode-only steps keep it. Mixed CUDA graphs use them (compiled as they are captured); eager mixed
# steps, prefill-bound, keep the default, which backend_triton.compile_ahead compiles.
MIXED_TILES = DecodeTiles(128, 4, 2)
# GPUs that let a block have less than this (compute capability 8.6, 8.9, 12.0: ~100 KB) keep the default tiles
# in mixed graphs. The threshold came from an estimate of ~128 KB for two stages of 128 keys; compiled for sm_90
# they take 72 KB (one K/V buffer: see the note above DEFAULT_TILES; bench/sm90_resources.py), so they would fit
# there too, but have not been timed on such a GPU, and the default tiles are the measured choice everywhere else.
MIXED_TILES_SHARED_MEMORY = 160 * 1024


def mixed_tiles(device: torch.device) -> DecodeTiles:
    """The decode tiles of mixed graphs on this device: MIXED_TILES where a block may hold them."""
    return DEFAULT_TILES if block_shared_memory(device) < MIXED_TILES_SHARED_MEMORY else MIXED_TILES


@triton.jit
def _chunk(ctx, SPLITS: tl.constexpr, BLOCK_N: tl.constexpr, MIN_CHUNK: tl.constexpr):
    # whole tiles, at least MIN_CHUNK
    return tl.maximum(tl.cdiv(tl.cdiv(ctx, SPLITS), BLOCK_N) * BLOCK_N, MIN_CHUNK)


@triton.jit
def _tile(
    state,
    q,
    cache,
    n0,
    end,
    pos,
    d,
    qk_scale,
    D: tl.constexpr,
    BLOCK_D: tl.constexpr,
    PAGE: tl.constexpr,
    BLOCK_N: tl.constexpr,
    CAUSAL: tl.constexpr,
):
    # One tile of BLOCK_N keys from n0 through the rows' online softmax, for prefill_attention's kernel and this
    # file's. state: the rows' running softmax (acc, m, l_sum); cache: where the sequence's K/V are (k_ptr, v_ptr,
    # table_row, head_off, c_stride_b, c_stride_o). Tuples, so that the kernels' calls stay readable; they
    # compile to the same SASS as the flat arguments did (sm_90, session 37), and the decode kernel to the same
    # as its own loop did (session 42: bench/results/cpu/attention_sass_s42.py). CAUSAL: keys may reach `end`
    # (masked loads); pos, each row's position (prefill: no key after it), or None (decode: keys before `end`)
    acc, m, l_sum = state
    k_ptr, v_ptr, table_row, head_off, c_stride_b, c_stride_o = cache
    n = n0 + tl.arange(0, BLOCK_N)
    if CAUSAL:
        nmask = n < end
        block = tl.load(table_row + n // PAGE, mask=nmask, other=0).to(tl.int64)
    else:  # tiles wholly before the first query position: no mask, so loads stay wide and pipelined
        nmask = n >= 0
        block = tl.load(table_row + n // PAGE).to(tl.int64)
    off = block[:, None] * c_stride_b + head_off + (n % PAGE)[:, None] * c_stride_o + d[None, :]
    if CAUSAL or D != BLOCK_D:
        kvmask = nmask[:, None] if D == BLOCK_D else nmask[:, None] & (d[None, :] < D)
        k = tl.load(k_ptr + off, mask=kvmask, other=0.0)
        v = tl.load(v_ptr + off, mask=kvmask, other=0.0)
    else:  # unmasked, as above
        k = tl.load(k_ptr + off)
        v = tl.load(v_ptr + off)
    # log2 units: the scale carries log2(e). "ieee": float32 operands stay float32 (Triton's default
    # rounds them to TF32 on tensor cores, a 3e-4 error at --dtype float32); bf16 and fp16 ignore it
    s = tl.dot(q, tl.trans(k), input_precision="ieee") * qk_scale
    if pos is None:  # decode: every row sees the keys before `end`
        s = tl.where(nmask[None, :], s, float("-inf"))
    elif CAUSAL:
        s = tl.where(n[None, :] <= pos[:, None], s, float("-inf"))
    m_new = tl.maximum(m, tl.max(s, axis=1))
    alpha = tl.exp2(m - m_new)
    p = tl.exp2(s - m_new[:, None])
    l_sum = l_sum * alpha + tl.sum(p, axis=1)
    acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v, input_precision="ieee")
    return acc, m_new, l_sum


# values that change from step to step are not specialised on: a new value must not cost a JIT compile
@triton.jit(do_not_specialize=["table_stride"])
def _decode_kernel(
    q_ptr,
    k_ptr,
    v_ptr,
    table_ptr,
    ctx_ptr,
    out_ptr,
    part_o_ptr,
    part_lse_ptr,
    k_new_ptr,
    v_new_ptr,
    cs_ptr,
    qk_scale,
    q_stride_s,
    q_stride_h,
    n_stride_s,
    n_stride_h,
    o_stride_s,
    o_stride_h,
    table_stride,
    c_stride_b,
    c_stride_h,
    c_stride_o,
    N_KV: tl.constexpr,
    G: tl.constexpr,
    BLOCK_G: tl.constexpr,
    D: tl.constexpr,
    BLOCK_D: tl.constexpr,
    PAGE: tl.constexpr,
    BLOCK_N: tl.constexpr,
    SPLITS: tl.constexpr,
    MIN_CHUNK: tl.constexpr,
    ROTARY: tl.constexpr,
    PDL: tl.constexpr,
):
    if PDL:  # wait only, see above
        pdl.wait()
    # three axes, KV head fastest. One axis for (sequence, KV head) made the decode step at 32 sequences (two
    # splits) 6.05 against 5.73 ms, the same at 8 (H200, bench/results/h200/device_call_s17_grid3.log; cause
    # not found), so the sequences keep the second axis and its 65,535 limit (decode_attention checks it)
    kvh = tl.program_id(0)
    seq = tl.program_id(1).to(tl.int64)
    split = tl.program_id(2)
    ctx = tl.load(ctx_ptr + seq)
    if ctx < 0:
        return  # a row another kernel writes (a mixed graph's prompt tokens): left untouched
    if SPLITS == 1:
        start = 0
        end = ctx
        chunk = ctx
    else:
        chunk = _chunk(ctx, SPLITS, BLOCK_N, MIN_CHUNK)
        start = split * chunk
        if (split > 0) & (start >= ctx):
            return  # this split has no work; the reduce kernel skips it
        end = tl.minimum(start + chunk, ctx)

    g, d = tl.arange(0, BLOCK_G), tl.arange(0, BLOCK_D)
    heads = kvh * G + g
    qmask = (g[:, None] < G) & (d[None, :] < D)
    q_row = q_ptr + seq * q_stride_s + heads[:, None] * q_stride_h
    table_row = table_ptr + seq * table_stride
    head_off = kvh.to(tl.int64) * c_stride_h
    if not ROTARY:
        q = tl.load(q_row + d[None, :], mask=qmask, other=0.0)
    else:  # NewTokens: rotate-half in float32, rounded to q's dtype, as rotary_store.py
        # (two halves joined: a rotated copy of the whole q tile took 154 registers against 126 at sm_90)
        half = D // 2
        i = tl.arange(0, D // 2)
        last = tl.maximum(ctx - 1, 0)  # the new token's position (a padded row's ctx is 0)
        cos = tl.load(cs_ptr + last * D + i)
        sin = tl.load(cs_ptr + last * D + half + i)
        hmask = g[:, None] < G
        q1 = tl.load(q_row + i[None, :], mask=hmask, other=0.0).to(tl.float32)
        q2 = tl.load(q_row + half + i[None, :], mask=hmask, other=0.0).to(tl.float32)
        r1 = (q1 * cos[None, :] - q2 * sin[None, :]).to(q_ptr.dtype.element_ty)
        r2 = (q2 * cos[None, :] + q1 * sin[None, :]).to(q_ptr.dtype.element_ty)
        q = tl.reshape(tl.permute(tl.join(r1, r2), (0, 2, 1)), (BLOCK_G, BLOCK_D))
        if (end == ctx) & (ctx > 0):  # this program's chunk holds the new token: store it first
            new = seq * n_stride_s + kvh * n_stride_h + i
            block = tl.load(table_row + last // PAGE).to(tl.int64)
            slot = block * c_stride_b + head_off + (last % PAGE) * c_stride_o + i
            rotate_store(k_new_ptr + new, k_ptr + slot, i < half, cos, sin, D // 2)
            tl.store(v_ptr + slot, tl.load(v_new_ptr + new))
            tl.store(v_ptr + slot + half, tl.load(v_new_ptr + new + half))
        tl.debug_barrier()  # the block's own stores, visible to the loads below

    m = tl.full([BLOCK_G], float("-inf"), tl.float32)
    l_sum = tl.zeros([BLOCK_G], tl.float32)
    acc = tl.zeros([BLOCK_G, BLOCK_D], tl.float32)
    cache = (k_ptr, v_ptr, table_row, head_off, c_stride_b, c_stride_o)
    for n0 in range(start, end, BLOCK_N):
        acc, m, l_sum = _tile(
            (acc, m, l_sum), q, cache, n0, end, None, d, qk_scale, D, BLOCK_D, PAGE, BLOCK_N, True
        )

    safe = tl.where(l_sum > 0, l_sum, 1.0)
    o = acc / safe[:, None]
    out_ptrs = out_ptr + seq * o_stride_s + heads[:, None] * o_stride_h + d[None, :]
    # one chunk holds the whole context (always in v1, or none: padded rows): final already
    if ctx <= chunk:
        tl.store(out_ptrs, o.to(out_ptr.dtype.element_ty), mask=qmask)
    else:
        # partials are [S, H, SPLITS, BLOCK_D]
        row = (seq * G * N_KV + heads) * SPLITS + split
        tl.store(part_o_ptr + row[:, None] * BLOCK_D + d[None, :], o, mask=qmask)
        tl.store(part_lse_ptr + row, m + tl.log2(safe), mask=g < G)


@triton.jit
def _reduce_kernel(
    out_ptr,
    part_o_ptr,
    part_lse_ptr,
    ctx_ptr,
    o_stride_s,
    o_stride_h,
    n_heads,
    D: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_N: tl.constexpr,
    SPLITS: tl.constexpr,
    MIN_CHUNK: tl.constexpr,
    PDL: tl.constexpr,
):
    if PDL:  # lets the output projection launch now: at one row its first weight tile loads while this runs
        pdl.gdc()
    seq = tl.program_id(0).to(tl.int64)
    head = tl.program_id(1)
    ctx = tl.load(ctx_ptr + seq)
    chunk = _chunk(ctx, SPLITS, BLOCK_N, MIN_CHUNK)
    if ctx <= chunk:
        return  # written by the attention kernel itself
    live = tl.cdiv(ctx, chunk)
    sp = tl.arange(0, SPLITS)
    d = tl.arange(0, BLOCK_D)
    row = (seq * n_heads + head) * SPLITS + sp
    lse = tl.load(part_lse_ptr + row, mask=sp < live, other=float("-inf"))
    w = tl.where(sp < live, tl.exp2(lse - tl.max(lse, axis=0)), 0.0)
    o = tl.load(
        part_o_ptr + row[:, None] * BLOCK_D + d[None, :], mask=(sp[:, None] < live), other=0.0
    )
    den = tl.sum(w, axis=0)
    res = tl.sum(o * w[:, None], axis=0) / tl.where(den > 0, den, 1.0)
    tl.store(
        out_ptr + seq * o_stride_s + head * o_stride_h + d,
        res.to(out_ptr.dtype.element_ty),
        mask=d < D,
    )


def decode_params(
    num_seqs: int, num_kv_heads: int, capacity: int, device: torch.device
) -> tuple[int, int]:
    """(splits, min_chunk) from static shapes (capacity: the block table's width in tokens), so that a
    captured graph replays the same choice. About two programs per SM at small batch."""
    sms = 8  # the interpreter's
    if device.type == "cuda":
        sms = torch.cuda.get_device_properties(device).multi_processor_count
    # once every SM has two (sequence, KV head) pairs of its own, splitting costs more than it balances. Below
    # that two splits still win on the H200: the decode step at context 1088 took 5.22 against 5.58 ms at 24
    # sequences of 8 KV heads, 5.44 against 5.64 at 32 (bench/results/h200/device_call_ef11845.log); four splits
    # there, or two at 40-48 sequences, were 2-5% slower (device_call_ef11845_split.log)
    want = triton.cdiv(2 * sms, num_seqs * num_kv_heads)  # 1 once every SM has two pairs
    if want > 1:
        return min(triton.next_power_of_2(want), MAX_SPLITS), MIN_CHUNK
    return min(triton.next_power_of_2(triton.cdiv(capacity, LONG_CHUNK)), MAX_SPLITS), LONG_CHUNK


def decode_variants() -> list[tuple[int, int]]:
    """Every (splits, min_chunk) that decode_params can return, each a separate compile of the kernels: powers
    of two at MIN_CHUNK from 2 (small batches: fewer than two programs per SM want at least 2 per SM), and from 1
    at LONG_CHUNK (large ones, any block-table width)."""
    splits = [2**i for i in range(MAX_SPLITS.bit_length())]
    return [(split, MIN_CHUNK) for split in splits[1:]] + [(split, LONG_CHUNK) for split in splits]


def decode_attention(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    block_table: torch.Tensor,
    context_lens: torch.Tensor,
    scale: float,
    splits: int | None = None,
    out: torch.Tensor | None = None,
    min_chunk: int | None = None,
    tiles: DecodeTiles = DEFAULT_TILES,
    new_tokens: NewTokens | None = None,
) -> torch.Tensor:
    """q [S, H, D] (one token per sequence, already in the cache) -> [S, H, D]. splits, min_chunk: decode_params.
    tiles: DecodeTiles. new_tokens: q not yet rotated, and the new K/V to rotate and store (NewTokens)."""
    n_seqs, n_heads, dim = q.shape
    _, n_kv, page, _ = k_cache.shape
    group = n_heads // n_kv
    assert q.stride(2) == 1 and block_table.stride(1) == 1 and n_heads % n_kv == 0
    assert k_cache.is_contiguous() and v_cache.is_contiguous()
    out = torch.empty(q.shape, dtype=q.dtype, device=q.device) if out is None else out
    if n_seqs == 0:
        return out
    if n_seqs > MAX_GRID_Y:
        raise ValueError(
            f"decode attention takes at most {MAX_GRID_Y} sequences a call, got {n_seqs}"
        )
    if splits is None:
        splits, min_chunk = decode_params(n_seqs, n_kv, block_table.shape[1] * page, q.device)
    min_chunk = min_chunk or MIN_CHUNK
    block_d = triton.next_power_of_2(dim)
    block_n = tiles.block_n * 128 // max(block_d, 128)  # a tile's bytes as at head dim 128
    assert splits & (splits - 1) == 0, "splits must be a power of two"
    part_o = out  # unused at one split
    part_lse = out
    if splits > 1:
        part_lse = torch.empty((n_seqs, n_heads, splits), dtype=torch.float32, device=q.device)
        part_o = torch.empty((*part_lse.shape, block_d), dtype=torch.float32, device=q.device)
    new = new_tokens or NewTokens(q, q, q)  # q stands in, unread, when ROTARY is off
    if new_tokens is not None:
        assert dim == block_d and new.k.stride() == new.v.stride() and new.k.stride(2) == 1
        assert new.cos_sin.shape[1] == dim and new.cos_sin.is_contiguous()
    _decode_kernel[(n_kv, n_seqs, splits)](
        q,
        k_cache,
        v_cache,
        block_table,
        context_lens,
        out,
        part_o,
        part_lse,
        new.k,
        new.v,
        new.cos_sin,
        scale * LOG2E,
        *q.stride()[:2],
        *new.k.stride()[:2],
        *out.stride()[:2],
        block_table.stride(0),
        *k_cache.stride()[:3],
        N_KV=n_kv,
        G=group,
        BLOCK_G=max(16, triton.next_power_of_2(group)),
        D=dim,
        BLOCK_D=block_d,
        PAGE=page,
        BLOCK_N=block_n,
        SPLITS=splits,
        MIN_CHUNK=min_chunk,
        ROTARY=new_tokens is not None,
        **pdl.LAUNCH,
        num_warps=tiles.num_warps,
        num_stages=tiles.num_stages,
    )
    if splits > 1:
        _reduce_kernel[(n_seqs, n_heads)](
            out,
            part_o,
            part_lse,
            context_lens,
            *out.stride()[:2],
            n_heads,
            D=dim,
            BLOCK_D=block_d,
            BLOCK_N=block_n,
            SPLITS=splits,
            MIN_CHUNK=min_chunk,
            **pdl.LAUNCH,
        )
    return out
