from __future__ import annotations

import pytest
import torch
from conftest import rel_err

from swiftllm.kernels import decode_attention as da
from swiftllm.worker import backend_torch

from .paged import paged_case, tolerance

# context lengths off block boundaries, a partial first block, one spanning several chunks of v2
CONTEXTS = [1, 17, 40, 300]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("heads,kv_heads,dim", [(2, 2, 32), (6, 2, 64), (4, 1, 48)])
@pytest.mark.parametrize("splits", [1, 4])
def test_decode_matches_reference(
    dtype: torch.dtype, heads: int, kv_heads: int, dim: int, splits: int
) -> None:
    # with 4 splits, 300 tokens take 3 chunks of 128 (partials + reduce); the shorter contexts fit one chunk
    # and are written directly
    q, kc, vc, meta = paged_case([1] * len(CONTEXTS), CONTEXTS, heads, kv_heads, dim, dtype)
    ref = backend_torch.attention(q.float(), kc.float(), vc.float(), meta, dim**-0.5)
    out = da.decode_attention(
        q, kc, vc, meta.block_table, meta.context_lens, dim**-0.5, splits=splits
    )
    assert out.shape == q.shape and out.dtype == dtype
    assert rel_err(out, ref) < tolerance(dtype)


@pytest.mark.parametrize("splits", [1, 4])
def test_decode_padded_rows_write_zeros(splits: int) -> None:
    q, kc, vc, meta = paged_case([1, 1, 1], [5, 20, 33], 4, 2, 32, torch.float32)
    meta.context_lens[1] = 0  # a padded row of a CUDA graph
    out = da.decode_attention(q, kc, vc, meta.block_table, meta.context_lens, 0.2, splits=splits)
    assert torch.equal(out[1], torch.zeros_like(out[1]))
    assert not out.isnan().any()


def test_decode_params_split_small_batches_and_long_contexts() -> None:
    cpu = torch.device("cpu")
    assert da.decode_params(256, 8, 2048, cpu) == (1, da.LONG_CHUNK)  # the batch fills the GPU: v1
    # but long contexts still split
    assert da.decode_params(256, 8, 8192, cpu) == (4, da.LONG_CHUNK)
    # 6 programs for 8 SMs: still split
    assert da.decode_params(1, 6, 2048, cpu) == (4, da.MIN_CHUNK)
    # one program per SM already: no reduce
    assert da.decode_params(1, 8, 1024, cpu) == (1, da.LONG_CHUNK)
