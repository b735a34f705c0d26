"""Workload files: a JSON list of [input_len, output_len] pairs, the request lengths a benchmark replays.

bench/sharegpt_like_1000.json is the project's 1000-request file (199,305 prompt + 198,953 output tokens).
Prompts are random token ids of each input length (the lengths matter to the engine, not the words), and
every request generates exactly its output length (ignore_eos)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

DEFAULT_WORKLOAD = Path(__file__).parent / "sharegpt_like_1000.json"


class WorkloadError(ValueError):
    """A workload file that cannot be replayed, with a message for the user."""


class RequestLengths(NamedTuple):
    input_len: int
    output_len: int


def is_length(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def load_workload(path: str | Path, num_requests: int | None = None) -> list[RequestLengths]:
    """The first `num_requests` pairs of the file (all of them if None)."""
    path = Path(path)
    try:
        pairs = json.loads(path.read_text())
    except OSError as e:
        raise WorkloadError(f"cannot read workload file {path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise WorkloadError(f"workload file {path} is not JSON: {e}") from None
    if not isinstance(pairs, list) or not pairs:
        raise WorkloadError(f"workload file {path} must hold a non-empty list of pairs")
    requests = []
    for index, pair in enumerate(pairs):
        if not (isinstance(pair, list) and len(pair) == 2 and all(map(is_length, pair))):
            raise WorkloadError(
                f"{path}: entry {index} is {pair!r}; expected [input_len, output_len], "
                "two integers >= 1"
            )
        requests.append(RequestLengths(pair[0], pair[1]))
    if num_requests is None:
        return requests
    if not 1 <= num_requests <= len(requests):
        raise WorkloadError(f"--num-requests {num_requests}: {path} holds {len(requests)} requests")
    return requests[:num_requests]


def random_prompts(
    input_lens: list[int], vocab_size: int, seed: int | tuple[int, ...]
) -> list[list[int]]:
    """One prompt of uniformly random token ids in [0, vocab_size) per length; the same for the same seed
    (a tuple seeds independent streams: (seed, 1) and (seed, 2) share no prompt)."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, vocab_size, length).tolist() for length in input_lens]
