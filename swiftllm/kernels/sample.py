"""The sampler's two kernels: a draw from softmax(logits / temperature) (inverse_cdf_sample) and greedy tokens
(greedy_tokens, below).

inverse_cdf_sample inverts each row's cumulative distribution at one uniform per row. Grid: (rows,). A program
reads its row's V logits twice: for the normaliser, then for the running sum, stopping at the first token whose
cumulative mass passes u * normaliser (sampler.draw's rule, without truncation)."""
# torch needs about eight passes over float32 copies of the logits for the same draw (divide, softmax, cumsum,
# search): 0.8 ms of a 256-sequence decode step on the H100. Chunks of 8192 with 16 warps: 29 us at 1-64 rows, 57 at
# 256 (4096 with 8 warps: 33 and 67).

import torch
import triton
import triton.language as tl


@triton.jit
def _scaled_logits(base, index, vocab, scale):
    """logits / temperature as float32, +inf (finite penalties can overflow a logit) clamped to the largest
    float as sampler.draw's nan_to_num_ does: +inf tokens then take the mass (an inf made the sums NaN and the
    draw token 0). Lanes past the vocabulary read -inf, which stays (no mass)."""
    x = tl.load(base + index, mask=index < vocab, other=float("-inf")).to(tl.float32) * scale
    return tl.minimum(x, 3.4028234663852886e38)


@triton.jit
def _inverse_cdf_kernel(
    logits_ptr, rows_ptr, temp_ptr, u_ptr, out_ptr, vocab, stride, BLOCK: tl.constexpr
):
    i = tl.program_id(0)
    base = logits_ptr + tl.load(rows_ptr + i).to(tl.int64) * stride
    scale = 1.0 / tl.load(temp_ptr + i)
    v = tl.arange(0, BLOCK)
    # per-lane running max and sum, merged once at the end (a finite start keeps exp(m - m_new) defined)
    m = tl.full([BLOCK], -3.0e38, tl.float32)
    s = tl.zeros([BLOCK], tl.float32)
    for v0 in range(0, vocab, BLOCK):
        x = _scaled_logits(base, v0 + v, vocab, scale)
        m_new = tl.maximum(m, x)
        s = s * tl.exp(m - m_new) + tl.exp(x - m_new)
        m = m_new
    top = tl.max(m)
    target = tl.load(u_ptr + i) * tl.sum(s * tl.exp(m - top))
    # the chunk where the running mass passes target, by one sum per chunk (a scan per chunk costs more)
    below = 0.0  # mass of the chunks before this one
    start = -1  # the crossing chunk's first token
    start_below = 0.0  # mass before it
    last_start = 0  # the last chunk with any mass, and the mass before it
    last_below = 0.0
    for v0 in range(0, vocab, BLOCK):
        x = _scaled_logits(base, v0 + v, vocab, scale)
        mass = tl.sum(tl.exp(x - top))
        crossing = (below <= target) & (below + mass > target)
        start = tl.where(crossing, v0, start)
        start_below = tl.where(crossing, below, start_below)
        last_start = tl.where(mass > 0, v0, last_start)
        last_below = tl.where(mass > 0, below, last_below)
        below += mass
    # then the first token in it whose cumulative mass passes target. Rounding can leave no such token (the
    # chunks' sums fall short of the normaliser by ~1e-6 of it, so u within that of 1, and u rounded to float32
    # 1.0): u * total past the last sum takes the last chunk with mass, and a chunk passed by no token its last
    # token with mass, as sampler.draw does. The vocabulary's or the chunk's last token, as before, drew tokens
    # of probability 0 (on the CPU, u in [1 - 4e-6, 1) at V = 49,152: a few draws in a million)
    start_below = tl.where(start < 0, last_below, start_below)
    start = tl.where(start < 0, last_start, start)
    p = tl.exp(_scaled_logits(base, start + v, vocab, scale) - top)
    passed = (start_below + tl.cumsum(p, 0) > target) & (start + v < vocab)
    last = tl.max(tl.where(p > 0, start + v, start))
    tl.store(out_ptr + i, tl.minimum(tl.min(tl.where(passed, start + v, vocab)), last))


