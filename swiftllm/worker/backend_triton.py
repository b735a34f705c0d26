"""The GPU backend: backend_torch's ops, implemented by the Triton kernels in swiftllm/kernels."""

from collections.abc import Callable

import torch

# the ops LlamaModel calls (and GraphRunner, which ModelRunner looks for) come from the kernels as they are
# (`x as x` re-exports them) or are defined below
from swiftllm.kernels.decode_attention import NewTokens, decode_attention, decode_variants
from swiftllm.kernels.gemv import GEMV_ROW_LIMIT, WIDE, gemv, tiles_fit
from swiftllm.kernels.prefill_attention import prefill_attention
from swiftllm.kernels.rmsnorm import rms_norm as rms_norm
from swiftllm.kernels.rotary_store import rotary_store_kv as rotary_store_kv
from swiftllm.kernels.silu_mul import silu_and_mul
from swiftllm.worker.cuda_graphs import GraphRunner as GraphRunner
from swiftllm.worker.metadata import AttentionMetadata, leading_decodes

# up to this many rows our GEMV beats cuBLAS on the H100 (bench/forward.py's gemv table)
GEMV_MAX_ROWS = 32


# `linear` is for a model that routes its projections through the backend: at a few rows it streams the weights
# through our GEMV kernel, else cuBLAS. At 33-64 rows the GEMV still wins on wide matrices (gate_up: 2% at
# 40-64 rows, 2% behind at 33) and on square ones (o: 12.4-12.7 us against 14.5-14.8 at 33-48 rows, 0.8 us
# behind at 56-64), not on Llama-3-8B's qkv (20.2-20.4 against 15.8-16.6) nor on its down projection
# (36.6-38.4 against 34.2-36.6). H200, 4 layers' weights in a CUDA graph at 33-64 rows
# (bench/results/h200/device_call_b59ba19_attention.log and _linear.log). Above 64 rows cuBLAS stays: a split-K
# Triton GEMM for o and down, whose partial sums the next RMSNorm added, made the step 3.7-4.9% slower at 96-256
# rows (bench/results/h200/splitk_norm_lost_s24.diff, session 24). GPUs whose blocks may not have the tiles'
# shared memory (gemv.tiles_fit) run only the one-row GEMV.
# A partial projection (one an rms_norm reads next: the model's o and down) at 2-32 rows runs our GEMV split
# over K in SPLIT_K_PARTS parts, and returns their float32 partial sums for the norm to add: o and down have
# 4,096 columns, so whole-K programs of 64 columns fill 64 of the H200's 132 SMs. A chain of 8 Llama-3-8B
# layers' projections and norms ran 3.0-3.8% faster at 2-32 rows, 4 parts 0.5-3.6% slower than whole K
# (bench/results/h200/splitk_gemv_exp_s26.py); the decode step 1.3 / 1.5 / 1.5% faster at 2 / 8 / 32 rows
# (device_call_s26_final.log), but 4.0% slower at 64 when the split ran there too, down then on the split GEMV
# instead of cuBLAS (device_call_s26_splitk.log), so 33-64 rows keep whole sums (H200, session 26).
# Above the GEMV's rows, up to SPLIT_MATMUL_MAX_ROWS, a partial projection whose K is at least its N (down: K =
# 3.5 N; o: square) runs as one cuBLAS bmm over the K halves with float32 outputs (split_k_matmul), in place of
# cuBLAS's whole-K GEMM, which at these rows runs its own split-K and then a reduce kernel that the norm now does.
# For down the decode step was 0.2-1.1% faster at 48-256 rows, offline's mean mixed step (256 rows) 1.7-2.3% in
# three rounds of four, and the offline run's mixed steps 1.3% (16.81 -> 16.65 s) (H200, session 27:
# bench/results/h200/device_call_s27_call{1,2,3}.log, splitk_bmm_exp_s27.py). o joined it in session 34: at 160
# rows cuBLAS ran o in 19.3 us a layer against 13.2 as the bmm (its 128 x 80 tiles, by the kernel's name in
# profile_step_mixed160_s34.json: 64 tiles for 132 SMs), and the paced
# 160-token mixed step of all-at-once serving took 6.90 / 7.08 -> 6.72 / 6.82 ms, 192-224 tokens 1.1-2.5% less,
# 256 level, the decode step at 96-256 rows level. Above 256 rows the bmm lost (o 18.0 against 19.1 us at 320,
# down 57.5 against 62.0), hence the limit (bench/results/h200/split_linear_probe_s34.py, mixed_ab_s34.py,
# device_call_s34_call3.log).
SPLIT_K_PARTS = 2
SPLIT_MATMUL_MAX_ROWS = 256


