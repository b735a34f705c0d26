from __future__ import annotations

import pytest
import torch
from conftest import rel_err

from swiftllm.kernels.rotary_store import rotary_store_kv
from swiftllm.worker import backend_torch

from .paged import tolerance


def cos_sin(max_pos: int, dim: int) -> torch.Tensor:
    inv = 1.0 / (10000 ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    freqs = torch.outer(torch.arange(max_pos, dtype=torch.float64), inv)
    return torch.cat((freqs.cos(), freqs.sin()), -1).float()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("heads,kv_heads,dim", [(4, 4, 64), (8, 2, 64), (4, 1, 48), (2, 2, 24)])
def test_rotary_store_matches_rotary_then_store(
    dtype: torch.dtype, heads: int, kv_heads: int, dim: int
) -> None:
    t, blocks, page = 9, 6, 16
    qkv = torch.randn(t, (heads + 2 * kv_heads) * dim).to(dtype)
    q = qkv[:, : heads * dim].view(t, heads, dim)  # strided views, as the model passes them
    k = qkv[:, heads * dim : (heads + kv_heads) * dim].view(t, kv_heads, dim)
    v = qkv[:, (heads + kv_heads) * dim :].view(t, kv_heads, dim)
    kv_before = qkv[:, heads * dim :].clone()
    positions = torch.tensor([0, 1, 5, 17, 100, 250, 3, 16, 2])
    slots = torch.randperm(blocks * page)[:t]  # scattered over blocks, most of them partly filled
    slots[3] = -1  # a padded row of a CUDA graph: stores nothing
    cs = cos_sin(256, dim)
    k_cache, v_cache = torch.randn(2, blocks, kv_heads, page, dim).to(dtype)
    ref_k, ref_v = k_cache.clone(), v_cache.clone()
    ref_q, rot_k = backend_torch.rotary(q.clone(), k.clone(), positions, cs)
    live = slots >= 0
    backend_torch.store_kv(rot_k[live], v[live], ref_k, ref_v, slots[live])

    out = rotary_store_kv(q, k, v, positions, cs, k_cache, v_cache, slots)
    assert out.data_ptr() == q.data_ptr()
    assert rel_err(out, ref_q) < tolerance(dtype)
    written = torch.zeros(blocks, page, dtype=torch.bool)
    written.view(-1)[slots[live]] = True
    # [blocks, Hkv, page], like the caches less D
    rows = written[:, None, :].expand(-1, kv_heads, -1)
    assert rel_err(k_cache[rows], ref_k[rows]) < tolerance(dtype)
    # no other slot touched, the padded row's included
    assert torch.equal(k_cache[~rows], ref_k[~rows])
    assert torch.equal(v_cache, ref_v)  # v is copied exactly
    # k is rotated only on its way into the cache
    assert torch.equal(qkv[:, heads * dim :], kv_before)


def test_rotary_store_of_no_tokens_launches_nothing() -> None:
    q, k = torch.randn(0, 4, 64), torch.randn(0, 2, 64)
    k_cache, v_cache = torch.randn(2, 3, 2, 16, 64)
    before = k_cache.clone()
    out = rotary_store_kv(
        q,
        k,
        k,
        torch.zeros(0, dtype=torch.long),
        cos_sin(8, 64),
        k_cache,
        v_cache,
        torch.zeros(0, dtype=torch.long),
    )
    assert out.shape == (0, 4, 64) and torch.equal(k_cache, before)
