"""Token sampling for a batch, each row with its own parameters.

Randomness is counter-based: a row's uniform number is a hash of (seed, position), so a seeded request samples
the same tokens whatever else shares its batch, on any device."""

import numpy as np
import torch

from swiftllm.worker.metadata import to_device


def uniform(seed: np.ndarray, position: np.ndarray) -> np.ndarray:
    """splitmix64 of (seed, position) -> float64 in [0, 1)."""
    x = (seed.astype(np.uint32).astype(np.uint64) << np.uint64(32)) | position.astype(np.uint64)
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def apply_penalties(logits: torch.Tensor, presence: np.ndarray, frequency: np.ndarray, lens: np.ndarray,
                    tokens: np.ndarray) -> torch.Tensor:
    """OpenAI's penalties: logit -= presence * [count > 0] + frequency * count, over tokens generated so far."""
    counts = torch.zeros_like(logits)
    rows = to_device(np.repeat(np.arange(len(lens)), lens), logits.device)
    counts.index_put_((rows, to_device(tokens, logits.device, torch.int64)), torch.ones(len(tokens),
                      device=logits.device), accumulate=True)
    pres, freq = (to_device(a, logits.device)[:, None] for a in (presence, frequency))
    return logits - pres * (counts > 0) - freq * counts


def sample(logits: torch.Tensor, temperature: np.ndarray, top_p: np.ndarray, top_k: np.ndarray,
           seed: np.ndarray, position: np.ndarray) -> torch.Tensor:
    """logits [K, V] -> token ids [K] int64. temperature 0 is greedy (lowest id on ties)."""
    tokens = logits.argmax(-1)
    rand = temperature > 0
    if not rand.any():
        return tokens
    rows = to_device(np.nonzero(rand)[0], logits.device)
    dev = logits.device
    probs = (logits[rows].float() / to_device(temperature[rand], dev)[:, None]).softmax(-1)
    # always sorted, so a row draws the same token whether or not its neighbours use top-k / top-p
    probs, order = probs.sort(-1, descending=True)
    rank = torch.arange(probs.shape[-1], device=dev)[None, :]
    k = to_device(np.where(top_k[rand] > 0, top_k[rand], probs.shape[-1]), dev)[:, None]
    mass_before = probs.cumsum(-1) - probs
    p = to_device(top_p[rand], dev)[:, None]
    probs = probs.masked_fill((rank >= k) | ((mass_before >= p) & (rank > 0)), 0.0)
    cdf = probs.cumsum(-1)
    # one uniform per row suffices: we draw by inverting the cumulative distribution
    u = to_device(uniform(seed[rand], position[rand]), dev)[:, None]
    idx = torch.searchsorted(cdf, (u * cdf[:, -1:].double()).to(cdf.dtype), right=True)
    tokens[rows] = order.gather(-1, idx.clamp(max=probs.shape[-1] - 1)).squeeze(-1)
    return tokens
