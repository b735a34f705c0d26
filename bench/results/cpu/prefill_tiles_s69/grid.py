"""Session 69: the prefill kernel's shared memory by keys a tile, compiled for a GPU on a machine without one (the
fake driver of ../ptx_ieee_s68/compile_all.py, every launch a warmup). For bf16 and float32, head dims 64, 128
and 256, 16-128 keys a tile, 2 and 3 stages: one line each, "ARCH dtype head_dim keys stages shared_bytes".

    ARCH=90 .venv/bin/python bench/results/cpu/prefill_tiles_s69/grid.py TREE > g90.txt

prefill_attention's rule (halve 128 keys while (ROWS + 4 x keys) x BLOCK_D elements exceed the block's shared
memory) is read off these: bf16 at head dim 128 takes 164,864 B at 128 keys and 98,560 at 64."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ptx_ieee_s68"))

# the fake driver and compile-only launch of session 68's script (which puts TREE, argv[1], first on sys.path)
import compile_all  # noqa: E402
import torch  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.runtime import driver, jit  # noqa: E402

from swiftllm.kernels.prefill_attention import prefill_attention  # noqa: E402

ARCH = int(os.environ.get("ARCH", "90"))


class ArchDriver(compile_all.FakeDriver):
    def get_current_target(self) -> GPUTarget:
        return GPUTarget("cuda", ARCH, 32)


def main() -> None:
    driver.set_active(ArchDriver())
    jit.JITFunction.run = compile_all.compile_only
    for dtype in (torch.bfloat16, torch.float32):
        for heads, kv, dim in ((8, 8, 64), (32, 8, 128), (16, 4, 256)):
            for keys in (16, 32, 64, 128):
                for stages in (2, 3):
                    compile_all.KERNELS.clear()
                    q, kc, vc, meta = compile_all.paged(
                        [300, 1, 33], [1000, 17, 97], heads, kv, dim, dtype
                    )
                    args = (
                        meta.query_start,
                        meta.context_lens,
                        meta.block_table,
                        meta.max_query_len,
                    )
                    prefill_attention(
                        q, kc, vc, *args, dim**-0.5, torch.empty_like(q), keys, stages
                    )
                    shared = next(iter(compile_all.KERNELS.values())).split("shared=")[1]
                    print(ARCH, str(dtype)[6:], dim, keys, stages, shared, flush=True)


if __name__ == "__main__":
    main()
