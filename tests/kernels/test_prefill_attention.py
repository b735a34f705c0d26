from __future__ import annotations

import pytest
import torch
from conftest import rel_err

from swiftllm.kernels import prefill_attention as prefill_module
from swiftllm.kernels.prefill_attention import prefill_attention
from swiftllm.worker import backend_torch

from .paged import paged_case, tolerance

# (query lens, context lens): a fresh prompt, a chunk over a cached prefix, decode rows mixed with chunks,
# lengths off block boundaries, a chunk longer than one tile of rows
CASES = [
    ([7], [7]),
    ([20, 1, 5, 1], [52, 9, 5, 70]),
    ([70, 3], [70, 130]),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("heads,kv_heads,dim", [(2, 2, 32), (6, 2, 64), (3, 1, 48), (2, 1, 80)])
@pytest.mark.parametrize("case", CASES)
def test_prefill_matches_reference(
    dtype: torch.dtype, heads: int, kv_heads: int, dim: int, case: tuple[list[int], list[int]]
) -> None:
    q, kc, vc, meta = paged_case(*case, heads, kv_heads, dim, dtype)
    ref = backend_torch.attention(q.float(), kc.float(), vc.float(), meta, dim**-0.5)
    out = prefill_attention(
        q,
        kc,
        vc,
        meta.query_start,
        meta.context_lens,
        meta.block_table,
        meta.max_query_len,
        dim**-0.5,
    )
    assert out.shape == q.shape and out.dtype == dtype
    assert rel_err(out, ref) < tolerance(dtype)


class RecordedKernel:
    """_prefill_kernel, recording the keys a tile each launch asks for."""

    def __init__(self) -> None:
        self.block_n: list[int] = []
        self.kernel = prefill_module._prefill_kernel

    def __getitem__(self, grid: tuple) -> object:
        def launch(*args: object, **kwargs: object) -> None:
            self.block_n.append(kwargs["BLOCK_N"])
            self.kernel[grid](*args, **kwargs)

        return launch


# (block shared memory, dtype, head dim, keys a tile). Hopper: 232,448 B; compute capability 8.6 / 8.9 / 12.0:
# 101,376. Compiled for sm_90 (bench/results/cpu/prefill_tiles_s69/) float32 at head dim 128 takes 262,656 B at
# 128 keys, 164,608 at 64 and 90,688 at 16; at head dim 64, 164,864 at 128 keys and 98,560 at 64 (sm_89 alike).
@pytest.mark.parametrize(
    "limit,dtype,dim,keys",
    [
        (232_448, torch.float16, 128, 128),
        (232_448, torch.float32, 128, 64),
        (232_448, torch.float32, 64, 128),
        (232_448, torch.float16, 256, 32),
        (101_376, torch.float16, 128, 64),
        (101_376, torch.float16, 64, 128),
        (101_376, torch.float32, 128, 16),
        (101_376, torch.float32, 64, 64),
        (float("inf"), torch.float32, 128, 128),
    ],
)
def test_prefill_tiles_fit_the_shared_memory_a_block_may_have(
    monkeypatch: pytest.MonkeyPatch, limit: float, dtype: torch.dtype, dim: int, keys: int
) -> None:
    recorded = RecordedKernel()
    monkeypatch.setattr(prefill_module, "_prefill_kernel", recorded)
    monkeypatch.setattr(prefill_module, "block_shared_memory", lambda device: limit)
    q, kc, vc, meta = paged_case([20, 1], [52, 40], 4, 2, dim, dtype)
    ref = backend_torch.attention(q.double(), kc.double(), vc.double(), meta, dim**-0.5)
    out = prefill_attention(
        q, kc, vc, meta.query_start, meta.context_lens, meta.block_table, meta.max_query_len,
        dim**-0.5,
    )  # fmt: skip
    assert recorded.block_n == [keys]
    assert rel_err(out, ref) < tolerance(dtype)


def test_prefill_of_no_tokens_launches_nothing() -> None:
    q, kc, vc, meta = paged_case([3], [3], 2, 1, 32, torch.float32)
    empty = q[:0]
    out = prefill_attention(
        empty, kc, vc, meta.query_start[:1], meta.context_lens[:0], meta.block_table[:0], 0, 0.1
    )
    assert out.shape == (0, 2, 32)
