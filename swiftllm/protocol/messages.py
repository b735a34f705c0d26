"""The worker protocol's messages and the rules that make them valid, apart from their bytes (codec.py).

docs/protocol.md is the reference for every op and field. The rules here are everything a worker could trip
on, checked before it touches its cache, so bad input becomes an error reply, never a crash or a wrong answer."""

from dataclasses import dataclass
from typing import Any

import numpy as np

from swiftllm.protocol.step import LAST_TOKEN, StepCommand

MAX_LOGPROBS = 20  # top-N logprobs per sampled token, as OpenAI's API allows
INT32_LIMIT = 2**31

# The small ops' fields, all integers: name -> (minimum, default); a default of None means required.
# A step's fields are StepCommand's arrays instead, checked by validate_step once the cache geometry is known.
OP_FIELDS: dict[str, dict[str, tuple[int, int | None]]] = {
    "hello": {},
    "profile": {"block_size": (1, 16)},
    "init_cache": {
        "block_size": (1, None),
        "num_blocks": (1, None),
        "num_cpu_blocks": (0, None),
        "max_model_len": (1, None),
    },
    "step": {},
    "shutdown": {},
}
STEP_REQUIRED = ("seq_ids", "query_lens", "context_lens", "token_ids", "block_table")
# Per-sequence arrays a step may leave out, and the value each sequence then gets.
PER_SEQ_DEFAULTS = {
    "sample": 1,
    "temperature": 0.0,
    "top_p": 1.0,
    "top_k": 0,
    "seed": 0,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
    "penalty_lens": 0,
    "num_logprobs": -1,
}


class ProtocolError(ValueError):
    """A message that breaks the protocol; `type` is one of the error types in docs/protocol.md."""

    def __init__(self, type_: str, message: str, request_id: int | None = None) -> None:
        super().__init__(message)
        self.type, self.request_id = type_, request_id


@dataclass(frozen=True)
class Request:
    op: str
    id: int
    epoch: int | None  # None only for a hello
    fields: dict[str, Any]  # checked integers; for a step, its still-encoded arrays


@dataclass(frozen=True)
class CacheGeometry:
    """What step validation must know about the worker; fixed by init_cache."""

    vocab_size: int
    block_size: int
    num_blocks: int
    num_cpu_blocks: int
    max_model_len: int


def is_int(v: object) -> bool:
    return type(v) is int  # msgpack's true/false decode to bool, a subclass of int


def require(ok: object, message: str, type_: str = "InvalidRequest") -> None:
    if not ok:
        raise ProtocolError(type_, message)


def check_int_fields(op: str, given: dict[str, Any]) -> dict[str, int]:
    """A small op's fields, defaults filled in; unknown, missing or mistyped fields are errors."""
    spec = OP_FIELDS[op]
    require(set(given) <= set(spec), f"{op} has unknown fields {sorted(set(given) - set(spec))}")
    values = {name: given.get(name, default) for name, (_, default) in spec.items()}
    for name, (minimum, _) in spec.items():
        require(values[name] is not None, f"{op} needs the field {name!r}")
        require(
            is_int(values[name]) and minimum <= values[name] < INT32_LIMIT,
            f"{op}.{name} must be an integer in [{minimum}, 2**31)",
        )
    return values


def _in_range(name: str, values: np.ndarray, low: int, high: int) -> None:
    require(((values >= low) & (values < high)).all(), f"{name} must lie in [{low}, {high})")


def validate_step(cmd: StepCommand, geo: CacheGeometry) -> None:
    n = cmd.num_seqs
    for name in ("query_lens", "context_lens", *PER_SEQ_DEFAULTS):
        require(
            len(getattr(cmd, name)) == n,
            f"{name} has {len(getattr(cmd, name))} entries, seq_ids {n}",
        )
    require(len(np.unique(cmd.seq_ids)) == n, "seq_ids must be distinct")
    q, c = cmd.query_lens.astype(np.int64), cmd.context_lens.astype(np.int64)
    require((q >= 1).all() and (q <= c).all(), "need 1 <= query_len <= context_len")
    require(
        (c <= geo.max_model_len).all(), f"context_lens must be <= max_model_len {geo.max_model_len}"
    )
    require(
        q.sum() == cmd.num_tokens,
        f"sum(query_lens) = {q.sum()} but there are {cmd.num_tokens} token_ids",
    )
    rows, width = cmd.block_table.shape
    require(rows == n, f"block_table has {rows} rows for {n} sequences")
    require(
        width <= -(-geo.max_model_len // geo.block_size),
        "block_table is wider than max_model_len needs",
    )
    require(
        (c <= width * geo.block_size).all(), "a context_len exceeds block_table width x block_size"
    )
    _in_range("block_table", cmd.block_table, 0, geo.num_blocks)
    _in_range("token_ids", cmd.token_ids, LAST_TOKEN, geo.vocab_size)
    single_token_starts = (np.cumsum(q) - q)[q == 1]
    require(
        np.isin(np.nonzero(cmd.token_ids == LAST_TOKEN)[0], single_token_starts).all(),
        "token -1 may only be the one token of a 1-token query",
    )
    require(np.isin(cmd.sample, (0, 1)).all(), "sample must be 0 or 1")
    require(
        (np.isfinite(cmd.temperature) & (cmd.temperature >= 0)).all(),
        "temperature must be finite and >= 0",
    )
    require(((cmd.top_p > 0) & (cmd.top_p <= 1)).all(), "top_p must lie in (0, 1]")
    require((cmd.top_k >= 0).all(), "top_k must be >= 0")
    require(
        np.isfinite([cmd.presence_penalty, cmd.frequency_penalty]).all(), "penalties must be finite"
    )
    _in_range("num_logprobs", cmd.num_logprobs, -1, min(MAX_LOGPROBS, geo.vocab_size) + 1)
    require(
        (cmd.penalty_lens >= 0).all()
        and cmd.penalty_lens.astype(np.int64).sum() == len(cmd.penalty_tokens),
        "penalty_lens must be >= 0 and sum to len(penalty_tokens)",
    )
    _in_range("penalty_tokens", cmd.penalty_tokens, LAST_TOKEN, geo.vocab_size)  # -1: last sampled
    gpu, cpu = geo.num_blocks, geo.num_cpu_blocks
    for name, (src_blocks, dst_blocks) in {
        "swap_out": (gpu, cpu),
        "swap_in": (cpu, gpu),
        "copy": (gpu, gpu),
    }.items():
        pairs = getattr(cmd, name)
        require(pairs.ndim == 2 and pairs.shape[1] == 2, f"{name} must be [pairs, 2]")
        _in_range(f"{name} sources", pairs[:, 0], 0, src_blocks)
        _in_range(f"{name} destinations", pairs[:, 1], 0, dst_blocks)
