"""Random paged-cache cases shared by the attention and KV-store kernel tests."""

from __future__ import annotations

import numpy as np
import torch

from swiftllm.worker.metadata import AttentionMetadata


def paged_case(
    query_lens: list[int],
    context_lens: list[int],
    heads: int,
    kv_heads: int,
    dim: int,
    dtype: torch.dtype,
    page: int = 16,
    seed: int = 0,
) -> tuple:
    """(q, k_cache, v_cache, meta): random caches, each sequence on a random scatter of blocks."""
    gen = np.random.default_rng(seed)
    need = [-(-c // page) for c in context_lens]
    n_blocks = sum(need) + 3
    perm = gen.permutation(n_blocks)
    width = max(need) + 1
    table = np.zeros((len(need), width), dtype=np.int32)
    used = 0
    for i, n in enumerate(need):
        table[i, :n] = perm[used : used + n]
        used += n
    k_cache = torch.randn(n_blocks, kv_heads, page, dim).to(dtype)
    v_cache = torch.randn(n_blocks, kv_heads, page, dim).to(dtype)
    meta = AttentionMetadata.build(
        np.array(query_lens, dtype=np.int32),
        np.array(context_lens, dtype=np.int32),
        table,
        page,
        torch.device("cpu"),
    )
    q = torch.randn(sum(query_lens), heads, dim).to(dtype)
    return q, k_cache, v_cache, meta


def tolerance(dtype: torch.dtype) -> float:
    return 1e-5 if dtype == torch.float32 else 5e-3
