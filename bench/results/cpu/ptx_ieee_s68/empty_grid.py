"""Session 68: does a zero-row call of rms_norm, silu_and_mul or rotary_store_kv (which now launch their empty grid
rather than skip it: Triton's launcher skips a grid of 0) compile a kernel of its own? It would, mid-serving, if
its arguments specialised differently from a call with rows. Compiled for sm_90 on a CPU machine (a fake driver,
every launch a warmup): rows 5, then 0, then 7; prints the compiles after each.

    .venv/bin/python bench/results/cpu/ptx_ieee_s68/empty_grid.py .

Result at fd1a48c, Triton 3.6.0: 4 compiles after 5 rows (rms_norm with and without a residual, silu_and_mul,
rotary_store_kv), still 4 after 0 and after 7 rows: a zero-row call reuses the kernels of calls with rows (an
empty tensor's data pointer, 0, is as aligned as any)."""

import sys

sys.path.insert(0, sys.argv[1])

import torch  # noqa: E402
from compile_all import FakeDriver  # noqa: E402 - the same fake sm_90 driver, beside this file
from triton.runtime import driver, jit  # noqa: E402

from swiftllm.kernels import pdl  # noqa: E402
from swiftllm.kernels.rmsnorm import rms_norm  # noqa: E402
from swiftllm.kernels.rotary_store import rotary_store_kv  # noqa: E402
from swiftllm.kernels.silu_mul import silu_and_mul  # noqa: E402

COMPILES: list[str] = []


do_compile = jit.JITFunction._do_compile
run = jit.JITFunction.run


def counted_compile(self: jit.JITFunction, key: object, *args: object, **kwargs: object) -> object:
    COMPILES.append(f"{self.fn.__name__} {str(key)[:100]}")
    return do_compile(self, key, *args, **kwargs)


def compile_only(
    self: jit.JITFunction, *args: object, grid: object, warmup: bool, **kwargs: object
) -> object:
    return run(self, *args, grid=grid, warmup=True, **kwargs)


def main() -> None:
    driver.set_active(FakeDriver())
    jit.JITFunction._do_compile = counted_compile
    jit.JITFunction.run = compile_only
    pdl.LAUNCH.update(PDL=True, launch_pdl=True)  # as on an H100 / H200
    dtype = torch.bfloat16
    heads, kv, dim, hidden = 32, 8, 128, 4096
    for rows in (5, 0, 7):
        x = torch.zeros(rows, hidden, dtype=dtype)
        weight = torch.zeros(hidden, dtype=dtype)
        rms_norm(x, weight, 1e-5)
        rms_norm(x, weight, 1e-5, torch.zeros(rows, hidden, dtype=dtype))
        silu_and_mul(torch.zeros(rows, 2 * 14336, dtype=dtype))
        qkv = torch.zeros(rows, (heads + 2 * kv) * dim, dtype=dtype)
        q = qkv[:, : heads * dim].view(rows, heads, dim)
        k = qkv[:, heads * dim : (heads + kv) * dim].view(rows, kv, dim)
        v = qkv[:, (heads + kv) * dim :].view(rows, kv, dim)
        k_cache = torch.zeros(10, kv, 16, dim, dtype=dtype)
        v_cache = torch.zeros_like(k_cache)
        positions = torch.zeros(rows, dtype=torch.int32)
        cos_sin = torch.zeros(100, dim, dtype=torch.float32)
        slots = torch.zeros(rows, dtype=torch.int64)
        rotary_store_kv(q, k, v, positions, cos_sin, k_cache, v_cache, slots)
        print(f"{rows} rows: {len(COMPILES)} compiles so far")
    print("\n".join(COMPILES))


if __name__ == "__main__":
    main()
