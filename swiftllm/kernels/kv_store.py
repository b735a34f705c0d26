"""Scatter the new tokens' K and V into the paged cache [num_blocks, Hkv, block_size, D].

Slot s means block s // block_size, offset s % block_size. A negative slot is skipped (padded rows of a CUDA
graph use -1, so they never touch a block a sequence owns). Grid: (T,) one program per token, all its KV heads.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def _kv_store_kernel(k_ptr, v_ptr, kc_ptr, vc_ptr, slot_ptr, k_stride_t, k_stride_h, v_stride_t, v_stride_h,
                     c_stride_b, c_stride_h, c_stride_o, n_heads, PAGE: tl.constexpr, D: tl.constexpr,
                     BLOCK_H: tl.constexpr, BLOCK_D: tl.constexpr):
    tok = tl.program_id(0).to(tl.int64)
    slot = tl.load(slot_ptr + tok).to(tl.int64)
    if slot < 0:
        return
    h = tl.arange(0, BLOCK_H)[:, None]
    d = tl.arange(0, BLOCK_D)[None, :]
    mask = (h < n_heads) & (d < D)
    dst = (slot // PAGE) * c_stride_b + h * c_stride_h + (slot % PAGE) * c_stride_o + d
    k = tl.load(k_ptr + tok * k_stride_t + h * k_stride_h + d, mask=mask)
    v = tl.load(v_ptr + tok * v_stride_t + h * v_stride_h + d, mask=mask)
    tl.store(kc_ptr + dst, k.to(kc_ptr.dtype.element_ty), mask=mask)
    tl.store(vc_ptr + dst, v.to(vc_ptr.dtype.element_ty), mask=mask)


def store_kv(k: torch.Tensor, v: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
             slot_mapping: torch.Tensor) -> None:
    """k, v [T, Hkv, D] (strided rows allowed, D contiguous) into k_cache, v_cache [N, Hkv, B, D]."""
    t, n_heads, dim = k.shape
    assert k.stride(2) == 1 and v.stride(2) == 1 and k_cache.is_contiguous() and v_cache.is_contiguous()
    if t:
        _kv_store_kernel[(t,)](k, v, k_cache, v_cache, slot_mapping, *k.stride()[:2], *v.stride()[:2],
                               *k_cache.stride()[:3], n_heads, PAGE=k_cache.shape[2], D=dim, num_warps=4,
                               BLOCK_H=triton.next_power_of_2(n_heads), BLOCK_D=triton.next_power_of_2(dim))
