"""SiLU(gate) * up over the fused gate_up projection: x [T, 2I] -> [T, I], one pass. Grid: (T, cdiv(I, BLOCK))."""

import torch
import triton
import triton.language as tl

from swiftllm.kernels import pdl


@triton.jit
def _silu_mul_kernel(x_ptr, out_ptr, n_cols, x_stride, BLOCK: tl.constexpr, PDL: tl.constexpr):
    if PDL:
        pdl.gdc()
    row = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < n_cols
    gate = tl.load(x_ptr + row * x_stride + cols, mask=mask, other=0.0).to(tl.float32)
    up = tl.load(x_ptr + row * x_stride + n_cols + cols, mask=mask, other=0.0)
    # SiLU in float32, rounded to the activation dtype before the product, as the reference does
    act = (gate / (1.0 + tl.exp(-gate))).to(up.dtype)
    tl.store(out_ptr + row * n_cols + cols, act * up, mask=mask)


def silu_and_mul(x: torch.Tensor) -> torch.Tensor:
    t, n2 = x.shape
    assert x.stride(1) == 1 and n2 % 2 == 0
    n = n2 // 2
    out = torch.empty((t, n), dtype=x.dtype, device=x.device)
    block = min(triton.next_power_of_2(n), 1024)
    # no rows: an empty grid launches nothing
    _silu_mul_kernel[(t, triton.cdiv(n, block))](
        x, out, n, x.stride(0), BLOCK=block, **pdl.LAUNCH, num_warps=4
    )
    return out
