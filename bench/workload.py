"""Workload files: a JSON list of [input_len, output_len] pairs, the request lengths a benchmark replays.

bench/sharegpt_like_1000.json is the project's 1000-request file (199,305 prompt + 198,953 output tokens).
Prompts are random token ids of each input length (the lengths matter to the engine, not the words), and
every request generates exactly its output length (ignore_eos).

Arrival traces (bench/trace_requests/arrival_trace.py writes them from a live server's log): a JSON list of
{"t": seconds since the first arrival, "input_len": N, "output_len": M}, one per request, sorted by t; a
workload that also says when each request arrives. Other keys in an entry are ignored."""

from __future__ import annotations

import json
import math
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


def read_json_list(path: Path, what: str, items: str) -> list:
    """The non-empty JSON list a workload file or an arrival trace holds; WorkloadError naming `what` else."""
    try:
        entries = json.loads(path.read_text())
    except OSError as e:
        raise WorkloadError(f"cannot read {what} {path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise WorkloadError(f"{what} {path} is not JSON: {e}") from None
    if not isinstance(entries, list) or not entries:
        raise WorkloadError(f"{what} {path} must hold a non-empty list of {items}")
    return entries


def load_workload(path: str | Path, num_requests: int | None = None) -> list[RequestLengths]:
    """The first `num_requests` pairs of the file (all of them if None)."""
    path = Path(path)
    pairs = read_json_list(path, "workload file", "pairs")
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


class TracedRequest(NamedTuple):
    t: float  # seconds after the trace's first arrival
    input_len: int
    output_len: int


TRACE_KEYS = ("t", "input_len", "output_len")


def is_time(value: object) -> bool:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return is_number and math.isfinite(value) and value >= 0


def load_arrival_trace(path: str | Path, num_requests: int | None = None) -> list[TracedRequest]:
    """The first `num_requests` arrivals of the trace (all of them if None), in order of arrival, their times
    from the first of them: a replay starts with its first request."""
    path = Path(path)
    entries = read_json_list(path, "arrival trace", "requests")
    requests = []
    for index, entry in enumerate(entries):
        is_entry = isinstance(entry, dict) and all(key in entry for key in TRACE_KEYS)
        if not is_entry or not is_time(entry["t"]):
            raise WorkloadError(
                f'{path}: entry {index} is {entry!r:.200}; expected {{"t": seconds >= 0, '
                '"input_len": N, "output_len": M}'
            )
        if not (is_length(entry["input_len"]) and is_length(entry["output_len"])):
            raise WorkloadError(
                f"{path}: entry {index} is {entry!r:.200}; input_len and output_len must be "
                "integers >= 1"
            )
        requests.append(TracedRequest(float(entry["t"]), entry["input_len"], entry["output_len"]))
    requests.sort(key=lambda request: request.t)  # stable: requests of one time keep their order
    if num_requests is not None:
        if not 1 <= num_requests <= len(requests):
            raise WorkloadError(
                f"--num-requests {num_requests}: {path} holds {len(requests)} requests"
            )
        requests = requests[:num_requests]
    first = requests[0].t
    return [request._replace(t=request.t - first) for request in requests]


def random_prompts(
    input_lens: list[int], vocab_size: int, seed: int | tuple[int, ...]
) -> list[list[int]]:
    """One prompt of uniformly random token ids in [0, vocab_size) per length; the same for the same seed
    (a tuple seeds independent streams: (seed, 1) and (seed, 2) share no prompt)."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, vocab_size, length).tolist() for length in input_lens]
