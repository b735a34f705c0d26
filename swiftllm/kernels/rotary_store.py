"""Rotary embedding (rotate-half) fused with the KV-cache store: q is rotated in place; k is rotated and, with v,
written to the paged cache [num_blocks, Hkv, block_size, D] at slot s (block s // block_size, offset s % block_size).

q [T, H, D], k and v [T, Hkv, D] may be strided views into the fused QKV projection (the head dim contiguous).
cos_sin [max_pos, D] float32 holds cos of the D/2 frequencies then their sin. Grid: (T,) one program per token,
all its heads, so its cos/sin row is read once."""
# k itself is left unrotated: attention reads K only from the cache. A negative slot (a padded row of a CUDA
# graph) stores nothing, so it never touches a block a sequence owns. Rotation is in float32, rounded to the
# activation dtype, as backend_torch.rotary.

import torch
import triton
import triton.language as tl

from swiftllm.kernels import pdl


@triton.jit
def rotate_store(src, dst, mask, cos, sin, HALF: tl.constexpr):
    # rotate-half of one head vector at src into dst; decode_attention.py's fused store uses it too
    x1 = tl.load(src, mask=mask, other=0.0).to(tl.float32)
    x2 = tl.load(src + HALF, mask=mask, other=0.0).to(tl.float32)
    # rounded to the activation dtype (src's); the store casts to dst's
    tl.store(dst, (x1 * cos - x2 * sin).to(src.dtype.element_ty), mask=mask)
    tl.store(dst + HALF, (x2 * cos + x1 * sin).to(src.dtype.element_ty), mask=mask)


@triton.jit
def _rotary_store_kernel(
    q_ptr,
    k_ptr,
    v_ptr,
    pos_ptr,
    cs_ptr,
    kc_ptr,
    vc_ptr,
    slot_ptr,
    q_stride_t,
    q_stride_h,
    k_stride_t,
    k_stride_h,
    v_stride_t,
    v_stride_h,
    c_stride_b,
    c_stride_h,
    c_stride_o,
    n_q,
    n_kv,
    HALF: tl.constexpr,
    PAGE: tl.constexpr,
    BLOCK_HQ: tl.constexpr,
    BLOCK_HK: tl.constexpr,
    BLOCK_HALF: tl.constexpr,
    PDL: tl.constexpr,
):
    if PDL:
        pdl.gdc()
    tok = tl.program_id(0).to(tl.int64)
    pos = tl.load(pos_ptr + tok)
    slot = tl.load(slot_ptr + tok).to(tl.int64)
    d = tl.arange(0, BLOCK_HALF)[None, :]
    cs = cs_ptr + pos * (2 * HALF) + d
    cos = tl.load(cs, mask=d < HALF, other=0.0)
    sin = tl.load(cs + HALF, mask=d < HALF, other=0.0)
    h = tl.arange(0, BLOCK_HQ)[:, None]
    q = q_ptr + tok * q_stride_t + h * q_stride_h + d
    mask = (h < n_q) & (d < HALF)
    rotate_store(q, q, mask, cos, sin, HALF)
    h = tl.arange(0, BLOCK_HK)[:, None]
    mask = (h < n_kv) & (d < HALF) & (slot >= 0)
    dst = (slot // PAGE) * c_stride_b + h * c_stride_h + (slot % PAGE) * c_stride_o + d
    rotate_store(k_ptr + tok * k_stride_t + h * k_stride_h + d, kc_ptr + dst, mask, cos, sin, HALF)
    v = v_ptr + tok * v_stride_t + h * v_stride_h + d
    tl.store(vc_ptr + dst, tl.load(v, mask=mask), mask=mask)
    tl.store(vc_ptr + dst + HALF, tl.load(v + HALF, mask=mask), mask=mask)


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
    """Rotates q in place and returns it; stores rotated k and v. Any even head dim (tiles padded and masked)."""
    t, n_q, dim = q.shape
    n_kv = k.shape[1]
    assert q.stride(2) == 1 and k.stride(2) == 1 and v.stride(2) == 1 and dim % 2 == 0
    assert cos_sin.shape[1] == dim and cos_sin.is_contiguous()
    assert k_cache.is_contiguous() and v_cache.is_contiguous()
    # no tokens: an empty grid launches nothing
    _rotary_store_kernel[(t,)](
        q,
        k,
        v,
        positions,
        cos_sin,
        k_cache,
        v_cache,
        slot_mapping,
        *q.stride()[:2],
        *k.stride()[:2],
        *v.stride()[:2],
        *k_cache.stride()[:3],
        n_q,
        n_kv,
        HALF=dim // 2,
        PAGE=k_cache.shape[2],
        BLOCK_HQ=triton.next_power_of_2(n_q),
        BLOCK_HK=triton.next_power_of_2(n_kv),
        BLOCK_HALF=triton.next_power_of_2(dim // 2),
        **pdl.LAUNCH,
        num_warps=4,
    )
    return q
