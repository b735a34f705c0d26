"""RMSNorm fused with the residual add: one read of x (and residual), one write of out (and the new residual).
x may also be a split-K projection's float32 partial sums [P, T, N] (gemv's parts, or
backend_triton.split_k_matmul's): the kernel adds them as it loads them, so the projection needs no reduce
kernel.

Grid: (T,) one program per token row; the whole hidden vector fits one block (hidden <= 16384)."""

import torch
import triton
import triton.language as tl

from swiftllm.kernels import pdl


@triton.jit
def _rms_norm_kernel(
    x_ptr,
    res_ptr,
    w_ptr,
    out_ptr,
    res_out_ptr,
    n_cols,
    x_stride,
    part_stride,
    res_stride,
    eps,
    PARTS: tl.constexpr,
    HAS_RESIDUAL: tl.constexpr,
    BLOCK: tl.constexpr,
    PDL: tl.constexpr,
):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    # no kernel writes the weight: it loads before the wait, beside the predecessor's tail (under the wait it
    # loaded only after the residual's store, which the compiler may not reorder it above: one memory round
    # trip more a norm)
    w = tl.load(w_ptr + cols, mask=mask, other=0.0).to(tl.float32)
    if PDL:
        pdl.gdc()
    x = tl.load(x_ptr + row * x_stride + cols, mask=mask, other=0.0)
    for part in tl.static_range(1, PARTS):
        x += tl.load(x_ptr + part * part_stride + row * x_stride + cols, mask=mask, other=0.0)
    # the sum of the parts is rounded to the activation dtype, as the projection's output would be
    x = x.to(out_ptr.dtype.element_ty)
    if HAS_RESIDUAL:
        # the sum is rounded to the activation dtype before the norm, as the torch reference does
        x = x + tl.load(res_ptr + row * res_stride + cols, mask=mask, other=0.0)
        tl.store(res_out_ptr + row * n_cols + cols, x, mask=mask)
    xf = x.to(tl.float32)
    inv = tl.rsqrt(tl.sum(xf * xf, axis=0) / n_cols + eps)
    tl.store(out_ptr + row * n_cols + cols, (xf * inv * w).to(out_ptr.dtype.element_ty), mask=mask)


def rms_norm(
    x: torch.Tensor, weight: torch.Tensor, eps: float, residual: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """x, residual [T, N] (rows may be strided, columns contiguous) -> (norm(x + residual) * weight, x + residual).
    x may be float32 partial sums [P, T, N] of a projection (gemv's parts) with a residual: their sum is x."""
    parts = x.shape[0] if x.dim() == 3 else 1
    t, n = x.shape[-2:]
    assert x.stride(-1) == 1 and (residual is None or residual.stride(1) == 1)
    assert parts == 1 or residual is not None  # the parts' dtype is residual's
    dtype = x.dtype if residual is None else residual.dtype
    out = torch.empty((t, n), dtype=dtype, device=x.device)
    new_res = torch.empty_like(out) if residual is not None else x
    # no rows (a step that samples none): an empty grid launches nothing
    block = triton.next_power_of_2(n)
    _rms_norm_kernel[(t,)](
        x,
        residual if residual is not None else x,
        weight,
        out,
        new_res,
        n,
        x.stride(-2),
        x.stride(0),
        residual.stride(0) if residual is not None else 0,
        eps,
        PARTS=parts,
        HAS_RESIDUAL=residual is not None,
        BLOCK=block,
        **pdl.LAUNCH,
        num_warps=min(max(block // 512, 1), 16),
    )
    return out, new_res
