"""RMSNorm: one read of x, one write of out. (The residual add before it is the previous linear's epilogue.)

Grid: (T,) one program per token row; the whole hidden vector fits one block (hidden <= 16384)."""

import torch
import triton
import triton.language as tl

from swiftllm.kernels import pdl


@triton.jit
def _rms_norm_kernel(
    x_ptr,
    w_ptr,
    out_ptr,
    n_cols,
    x_stride,
    eps,
    BLOCK: tl.constexpr,
    PDL: tl.constexpr,
):
    if PDL:
        pdl.gdc()
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    xf = tl.load(x_ptr + row * x_stride + cols, mask=mask, other=0.0).to(tl.float32)
    inv = tl.rsqrt(tl.sum(xf * xf, axis=0) / n_cols + eps)
    w = tl.load(w_ptr + cols, mask=mask, other=0.0).to(tl.float32)
    tl.store(out_ptr + row * n_cols + cols, (xf * inv * w).to(out_ptr.dtype.element_ty), mask=mask)


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """x [T, N] (rows may be strided, columns contiguous) -> norm(x) * weight."""
    t, n = x.shape
    assert x.stride(1) == 1
    out = torch.empty((t, n), dtype=x.dtype, device=x.device)
    if t:
        block = triton.next_power_of_2(n)
        _rms_norm_kernel[(t,)](
            x,
            weight,
            out,
            n,
            x.stride(0),
            eps,
            BLOCK=block,
            PDL=pdl.ENABLED,
            num_warps=min(max(block // 512, 1), 16),
            launch_pdl=pdl.ENABLED,
        )
    return out