def linear(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, partial: bool = False
) -> torch.Tensor:
    out_features, in_features = weight.shape
    rows = x.shape[0]
    max_rows = GEMV_MAX_ROWS
    if out_features >= WIDE or out_features == in_features:
        max_rows = GEMV_ROW_LIMIT
    if rows > 1 and not tiles_fit(x):
        max_rows = 1
    parts = SPLIT_K_PARTS if partial and 1 < rows <= GEMV_MAX_ROWS else 1
    if rows <= max_rows and x.stride(-1) == 1:
        return gemv(x, weight, bias, parts=parts)
    # a bias applies to whole sums, as in the GEMV (the model's o and down have none)
    split_k = partial and in_features >= out_features and in_features % SPLIT_K_PARTS == 0
    if split_k and bias is None and rows <= SPLIT_MATMUL_MAX_ROWS:
        return split_k_matmul(x, weight, SPLIT_K_PARTS)
    return torch.nn.functional.linear(x, weight, bias)


def split_k_matmul(x: torch.Tensor, weight: torch.Tensor, parts: int) -> torch.Tensor:
    """x [M, K] @ weight [N, K]^T as float32 partial sums [parts, M, N], part p over K's p-th slice."""
    x_parts = x.unflatten(1, (parts, -1)).transpose(0, 1)
    weight_parts = weight.unflatten(1, (parts, -1)).permute(1, 2, 0)
    if x.is_cuda:
        return torch.bmm(x_parts, weight_parts, out_dtype=torch.float32)
    return torch.bmm(x_parts.float(), weight_parts.float())  # no CPU kernel takes out_dtype


# SiLU x mul runs as its own kernel before the down projection's GEMV, at one row too. A GEMV that computed the
# SiLU as it loaded x (2% off a layer on the H100) read down's weights at 0.86 of the H200's read-only rate,
# against 0.97 for silu_and_mul and then the plain one-row GEMV (a chain of 8 Llama-3-8B down projections in a
# CUDA graph under PDL, the fused form's best of 27 tiles 0.95), and the decode step at one sequence took
# 4.142 / 4.143 -> 4.053 / 4.055 ms (H200, bench/results/h200/device_call_s28_call{2,3}.log, session 28). At
# 2-32 rows the fused form was 35-44% slower still (silu_down_gemv_lost_s24.diff, session 24).
# At GATED_ROWS the GEMV's gated form computes gate_up and SiLU x mul in one kernel, where cuBLAS (which cannot
# fuse the SiLU) ran gate_up + silu_and_mul at 128 rows in 73.5 us a layer against the fused 69.4; no gain at
# 96, a loss from 192 (H200, bench/results/h200/gated_gemm_exp_s25.py, session 25).
GATED_ROWS = range(97, 129)


def mlp(
    x: torch.Tensor, gate_up: torch.Tensor, down: torch.Tensor, partial: bool = False
) -> torch.Tensor:
    """linear(silu_and_mul(linear(x, gate_up)), down, partial)."""
    if x.shape[0] in GATED_ROWS and tiles_fit(x):
        return linear(gemv(x, gate_up, gated=True), down, partial=partial)
    return linear(silu_and_mul(linear(x, gate_up)), down, partial=partial)


