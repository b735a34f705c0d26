from __future__ import annotations

import pytest
import torch
from conftest import rel_err

from swiftllm.kernels.rmsnorm import rms_norm
from swiftllm.worker import backend_torch

from .paged import tolerance


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("hidden", [64, 96])
def test_rms_norm_matches_reference(dtype: torch.dtype, hidden: int) -> None:
    base = (torch.randn(5, hidden * 2) * 20).to(dtype)
    x = base[:, :hidden]  # strided rows, as a slice of a wider activation would be
    weight = (torch.rand(hidden) + 0.5).to(dtype)
    out = rms_norm(x, weight, 1e-5)
    ref = backend_torch.rms_norm(x.double(), weight.double(), 1e-5)
    assert out.shape == x.shape and out.dtype == dtype and not out.isnan().any()
    assert rel_err(out, ref) < tolerance(dtype) * 2
