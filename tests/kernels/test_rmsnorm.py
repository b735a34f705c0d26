from __future__ import annotations

import pytest
import torch
from conftest import rel_err

from swiftllm.kernels.rmsnorm import rms_norm
from swiftllm.worker import backend_torch

from .paged import tolerance


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("hidden", [64, 96])
@pytest.mark.parametrize("with_residual", [False, True])
def test_rms_norm_matches_reference(dtype: torch.dtype, hidden: int, with_residual: bool) -> None:
    base = torch.randn(5, hidden * 2).to(dtype)
    x = base[:, :hidden]  # strided rows, as a slice of a wider activation would be
    residual = torch.randn(5, hidden).to(dtype) if with_residual else None
    weight = (torch.rand(hidden) + 0.5).to(dtype)
    out, res = rms_norm(x, weight, 1e-5, residual)
    ref_out, ref_res = backend_torch.rms_norm(
        x.float(), weight.float(), 1e-5, residual.float() if residual is not None else None
    )
    assert rel_err(out, ref_out) < tolerance(dtype) * 2
    assert rel_err(res, ref_res) < tolerance(dtype)
    assert out.dtype == dtype and not out.isnan().any()


# a split-K projection's float32 partial sums [P, T, N] (gemv's parts) in place of x: the kernel adds the parts,
# rounds the sum to the residual's dtype (as a whole projection's output would be), then adds the residual
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("parts", [2, 3])
def test_rms_norm_adds_partial_sums(dtype: torch.dtype, parts: int) -> None:
    x = torch.randn(parts, 5, 96)
    residual = torch.randn(5, 96).to(dtype)
    weight = (torch.rand(96) + 0.5).to(dtype)
    out, res = rms_norm(x, weight, 1e-5, residual)
    whole = x.double().sum(0).to(dtype)
    ref_out, ref_res = backend_torch.rms_norm(
        whole.double(), weight.double(), 1e-5, residual.double()
    )
    assert out.dtype == dtype and res.dtype == dtype and out.shape == (5, 96)
    assert rel_err(res, ref_res) < tolerance(dtype)
    assert rel_err(out, ref_out) < tolerance(dtype) * 2


def test_rms_norm_of_no_rows_launches_nothing() -> None:
    """A step that samples no row takes the logits of none: an empty grid (rms_norm has no guard of its own)."""
    x = torch.randn(0, 64)
    out, res = rms_norm(x, torch.ones(64), 1e-5, torch.randn(0, 64))
    assert out.shape == (0, 64) and res.shape == (0, 64)