# Decode-only steps (every query length 1) run paged decode attention, whose grid depends only on the batch shape
# so a captured CUDA graph replays it. In a mixed step the leading decode rows run it too: the prefill kernel would
# spend a 128-row tile on each (71 ms more over bench/latency.py's prefill phase at 256 sequences, H100).
def attention(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    meta: AttentionMetadata,
    scale: float,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Causal attention of each sequence's new tokens (already stored) over its cached context. q [T, H, D];
    out, if given, receives the result (bench/check_kernels.py passes a NaN-filled one)."""
    if meta.max_query_len == 1:  # decode-only
        return decode_attention(
            q, k_cache, v_cache, meta.block_table, meta.context_lens, scale, out=out
        )
    decodes = leading_decodes(meta.query_lens_host)
    out = torch.empty_like(q) if out is None else out
    if decodes:
        # the decode rows' view (block table, context lengths), as FixedGridAttention passes one
        decodes_view = (meta.block_table[:decodes], meta.context_lens[:decodes])
        decode_attention(q[:decodes], k_cache, v_cache, *decodes_view, scale, out=out[:decodes])
    # the chunks' view (query_start, context lengths, block table): query_start[decodes:] still indexes the
    # whole q, so the chunks' rows need no renumbering
    chunks = (meta.query_start[decodes:], meta.context_lens[decodes:], meta.block_table[decodes:])
    return prefill_attention(q, k_cache, v_cache, *chunks, meta.max_query_len, scale, out)


# A decode-only step of up to FUSED_ROTARY_MAX_ROWS rows rotates and stores its new K/V inside the decode kernel
# (session 22's fusion, f0cc659: one kernel a layer fewer; the decode step at 1 / 8 / 32 / 64 rows 4.17 / 4.75 /
# 5.60 / 6.99 ms against 4.21 / 4.79 / 5.64 / 7.06 before it, H200, one call). Above, the separate
# rotary_store_kv runs first, as in mixed steps. The 256-row decode step with this split against the fusion
# at every row count, alternated over two rounds (H200, session 53, bench/latency.py at 256 rows,
# bench/results/h200/decode_kernels_ab_s53_99c73b4/ab): device time 16.33 / 16.29 ms against 16.61 / 16.48,
# wall 15.92 / 16.26 against 16.58 / 16.36. Why is not known: by torch.profiler the fused kernel's extra 83-99 us
# a step is less than rotary_store_kv's 132-137 (decode_kernels_new*.json there). 129-255 rows were not timed
# apart; session 22 had timed the two forms level at 128-256 rows, one run each.
FUSED_ROTARY_MAX_ROWS = 128


def rotary_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    meta: AttentionMetadata,
    cos_sin: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    scale: float,
    attend: Callable[..., torch.Tensor] | None = None,
) -> torch.Tensor:
    """rotary_store_kv, then attention. A decode-only step of up to FUSED_ROTARY_MAX_ROWS rows does both in
    the decode kernel (NewTokens).
    attend, if given, runs in attention's place, never fused: FixedGridAttention's, in a mixed graph, whose
    meta poses as a decode-only step's."""
    dim = q.shape[-1]
    fusable = dim & (dim - 1) == 0 and q.shape[0] <= FUSED_ROTARY_MAX_ROWS
    if attend is None and meta.max_query_len == 1 and fusable:
        args = (q, k_cache, v_cache, meta.block_table, meta.context_lens, scale)
        return decode_attention(*args, new_tokens=NewTokens(k, v, cos_sin))
    q = rotary_store_kv(q, k, v, meta.positions, cos_sin, k_cache, v_cache, meta.slot_mapping)
    return (attend or attention)(q, k_cache, v_cache, meta, scale)


def compile_ahead(k_cache: torch.Tensor, v_cache: torch.Tensor, num_heads: int) -> None:
    """Compile each decode-kernel variant an eager step may pick, before a request can wait for it (0.6 s a
    variant on the H200). CUDA graphs compile those of their batch sizes as they are captured, but an eager
    step's split count follows its own block-table width. k_cache, v_cache: one layer's."""
    head_dim = k_cache.shape[-1]
    q = torch.zeros((1, num_heads, head_dim), dtype=k_cache.dtype, device=k_cache.device)
    table = torch.zeros((1, 1), dtype=torch.int32, device=k_cache.device)
    context_lens = torch.ones(1, dtype=torch.int32, device=k_cache.device)
    new_k = torch.zeros((1, k_cache.shape[1], head_dim), dtype=q.dtype, device=q.device)
    cos_sin = torch.zeros((1, head_dim), dtype=torch.float32, device=q.device)
    # decode-only steps rotate and store in the kernel (rotary_attention), mixed steps' decode rows do not
    new_tokens = [None]
    if head_dim & (head_dim - 1) == 0:
        new_tokens.append(NewTokens(new_k, new_k, cos_sin))
    for new in new_tokens:
        for splits, min_chunk in decode_variants():
            args = (q, k_cache, v_cache, table, context_lens, 1.0, splits)
            decode_attention(*args, min_chunk=min_chunk, new_tokens=new)
