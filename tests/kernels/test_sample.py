"""The inverse-CDF sampling kernel (interpreted) against sampler.draw on the CPU, the torch oracle."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from swiftllm.kernels.sample import inverse_cdf_sample
from swiftllm.worker.sampler import draw, uniform


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
# past one chunk and ragged; a whole number of chunks
@pytest.mark.parametrize("vocab", [9000, 8192])
def test_same_tokens_as_torch_draw(dtype: torch.dtype, vocab: int) -> None:
    gen = torch.Generator().manual_seed(0)
    logits = (torch.randn(12, vocab, generator=gen) * 3).to(dtype)
    rows = np.array([11, 0, 3, 3, 7, 5, 9, 2, 1, 4])  # a row drawn twice, another never
    temperature = np.linspace(0.3, 2.0, 12).astype(np.float32)
    u = uniform(np.arange(12, dtype=np.int32)[rows], np.full(10, 5, np.int32))
    u[2] = 0.0  # the first token with any mass
    got = inverse_cdf_sample(
        logits, torch.from_numpy(rows), torch.from_numpy(temperature[rows]), torch.from_numpy(u)
    )
    ref = draw(
        logits,
        rows,
        temperature,
        np.ones(12, np.float32),
        np.zeros(12, np.int32),
        u,
        truncate=False,
    )
    assert got.dtype == torch.int64 and got.tolist() == ref.tolist()


def test_follows_the_distribution() -> None:
    probs = torch.tensor([0.4, 0.3, 0.0, 0.2, 0.1])
    logits = probs.log().repeat(400, 1)
    u = uniform(np.arange(400, dtype=np.int32), np.zeros(400, np.int32))
    u[0] = 1 - 2.0**-24  # the largest float32 below 1: the last token must be reachable
    toks = inverse_cdf_sample(
        logits, torch.arange(400), torch.ones(400), torch.from_numpy(u)
    ).numpy()
    # ~3 sigma at 400 draws
    assert np.allclose(np.bincount(toks, minlength=5) / 400, probs.numpy(), atol=0.07)
    assert toks[0] == 4 and not (toks == 2).any()  # the zero-mass token is never drawn
