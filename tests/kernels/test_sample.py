"""The sampling kernels (interpreted) against torch on the CPU: inverse-CDF draws against sampler.draw, greedy
tokens against torch.argmax."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from swiftllm.kernels.sample import greedy_tokens, inverse_cdf_sample
from swiftllm.worker.sampler import draw, uniform


def test_a_logit_of_inf_draws_its_token_as_torch_does() -> None:
    """Finite penalties on the worker socket can overflow a logit to +inf. The kernel's running sums were then
    NaN and it drew token 0; now, as sampler.draw (nan_to_num_), the +inf tokens take the mass: the one token
    alone, or one of two as torch picks it. A finite logit over float32's range after the temperature (1e38
    at 0.25) counts as +inf too."""
    vocab = 9000  # two chunks: +inf in the first and in the second
    logits = torch.randn(4, vocab, generator=torch.Generator().manual_seed(2))
    logits[0, 8500] = float("inf")
    logits[1, [17, 8999]] = float("inf")
    logits[2, [17, 8999]] = float("inf")
    logits[3, 4000] = 1e38
    rows = np.arange(4)
    temperature = np.array([1.0, 0.7, 1.3, 0.25], np.float32)
    u = np.array([0.9, 0.2, 0.8, 0.5], np.float32)
    got = inverse_cdf_sample(
        logits, torch.from_numpy(rows), torch.from_numpy(temperature), torch.from_numpy(u)
    )
    ref = draw(logits, rows, temperature, np.ones(4), np.zeros(4), u, False, np.zeros(len(rows)))
    assert ref.tolist() == [8500, 17, 8999, 4000]
    assert got.tolist() == ref.tolist()


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
        False,
        np.zeros(12),
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


def test_u_near_one_draws_a_token_with_mass() -> None:
    """u within rounding of 1 (float32 rounds 1 - 2**-30 to 1.0; the chunks' sums fall ~1e-6 short of the
    normaliser) draws the last token with mass, as sampler.draw does: the vocabulary's last token, of
    probability 0 here, was drawn for u in [1 - 4e-6, 1) at this size."""
    vocab = 49152  # SmolLM2's: six chunks
    logits = torch.randn(8, vocab, generator=torch.Generator().manual_seed(1)) * 4
    logits[:, -3:] = float("-inf")
    u = 1 - np.array([2.0**-30, 2.0**-24, 1e-6, 2e-6, 3e-6, 4e-6, 2.0**-30, 2.0**-24])
    rows = np.arange(8)
    got = inverse_cdf_sample(logits, torch.from_numpy(rows), torch.ones(8), torch.from_numpy(u))
    assert (logits[rows, got] > float("-inf")).all()
    ref = draw(
        logits, rows, np.ones(8, np.float32), np.ones(8), np.zeros(8), u, False, np.zeros(len(rows))
    )
    assert (logits[rows, ref] > float("-inf")).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
# several chunks of 256: ragged, and a whole number of them
@pytest.mark.parametrize("vocab", [1000, 2560])
def test_greedy_tokens_match_torch_argmax(dtype: torch.dtype, vocab: int) -> None:
    gen = torch.Generator().manual_seed(1)
    logits = (torch.randn(5, vocab, generator=gen) * 3).to(dtype)
    logits[1, [900, 300, 310]] = 100.0  # ties in two chunks and within one: the lowest index wins
    logits[2] = float("-inf")  # no finite logit: index 0, as torch
    logits[3, 600] = float("inf")
    logits[3, [700, 950]] = float("nan")  # torch counts NaN as the max: its first NaN, past an inf
    logits[4, [5, 999]] = float("nan")  # NaN in the first and last chunk
    for rows in range(1, 6):
        got = greedy_tokens(logits[:rows], chunk=256)
        assert got.dtype == torch.int64 and got.tolist() == logits[:rows].argmax(-1).tolist()
    assert greedy_tokens(logits, chunk=256).tolist()[1:] == [300, 0, 700, 5]


def test_greedy_tokens_of_strided_views() -> None:
    big = torch.randn(9, 2 * 1500, generator=torch.Generator().manual_seed(2))
    big[2, [40, 2900]] = 50.0  # a tie in row 1 of big[::2] at columns 20 and 1450 of big[:, ::2]
    for view in (big[::2], big[::2, ::2], big[:, ::2], big.T[:7], big[3:4, 100:2100]):
        assert greedy_tokens(view, chunk=256).tolist() == view.argmax(-1).tolist()
    assert greedy_tokens(big[::2, ::2], chunk=256)[1] == 20
    assert greedy_tokens(big[:0]).shape == (0,)  # no rows: nothing launched
