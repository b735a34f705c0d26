"""The reference backend: every op the model needs, in plain torch, over the paged cache layout.

It is what runs on CPU and the oracle the Triton kernels are tested against. The paged cache holds,
per layer, K and V as [num_blocks, num_kv_heads, block_size, head_dim]."""

import torch

from swiftllm.worker.metadata import AttentionMetadata


def linear(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, partial: bool = False
) -> torch.Tensor:
    """x @ weight^T (+ bias). partial: the caller's next op is rms_norm, which also takes a split-K
    projection's partial sums [P, T, N]; the GPU backend returns those at 2-32 rows (o and down, from
    the GEMV), 33-256 (down) and 65-256 (o, by split_k_matmul), this one whole sums."""
    return torch.nn.functional.linear(x, weight, bias)


def rms_norm(
    x: torch.Tensor, weight: torch.Tensor, eps: float, residual: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns (norm(x + residual) * weight, x + residual): the sum is the next layer's residual."""
    if residual is not None:
        x = x + residual
    xf = x.float()
    out = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return (out * weight.float()).to(x.dtype), x


def rotary(
    q: torch.Tensor, k: torch.Tensor, positions: torch.Tensor, cos_sin: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotate-half rotary (HF convention) of q [T, H, D], k [T, Hkv, D]; cos_sin [max_pos, D]: D/2 cos then D/2 sin."""
    cos, sin = cos_sin[positions].float()[:, None].chunk(2, -1)

    def rot(x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.float().chunk(2, -1)
        return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), -1).to(x.dtype)

    return rot(q), rot(k)


def silu_and_mul(x: torch.Tensor) -> torch.Tensor:
    gate, up = x.chunk(2, dim=-1)
    return torch.nn.functional.silu(gate.float()).to(x.dtype) * up


def mlp(
    x: torch.Tensor, gate_up: torch.Tensor, down: torch.Tensor, partial: bool = False
) -> torch.Tensor:
    """linear(silu_and_mul(linear(x, gate_up)), down, partial): the GPU backend fuses some of these."""
    return linear(silu_and_mul(linear(x, gate_up)), down)


def store_kv(
    k: torch.Tensor,
    v: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    slot_mapping: torch.Tensor,
) -> None:
    """Write k, v [T, Hkv, D] into the slots block * block_size + offset."""
    block_size = k_cache.shape[2]
    blocks = slot_mapping // block_size
    offsets = slot_mapping % block_size
    k_cache[blocks, :, offsets] = k.to(k_cache.dtype)
    v_cache[blocks, :, offsets] = v.to(v_cache.dtype)


def rotary_store_kv(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    positions: torch.Tensor,
    cos_sin: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    slot_mapping: torch.Tensor,
) -> torch.Tensor:
    """rotary on q and k, then k and v into the cache; returns the rotated q (the GPU backend fuses the two)."""
    q, k = rotary(q, k, positions, cos_sin)
    store_kv(k, v, k_cache, v_cache, slot_mapping)
    return q


def gather_context(cache: torch.Tensor, block_row: torch.Tensor, length: int) -> torch.Tensor:
    """The first `length` cached vectors of one sequence as [length, Hkv, D]."""
    _, kv_heads, block_size, head_dim = cache.shape
    # the blocks that hold them
    blocks = block_row[: (length + block_size - 1) // block_size].long()
    return cache[blocks].permute(0, 2, 1, 3).reshape(-1, kv_heads, head_dim)[:length]


def rotary_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    meta: AttentionMetadata,
    cos_sin: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    """rotary_store_kv, then attention (the GPU backend fuses them in decode steps)."""
    q = rotary_store_kv(q, k, v, meta.positions, cos_sin, k_cache, v_cache, meta.slot_mapping)
    return attention(q, k_cache, v_cache, meta, scale)


def attention(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    meta: AttentionMetadata,
    scale: float,
) -> torch.Tensor:
    """Causal attention of each sequence's new tokens over its whole cached context. q [T, H, D]."""
    out = torch.empty_like(q)
    group = q.shape[1] // k_cache.shape[1]
    start = 0
    lens = zip(meta.query_lens_host.tolist(), meta.context_lens_host.tolist(), strict=False)
    for seq, (ql, ctx) in enumerate(lens):
        k = gather_context(k_cache, meta.block_table[seq], ctx).float().repeat_interleave(group, 1)
        v = gather_context(v_cache, meta.block_table[seq], ctx).float().repeat_interleave(group, 1)
        scores = torch.einsum("qhd,khd->hqk", q[start : start + ql].float(), k) * scale
        # query j sits at position ctx - ql + j and sees keys at positions <= its own
        visible = torch.ones(ql, ctx, dtype=torch.bool, device=q.device).tril(ctx - ql)
        scores = scores.masked_fill(~visible, float("-inf"))
        out[start : start + ql] = torch.einsum("hqk,khd->qhd", scores.softmax(-1), v).to(q.dtype)
        start += ql
    return out
