"""Session 69: does a no-token call of prefill_attention (which since session 69 launches its empty grid rather than
return early) compile a kernel of its own? Compiled for sm_90 on a CPU (the fake driver and counted compiles of
../ptx_ieee_s68/empty_grid.py): 5 tokens over two sequences, then none, then 7; prints the compiles after each.

    .venv/bin/python bench/results/cpu/prefill_tiles_s69/empty_prefill.py $PWD

Result at session 69's tree, Triton 3.6.0: 1 compile after 5 tokens, still 1 after none and after 7 (a grid of 0
programs is skipped by the launcher and the call specialises as one with tokens)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ptx_ieee_s68"))

import empty_grid  # noqa: E402 - puts TREE (argv[1]) first on sys.path; its fake driver and counted compiles
import torch  # noqa: E402
from compile_all import FakeDriver, paged  # noqa: E402
from triton.runtime import driver, jit  # noqa: E402

from swiftllm.kernels.prefill_attention import prefill_attention  # noqa: E402


def main() -> None:
    driver.set_active(FakeDriver())
    jit.JITFunction._do_compile = empty_grid.counted_compile
    jit.JITFunction.run = empty_grid.compile_only
    for query_lens in ([3, 2], [0, 0], [4, 3]):
        q, kc, vc, meta = paged(query_lens, [40, 50], 32, 8, 128, torch.bfloat16)
        args = (meta.query_start, meta.context_lens, meta.block_table, meta.max_query_len)
        prefill_attention(q, kc, vc, *args, 128**-0.5, torch.empty_like(q))
        print(f"{sum(query_lens)} tokens: {len(empty_grid.COMPILES)} compiles so far")
    print("\n".join(empty_grid.COMPILES))


if __name__ == "__main__":
    main()
