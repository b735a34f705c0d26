"""Sampling: greedy ties, the counter-based RNG, top-k / top-p support and the distribution, penalties."""

from __future__ import annotations

import numpy as np
import torch

from swiftllm.worker.sampler import apply_penalties, draw, sample, uniform


def sample_rows(
    logits: torch.Tensor, t: float, p: float = 1.0, k: int = 0, seed: int = 0, pos: int = 0
) -> torch.Tensor:
    n = logits.shape[0]
    return sample(
        logits,
        np.full(n, t, np.float32),
        np.full(n, p, np.float32),
        np.full(n, k, np.int32),
        np.full(n, seed, np.int32),
        np.full(n, pos, np.int32),
        np.zeros(n, np.float32),
    )


def test_greedy_lowest_id_on_ties() -> None:
    logits = torch.tensor([[0.0, 3.0, 1.0, 3.0], [5.0, 5.0, 5.0, 5.0]])
    assert sample_rows(logits, 0.0).tolist() == [1, 0]


def test_uniform_is_deterministic_and_spread() -> None:
    seeds, pos = np.arange(5000, dtype=np.int32) % 7, np.arange(5000, dtype=np.int32)
    u = uniform(seeds, pos)
    assert np.array_equal(u, uniform(seeds, pos))
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    assert len(np.unique(u)) == len(u)


def test_seeds_are_64_bit() -> None:
    """Seeds that agree in their low 31 or 32 bits are still different streams (they were not: a seed was
    cut to 31 bits, so 2**31 sampled as 0)."""
    seeds = np.array([0, 1, 2**31, 2**32, 2**32 + 1, 2**63, 2**64 - 1], np.uint64)
    for position in (0, 1, 1000):
        u = uniform(seeds, np.full(len(seeds), position, np.int32))
        assert len(np.unique(u)) == len(seeds)


def test_same_seed_same_token_whatever_the_batch() -> None:
    torch.manual_seed(0)
    row = torch.randn(1, 50)
    alone = sample_rows(row, 1.0, seed=7, pos=3)
    batch = torch.cat([torch.randn(3, 50), row, torch.randn(4, 50)])
    seeds = np.array([1, 2, 3, 7, 4, 5, 6, 8], np.int32)
    # neighbours with top-k must not change row 3's draw
    top_k = np.array([5, 0, 0, 0, 9, 0, 0, 0], np.int32)
    for t in (np.ones(8, np.float32), np.array([0, 1, 1, 1, 0, 1, 1, 1], np.float32)):
        got = sample(
            batch, t, np.ones(8, np.float32), top_k, seeds, np.full(8, 3, np.int32), np.zeros(8)
        )
        assert got[3] == alone[0]


def test_distribution_top_k_and_top_p() -> None:
    probs = torch.tensor([0.4, 0.3, 0.2, 0.1])
    logits = probs.log().repeat(20000, 1)
    n = logits.shape[0]
    seeds, pos = np.arange(n, dtype=np.int32), np.zeros(n, np.int32)

    def freq(p: float, k: int) -> np.ndarray:
        toks = sample(
            logits,
            np.ones(n, np.float32),
            np.full(n, p, np.float32),
            np.full(n, k, np.int32),
            seeds,
            pos,
            np.zeros(n, np.float32),
        )
        return np.bincount(toks.numpy(), minlength=4) / n

    assert np.allclose(freq(1.0, 0), [0.4, 0.3, 0.2, 0.1], atol=0.015)
    assert np.allclose(freq(1.0, 2), [4 / 7, 3 / 7, 0, 0], atol=0.015)
    # smallest set with mass >= 0.75
    assert np.allclose(freq(0.75, 0), [4 / 9, 3 / 9, 2 / 9, 0], atol=0.015)


def test_penalties_follow_openai_formula() -> None:
    logits = torch.zeros(2, 5)
    out = apply_penalties(
        logits,
        np.array([0.5, 0.0], np.float32),
        np.array([0.25, 1.0], np.float32),
        np.array([3, 1]),
        np.array([1, 1, 3, 4]),
        np.ones(2, np.float32),
    )
    assert torch.allclose(out[0], torch.tensor([0, -1.0, 0, -0.75, 0]))
    assert torch.allclose(out[1], torch.tensor([0, 0, 0, 0, -1.0]))


