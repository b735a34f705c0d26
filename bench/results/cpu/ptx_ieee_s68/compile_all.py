"""Session 68: compile the Triton kernels of the tree at argv[1] for sm_90 (H100/H200) on a machine without a
GPU: a fake driver gives the target, and every launch is a warmup (compile only, nothing runs). Writes, for each
kernel and its constexprs, a hash of its PTX without debug information (which names the source path), its
counts of mma / wgmma / fma.rn.f32 and its shared memory, as JSON to argv[2].

    .venv/bin/python bench/results/cpu/ptx_ieee_s68/compile_all.py /tmp/before68 before.json
"""

import hashlib
import json
import sys

sys.path.insert(0, sys.argv[1])

import numpy as np  # noqa: E402
import torch  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.runtime import driver, jit  # noqa: E402

from swiftllm.kernels import pdl  # noqa: E402
from swiftllm.kernels.decode_attention import decode_attention  # noqa: E402
from swiftllm.kernels.gemv import gemv  # noqa: E402
from swiftllm.kernels.prefill_attention import prefill_attention  # noqa: E402
from swiftllm.worker.metadata import AttentionMetadata  # noqa: E402

KERNELS: dict[str, str] = {}


class FakeDriver:
    """What JITFunction.run asks of the driver before it compiles: an sm_90 target, device 0."""

    def get_current_target(self) -> GPUTarget:
        return GPUTarget("cuda", 90, 32)

    def get_current_device(self) -> int:
        return 0

    def get_current_stream(self, device: int | None = None) -> int:
        return 0

    def get_active_torch_device(self) -> torch.device:
        return torch.device("cpu")


def code_of(ptx: str) -> str:
    """The PTX without its debug sections and line markers, which name the source file."""
    lines = ptx.split(".section\t.debug")[0].splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith((".file", ".loc")))


run = jit.JITFunction.run


def compile_only(
    self: jit.JITFunction, *args: object, grid: object, warmup: bool, **kwargs: object
) -> object:
    kernel = run(self, *args, grid=grid, warmup=True, **kwargs)
    code = code_of(kernel.asm["ptx"])
    constexprs = sorted((key, value) for key, value in kwargs.items() if key.isupper())
    dtypes = [str(arg.dtype) for arg in args if hasattr(arg, "dtype")]
    counts = f"mma={code.count('mma')} wgmma={code.count('wgmma')} fma={code.count('fma.rn.f32')}"
    digest = hashlib.sha256(code.encode()).hexdigest()[:16]
    KERNELS[f"{self.fn.__name__} {constexprs} {dtypes}"] = (
        f"{digest} {counts} shared={kernel.metadata.shared}"
    )
    return kernel


def paged(
    query_lens: list[int],
    context_lens: list[int],
    heads: int,
    kv: int,
    dim: int,
    dtype: torch.dtype,
):
    need = [-(-c // 16) for c in context_lens]
    table = np.zeros((len(need), max(need) + 1), np.int32)
    used = 0
    for i, n in enumerate(need):
        table[i, :n] = np.arange(used, used + n)
        used += n
    k_cache = torch.zeros(used + 2, kv, 16, dim, dtype=dtype)
    v_cache = torch.zeros_like(k_cache)
    meta = AttentionMetadata.build(
        np.array(query_lens, np.int32),
        np.array(context_lens, np.int32),
        table,
        16,
        torch.device("cpu"),
    )
    q = torch.zeros(sum(query_lens), heads, dim, dtype=dtype)
    return q, k_cache, v_cache, meta


def main() -> None:
    driver.set_active(FakeDriver())
    jit.JITFunction.run = compile_only
    pdl.LAUNCH.update(PDL=True, launch_pdl=True)  # as on an H100 / H200
    for dtype in (torch.bfloat16, torch.float16, torch.float32):
        for heads, kv, dim in ((32, 8, 128), (9, 3, 64), (64, 8, 80)):
            for batch in (1, 64, 256):
                q, kc, vc, meta = paged([1] * batch, [100] * batch, heads, kv, dim, dtype)
                for splits in (1, 4):
                    decode_attention(
                        q, kc, vc, meta.block_table, meta.context_lens, dim**-0.5, splits
                    )
            q, kc, vc, meta = paged([300, 1, 33], [1000, 17, 97], heads, kv, dim, dtype)
            out = torch.empty_like(q)
            prefill_attention(
                q, kc, vc, meta.query_start, meta.context_lens, meta.block_table, meta.max_query_len,
                dim**-0.5, out,
            )  # fmt: skip
        for rows in (1, 8, 33, 64):
            x = torch.zeros(rows, 4096, dtype=dtype)
            gemv(x, torch.zeros(6144, 4096, dtype=dtype))
            gemv(x, torch.zeros(28672, 4096, dtype=dtype), gated=True)
            gemv(x, torch.zeros(4096, 4096, dtype=dtype), parts=2)
    with open(sys.argv[2], "w") as f:
        json.dump(KERNELS, f, indent=0, sort_keys=True)
    print(len(KERNELS), "kernels compiled")


if __name__ == "__main__":
    main()
