from __future__ import annotations

import pytest
import torch

from swiftllm.kernels.kv_store import store_kv
from swiftllm.worker import backend_torch


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("kv_heads,dim", [(2, 32), (3, 48)])
def test_store_kv_writes_only_its_slots(dtype: torch.dtype, kv_heads: int, dim: int) -> None:
    blocks, page, t = 6, 16, 9
    kv = torch.randn(t, 2 * kv_heads * dim).to(dtype)
    k, v = kv[:, :kv_heads * dim].view(t, kv_heads, dim), kv[:, kv_heads * dim:].view(t, kv_heads, dim)
    slots = torch.randperm(blocks * page)[:t]
    slots[3] = -1  # a padded row of a CUDA graph: must be skipped
    k_cache, v_cache = torch.randn(blocks, kv_heads, page, dim).to(dtype), torch.randn(blocks, kv_heads, page, dim)
    v_cache = v_cache.to(dtype)
    ref_k, ref_v = k_cache.clone(), v_cache.clone()
    live = slots >= 0
    backend_torch.store_kv(k[live], v[live], ref_k, ref_v, slots[live])
    store_kv(k, v, k_cache, v_cache, slots)
    assert torch.equal(k_cache, ref_k) and torch.equal(v_cache, ref_v)
