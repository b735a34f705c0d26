"""Token sampling for a batch, each row with its own parameters.

Randomness is counter-based: a row's uniform number is a hash of (seed, position), so a seeded request draws
the same numbers whatever else shares its batch, on any device (its logits may still differ by rounding with the
batch's shape, so a high-temperature text can diverge: docs/protocol.md)."""

import numpy as np
import torch

from swiftllm.worker.metadata import to_device


def uniform(seed: np.ndarray, position: np.ndarray) -> np.ndarray:
    """The position-th number of splitmix64 started at seed -> float64 in [0, 1)."""
    golden = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        x = seed.astype(np.uint64) + (position.astype(np.uint64) + np.uint64(1)) * golden
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * 2.0**-53


def apply_penalties(
    logits: torch.Tensor,
    presence: np.ndarray,
    frequency: np.ndarray,
    lens: np.ndarray,
    tokens: np.ndarray,
    repetition: np.ndarray,
) -> torch.Tensor:
    """Over the tokens generated so far: the repetition penalty (a seen token's logit divided by it when
    positive, multiplied when not: always less likely), then OpenAI's penalties (logit -= presence *
    [count > 0] + frequency * count)."""
    device = logits.device
    counts = torch.zeros_like(logits)
    rows = to_device(np.repeat(np.arange(len(lens)), lens), device)
    token_ids = to_device(tokens, device, torch.int64)
    counts.index_put_((rows, token_ids), torch.ones(len(tokens), device=device), accumulate=True)
    seen = counts > 0
    repetition_column = to_device(repetition, device)[:, None]
    repeated = torch.where(logits > 0, logits / repetition_column, logits * repetition_column)
    logits = torch.where(seen, repeated, logits)
    presence_column = to_device(presence, device)[:, None]
    frequency_column = to_device(frequency, device)[:, None]
    return logits - presence_column * seen - frequency_column * counts


def sample(
    logits: torch.Tensor,
    temperature: np.ndarray,
    top_p: np.ndarray,
    top_k: np.ndarray,
    seed: np.ndarray,
    position: np.ndarray,
    min_p: np.ndarray,
) -> torch.Tensor:
    """logits [K, V] -> token ids [K] int64. temperature 0 is greedy (lowest id on ties). min_p keeps the
    tokens at least min_p times as likely as the most likely one (0: off; the default is the protocol's)."""
    if logits.device.type == "cuda":
        # chunks of each row in parallel: torch's argmax reads a row with one block (37 us a step, H200)
        from swiftllm.kernels.sample import greedy_tokens  # Triton only where kernels run

        tokens = greedy_tokens(logits)
    else:
        tokens = logits.argmax(-1)
    # rows that cut the distribution take the sorted torch path (the CUDA kernel draws from all of it)
    cut = (top_k > 0) | (top_p < 1) | (min_p > 0)
    # a row's method depends on its own parameters only, so its draw does not depend on its neighbours; rows
    # without top-k / top-p skip sorting the vocabulary (which cost 15% of a temperature-1 workload, H100)
    for truncate in (True, False):
        rows = np.nonzero((temperature > 0) & (cut == truncate))[0]
        if len(rows):
            uniforms = uniform(seed[rows], position[rows])
            tokens[to_device(rows, logits.device)] = draw(
                logits, rows, temperature, top_p, top_k, uniforms, truncate, min_p
            )
    return tokens


def draw(
    logits: torch.Tensor,
    rows: np.ndarray,
    temperature: np.ndarray,
    top_p: np.ndarray,
    top_k: np.ndarray,
    uniforms: np.ndarray,
    truncate: bool,
    min_p: np.ndarray,
) -> torch.Tensor:
    """Tokens for the given rows by inverting each one's cumulative distribution at its uniform number,
    over the probabilities sorted and cut to top-k / top-p / min-p when truncate, else in vocabulary
    order."""
    device = logits.device
    row_ids = to_device(rows, device)
    row_temperatures = to_device(temperature[rows], device)
    if device.type == "cuda" and not truncate:
        # one kernel: two reads of the logits, not eight float32 passes
        from swiftllm.kernels.sample import inverse_cdf_sample  # Triton only where kernels run

        row_uniforms = to_device(uniforms.astype("f4"), device)
        return inverse_cdf_sample(logits, row_ids, row_temperatures, row_uniforms)
    # nan_to_num: a logit of +inf (finite penalties can overflow one: frequency -3e38 on a token seen twice) made
    # the softmax NaN and the draw token V, past the vocabulary; as the largest float, +inf tokens take the mass
    # (in place, on the quotient: one more pass over the rows' logits, no more memory; not timed on a GPU)
    probs = (logits[row_ids].float() / row_temperatures[:, None]).nan_to_num_().softmax(-1)
    vocab = probs.shape[-1]
    if truncate:
        probs, order = probs.sort(-1, descending=True)
        rank = torch.arange(vocab, device=device)[None, :]
        kept = to_device(np.where(top_k[rows] > 0, top_k[rows], vocab), device)[:, None]
        # top-p over what top-k keeps, renormalised, as vLLM and HF apply them (top_p 0.55 after top_k 2 of
        # [0.4, 0.3, 0.3] keeps one token, 0.4 / 0.7 >= 0.55; over the whole distribution it kept two)
        probs = probs.masked_fill(rank >= kept, 0.0)
        mass_before = probs.cumsum(-1) - probs
        top_p_rows = to_device(top_p[rows], device)[:, None]
        outside = (mass_before >= top_p_rows * probs.sum(-1, keepdim=True)) & (rank > 0)
        # sorted: the first column is the most likely token's probability
        outside |= probs < to_device(min_p[rows], device)[:, None] * probs[:, :1]
        probs = probs.masked_fill(outside, 0.0)
    cdf = probs.cumsum(-1)
    targets = to_device(uniforms, device)[:, None] * cdf[:, -1:].double()
    # float32 can round u * total up to the total (u within ~2**-25 of 1), where searchsorted finds no token:
    # then the last token with any mass (the first where the cdf reaches its total). A clamp to the
    # vocabulary's last token drew a token of probability 0, or the least likely one past top-k / top-p.
    # A search, not (cdf < total).sum(): the sum of a bool mask makes an int64 copy, 8 B a logit
    last = torch.searchsorted(cdf, cdf[:, -1:].contiguous())
    index = torch.searchsorted(cdf, targets.to(cdf.dtype), right=True).minimum(last)
    if truncate:
        index = order.gather(-1, index)
    return index.squeeze(-1)
