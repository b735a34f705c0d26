from __future__ import annotations

import pytest
import torch
from conftest import rel_err

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
# head dim 80: a 128-wide tile, 32 keys a tile in float32 (its K and V tiles' shared memory), 128 in float16
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