def test_a_truncated_row_draws_the_same_among_plain_neighbours() -> None:
    torch.manual_seed(1)
    row = torch.randn(1, 50)
    alone = sample_rows(row, 0.8, p=0.9, k=20, seed=11, pos=5)
    batch = torch.cat([torch.randn(2, 50), row, torch.randn(2, 50)])
    n = 5
    got = sample(
        batch,
        np.full(n, 0.8, np.float32),
        np.array([1, 1, 0.9, 1, 1], np.float32),
        np.array([0, 0, 20, 0, 0], np.int32),
        np.array([1, 2, 11, 3, 4], np.int32),
        np.full(n, 5, np.int32),
        np.zeros(n, np.float32),
    )
    assert got[2] == alone[0]


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits() -> None:
    logits = torch.tensor([[2.0, -2.0, 2.0, -2.0]])
    out = apply_penalties(
        logits,
        np.zeros(1, np.float32),
        np.zeros(1, np.float32),
        np.array([2]),
        np.array([0, 1]),
        np.array([2.0], np.float32),
    )
    assert torch.allclose(out[0], torch.tensor([1.0, -4.0, 2.0, -2.0]))


def test_min_p_drops_tokens_below_its_share_of_the_top_one() -> None:
    probs = torch.tensor([0.4, 0.3, 0.0, 0.2, 0.1])
    n = 4000
    logits = probs.log().repeat(n, 1)
    ones = np.ones(n, np.float32)
    tokens = sample(
        logits,
        ones,
        ones,
        np.zeros(n, np.int32),
        np.arange(n, dtype=np.int32),
        np.zeros(n, np.int32),
        np.full(n, 0.6, np.float32),  # keeps p >= 0.24: tokens 0 and 1
    )
    freq = np.bincount(tokens.numpy(), minlength=5) / n
    assert np.allclose(freq, [4 / 7, 3 / 7, 0, 0, 0], atol=0.03)


def test_u_rounding_to_the_total_draws_a_kept_token() -> None:
    """u * total can round up to the total in float32 (u within ~2**-25 of 1: one draw in ~3e7; a seed gets
    any u at a given position, splitmix64 being invertible); searchsorted then finds no token. It took the
    vocabulary's last (probability 0 here) or, after top-k / top-p / min-p, the least likely token of all."""
    logits = torch.randn(4, 1000, generator=torch.Generator().manual_seed(0)) * 3
    logits[:, -1] = float("-inf")
    u = np.full(4, 1 - 2.0**-53)
    rows = np.arange(4)
    top_p = np.array([1, 0.5, 1, 1], np.float32)
    top_k = np.array([0, 0, 5, 0], np.int32)
    min_p = np.array([0, 0, 0, 0.5], np.float32)
    for truncate in (False, True):
        got = draw(logits, rows, np.ones(4, np.float32), top_p, top_k, u, truncate, min_p)
        assert (logits[rows, got] > float("-inf")).all()
        if truncate:  # the least likely token each row keeps
            probs = logits.softmax(-1)
            assert got[2] == probs[2].topk(5).indices[-1]
            chosen = probs[rows, got]
            assert (chosen[1:] >= 0.02).all(), chosen


def test_a_logit_overflowed_to_inf_draws_its_token_within_the_vocabulary() -> None:
    """Finite penalties, as the protocol allows them, can overflow a logit: frequency_penalty -3e38 on a token
    seen twice makes it +inf. The softmax was then NaN and the draw gave token V, one past the vocabulary (a
    tensor-parallel group embedded it as zeros, a pipeline's first stage failed the next step and its peer
    aborted in gloo), or, after top-k, raised for the whole step (a pipeline's first stage then waited forever
    for the tokens). Now the +inf tokens take the mass; a NaN row draws some token of the vocabulary."""
    zeros = np.zeros(2, np.float32)
    seen = np.array([2, 2], np.int32)
    logits = apply_penalties(
        torch.zeros(2, 10),
        zeros,
        np.full(2, -3e38, np.float32),
        seen,
        np.array([3, 3, 6, 6]),
        np.ones(2, np.float32),
    )
    assert logits[[0, 1], [3, 6]].isinf().all()
    for top_k in (0, 5):
        assert sample_rows(logits, 0.5, k=top_k, seed=1).tolist() == [3, 6]
        nan_row = torch.full((1, 10), float("nan"))
        assert 0 <= sample_rows(nan_row, 1.0, k=top_k).item() < 10


def test_top_p_applies_to_what_top_k_keeps() -> None:
    """vLLM's and HF's order: top-k, then top-p over the kept tokens renormalised. top_k 2 of [0.4, 0.3,
    0.3) leaves [4/7, 3/7]: top_p 0.55 keeps token 0 alone (it kept both, measuring 0.4 < 0.55 over the
    whole distribution)."""
    n = 2000
    logits = torch.tensor([0.4, 0.3, 0.299, 0.001]).log().repeat(n, 1)
    ones = np.ones(n, np.float32)
    tokens = sample(
        logits,
        ones,
        np.full(n, 0.55, np.float32),
        np.full(n, 2, np.int32),
        np.arange(n, dtype=np.uint64),
        np.zeros(n, np.int32),
        np.zeros(n, np.float32),
    )
    assert (tokens == 0).all()
