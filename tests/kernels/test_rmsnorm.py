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