def inverse_cdf_sample(
    logits: torch.Tensor, rows: torch.Tensor, temperature: torch.Tensor, u: torch.Tensor
) -> torch.Tensor:
    """Token ids [R] int64 drawn for logits[rows] [R, V] at temperature [R], uniforms u [R] in [0, 1)."""
    out = torch.empty(len(rows), dtype=torch.int64, device=logits.device)
    # no rows: an empty grid launches nothing
    _inverse_cdf_kernel[(len(rows),)](
        logits,
        rows,
        temperature.float(),
        u.float(),
        out,
        logits.shape[1],
        logits.stride(0),
        BLOCK=8192,
        num_warps=16,
    )
    return out


# Greedy tokens (argmax per row) in two stages. torch's argmax gives each row one block, which reads the row's
# 256 KB (V = 128,256, bf16) alone: 37 us a decode step on the H200 whatever the batch. Stage 1 is a grid of
# (rows, chunks) programs, each reducing one chunk to its (max, lowest index) in a partial buffer [rows, chunks];
# stage 2 is torch's argmax over the few partials of a row (a NaN partial first, else the lowest chunk among equal
# maxima): chunks are in vocabulary order, so the chosen chunk's index is the row's lowest. A Triton stage 2
# would save one small launch for about ten more lines. The decode step, before and after in one call: 4.33 ->
# 4.30 / 4.29 ms at one sequence, 5.00 -> 4.97 / 4.98 at 8 (H200, device_call_fd36a69_decode_sweep.log).


@triton.jit
def _chunk_max_kernel(logits_ptr, top_ptr, first_ptr, vocab, stride0, stride1, CHUNK: tl.constexpr):
    index = tl.program_id(1) * CHUNK + tl.arange(0, CHUNK)
    row_start = logits_ptr + tl.program_id(0).to(tl.int64) * stride0
    # float32 holds fp16/bf16/fp32 values exactly (no new ties); lanes past the vocabulary read -inf, and as
    # their index is past every real one they never win, even in an all -inf chunk
    x = tl.load(row_start + index * stride1, mask=index < vocab, other=float("-inf")).to(tl.float32)
    # torch.argmax counts NaN as the max: a chunk with a NaN reports (NaN, its first NaN's index)
    first_nan = tl.min(tl.where(x != x, index, vocab), 0)  # vocab: no NaN
    top = tl.max(tl.where(x != x, float("-inf"), x), 0)
    first_top = tl.min(tl.where(x == top, index, vocab), 0)
    slot = tl.program_id(0) * tl.num_programs(1) + tl.program_id(1)
    tl.store(top_ptr + slot, tl.where(first_nan < vocab, float("nan"), top))
    tl.store(first_ptr + slot, tl.where(first_nan < vocab, first_nan, first_top))


def greedy_tokens(logits: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """torch.argmax(logits, -1) as int64 [R] for fp16/bf16/fp32 logits [R, V] (any strides), with its contract:
    the lowest index among equal maxima; a row holding a NaN gives its first NaN's index. chunk (a power of 2)
    is the vocabulary span of one stage-1 program (4 warps): 4096 gives 32 programs a row at V = 128,256."""
    rows, vocab = logits.shape
    chunks = triton.cdiv(vocab, chunk)
    tops = torch.empty(rows, chunks, dtype=torch.float32, device=logits.device)
    firsts = torch.empty(rows, chunks, dtype=torch.int64, device=logits.device)
    # no rows: an empty grid launches nothing
    _chunk_max_kernel[(rows, chunks)](logits, tops, firsts, vocab, *logits.stride(), CHUNK=chunk)
    return firsts.gather(1, tops.argmax(-1, keepdim=True)).squeeze(1)
