"""Rotary position embedding (rotate-half convention), applied in place to q and k.

q [T, H, D] and k [T, Hkv, D] may be strided views into the fused QKV projection (the head dim contiguous):
rotating in place saves a copy of each. cos_sin [max_pos, D] float32 holds cos of the D/2 frequencies then their
sin. Grid: (T,) one program per token, all its q and k heads at once, so the cos/sin row is read once per token.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def _rotate(ptr, tok, stride_t, stride_h, n_heads, cos, sin, HALF: tl.constexpr, BLOCK_H: tl.constexpr,
            BLOCK_HALF: tl.constexpr):
    h = tl.arange(0, BLOCK_H)[:, None]
    d = tl.arange(0, BLOCK_HALF)[None, :]
    mask = (h < n_heads) & (d < HALF)
    p1 = ptr + tok * stride_t + h * stride_h + d
    x1 = tl.load(p1, mask=mask, other=0.0).to(tl.float32)
    x2 = tl.load(p1 + HALF, mask=mask, other=0.0).to(tl.float32)
    tl.store(p1, (x1 * cos - x2 * sin).to(ptr.dtype.element_ty), mask=mask)
    tl.store(p1 + HALF, (x2 * cos + x1 * sin).to(ptr.dtype.element_ty), mask=mask)


@triton.jit
def _rotary_kernel(q_ptr, k_ptr, pos_ptr, cs_ptr, q_stride_t, q_stride_h, k_stride_t, k_stride_h, n_q, n_k,
                   HALF: tl.constexpr, BLOCK_HQ: tl.constexpr, BLOCK_HK: tl.constexpr, BLOCK_HALF: tl.constexpr):
    tok = tl.program_id(0).to(tl.int64)
    pos = tl.load(pos_ptr + tok)
    d = tl.arange(0, BLOCK_HALF)[None, :]
    cos = tl.load(cs_ptr + pos * (2 * HALF) + d, mask=d < HALF, other=0.0)
    sin = tl.load(cs_ptr + pos * (2 * HALF) + HALF + d, mask=d < HALF, other=0.0)
    _rotate(q_ptr, tok, q_stride_t, q_stride_h, n_q, cos, sin, HALF, BLOCK_HQ, BLOCK_HALF)
    _rotate(k_ptr, tok, k_stride_t, k_stride_h, n_k, cos, sin, HALF, BLOCK_HK, BLOCK_HALF)


def rotary(q: torch.Tensor, k: torch.Tensor, positions: torch.Tensor,
           cos_sin: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotates q and k in place and returns them. Any even head dim (blocks are padded and masked)."""
    t, n_q, dim = q.shape
    assert q.stride(2) == 1 and k.stride(2) == 1 and dim % 2 == 0 and cos_sin.is_contiguous()
    assert cos_sin.shape[1] == dim
    if t:
        half = dim // 2
        _rotary_kernel[(t,)](q, k, positions, cos_sin, *q.stride()[:2], *k.stride()[:2], n_q, k.shape[1], HALF=half,
                             BLOCK_HQ=triton.next_power_of_2(n_q), BLOCK_HK=triton.next_power_of_2(k.shape[1]),
                             BLOCK_HALF=triton.next_power_of_2(half), num_warps=4)
    return q, k
