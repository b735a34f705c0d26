from __future__ import annotations

import pytest
import torch
from conftest import rel_err

from swiftllm.kernels.rotary import rotary
from swiftllm.worker import backend_torch

from .paged import tolerance


def cos_sin(max_pos: int, dim: int) -> torch.Tensor:
    inv = 1.0 / (10000 ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    freqs = torch.outer(torch.arange(max_pos, dtype=torch.float64), inv)
    return torch.cat((freqs.cos(), freqs.sin()), -1).float()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("heads,kv_heads,dim", [(4, 4, 32), (6, 2, 64), (3, 1, 48)])
def test_rotary_in_place_on_fused_qkv(dtype: torch.dtype, heads: int, kv_heads: int, dim: int) -> None:
    t = 7
    qkv = torch.randn(t, (heads + 2 * kv_heads) * dim).to(dtype)
    q = qkv[:, :heads * dim].view(t, heads, dim)  # strided views, as the model passes them
    k = qkv[:, heads * dim:(heads + kv_heads) * dim].view(t, kv_heads, dim)
    v_before = qkv[:, (heads + kv_heads) * dim:].clone()
    positions = torch.tensor([0, 1, 5, 17, 100, 250, 3])
    cs = cos_sin(256, dim)
    ref_q, ref_k = backend_torch.rotary(q.float(), k.float(), positions, cs)
    out_q, out_k = rotary(q, k, positions, cs)
    assert out_q.data_ptr() == q.data_ptr()
    assert rel_err(out_q, ref_q) < tolerance(dtype) and rel_err(out_k, ref_k) < tolerance(dtype)
    assert torch.equal(qkv[:, (heads + kv_heads) * dim:], v_before)  # v untouched
