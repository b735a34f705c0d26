"""The worker protocol's messages and the rules that make them valid, apart from their bytes (codec.py).

docs/protocol.md is the reference for every op and field. The rules here are everything a worker could trip
on, checked before it touches its cache, so bad input becomes an error reply, never a crash or a wrong answer."""

from dataclasses import dataclass
from typing import Any

import numpy as np

from swiftllm.protocol.step import BLOCK_MOVES, LAST_TOKEN, STEP_ARRAYS, StepCommand
from swiftllm.sampling_params import MIN_TEMPERATURE

MAX_LOGPROBS = 20  # top-N logprobs per sampled token, as OpenAI's API allows
INT32_LIMIT = 2**31

# The small ops' fields, all integers: name -> (minimum, default); a default of None means required.
# A step's fields are StepCommand's arrays instead, checked by validate_step once the cache geometry is known.
# hello's only field, `token` (a string), is read apart (Request.token): see protocol/auth.py.
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
    "repetition_penalty": 1.0,
    "min_p": 0.0,
    "penalty_lens": 0,
    "num_logprobs": -1,
}


class ProtocolError(ValueError):
    """A message that breaks the protocol; `type` is one of the error types in docs/protocol.md."""

    def __init__(self, type_: str, message: str) -> None:
        super().__init__(message)
        self.type = type_
        self.request_id: int | None = None  # set by decode_request once the id is known


@dataclass(frozen=True)
class Request:
    op: str
    id: int
    epoch: int | None  # None only for a hello
    fields: dict[str, Any]  # checked integers; for a step, its still-encoded arrays
    token: str | None = None  # a hello's session token (protocol/auth.py), checked by the worker


@dataclass(frozen=True)
class CacheGeometry:
    """What step validation must know about the worker; fixed by init_cache."""

    vocab_size: int
    block_size: int
    num_blocks: int
    num_cpu_blocks: int
    max_model_len: int
    # the largest step the worker was sized for (its --max-num-seqs, --max-num-batched-tokens): its
    # activation room holds no more, and a step of a few kilobytes must not make it allocate gigabytes
    max_num_seqs: int
    max_num_batched_tokens: int


def is_int(value: object) -> bool:
    return type(value) is int  # msgpack's true/false decode to bool, a subclass of int


def require(ok: object, message: str, type_: str = "InvalidRequest") -> None:
    if not ok:
        raise ProtocolError(type_, message)


def require_known_fields(op: str, given: dict[str, Any], known: dict[str, Any]) -> None:
    require(set(given) <= set(known), f"{op} has unknown fields {sorted(set(given) - set(known))}")


def check_int_fields(op: str, given: dict[str, Any]) -> dict[str, int]:
    """A small op's fields, defaults filled in; unknown, missing or mistyped fields are errors."""
    spec = OP_FIELDS[op]
    require_known_fields(op, given, spec)
    values = {name: given.get(name, default) for name, (_, default) in spec.items()}
    for name, (minimum, _) in spec.items():
        require(values[name] is not None, f"{op} needs the field {name!r}")
        require(
            is_int(values[name]) and minimum <= values[name] < INT32_LIMIT,
            f"{op}.{name} must be an integer in [{minimum}, 2**31)",
        )
    return values


def require_cache(geometry: CacheGeometry | None) -> None:
    """CacheNotInitialized until init_cache has fixed the geometry that steps are validated against."""
    require(geometry is not None, "send init_cache before the first step", "CacheNotInitialized")


def _in_range(name: str, values: np.ndarray, low: int, high: int) -> None:
    require(((values >= low) & (values < high)).all(), f"{name} must lie in [{low}, {high})")


def validate_step(cmd: StepCommand, geometry: CacheGeometry | None) -> None:
    """Raise ProtocolError (InvalidRequest) unless the step is safe to run on a cache of this geometry
    (CacheNotInitialized while there is none: require_cache).

    The contract a worker relies on, checked at its door (the ZeroMQ server and InProcessWorker) so that no
    kernel ever sees an index out of range:
    - every field is a numpy array of its field's dtype and rank (int32, float32, or uint64 for seed;
      block_table and the block moves 2-D), and every per-sequence array has one entry per sequence;
      seq_ids are distinct;
    - 1 <= query_len <= context_len <= max_model_len, and token_ids holds sum(query_lens) ids in
      [0, vocab_size), or -1 ("the token last sampled") as the only token of a 1-token query;
    - block_table has a row per sequence, is no wider than max_model_len needs, covers every context, and
      names only blocks in [0, num_blocks); block moves name valid source and destination blocks;
    The sampling values of each sequence are checked apart, by refuse_bad_values: a bad one fails that
    sequence alone. Whether a -1 refers to a token the worker has, only its runner knows: launch raises
    ValueError if not."""
    require_cache(geometry)
    # the wire guarantees dtypes and ranks (codec.unpack_array); a caller in-process may get them wrong.
    # The messages are formatted on every call: dtype.str ("<i4"), as str(dtype) is slow Python
    for name, prototype in STEP_ARRAYS.items():
        array = getattr(cmd, name)
        require(
            isinstance(array, np.ndarray)
            and array.dtype == prototype.dtype
            and array.ndim == prototype.ndim,
            f"{name} must be a {prototype.ndim}-D numpy array of {prototype.dtype.str}",
        )
    num_seqs = cmd.num_seqs
    require(num_seqs <= geometry.max_num_seqs, f"more sequences than {geometry.max_num_seqs}")
    require(cmd.num_tokens <= geometry.max_num_batched_tokens, "more tokens than the worker takes")
    for name in ("query_lens", "context_lens", *PER_SEQ_DEFAULTS):
        entries = len(getattr(cmd, name))
        require(entries == num_seqs, f"{name} has {entries} entries, seq_ids {num_seqs}")
    require(len(np.unique(cmd.seq_ids)) == num_seqs, "seq_ids must be distinct")
    query_lens = cmd.query_lens.astype(np.int64)
    context_lens = cmd.context_lens.astype(np.int64)
    require(
        (query_lens >= 1).all() and (query_lens <= context_lens).all(),
        "need 1 <= query_len <= context_len",
    )
    require(
        (context_lens <= geometry.max_model_len).all(),
        f"context_lens must be <= max_model_len {geometry.max_model_len}",
    )
    require(
        query_lens.sum() == cmd.num_tokens,
        f"sum(query_lens) = {query_lens.sum()} but there are {cmd.num_tokens} token_ids",
    )
    rows, width = cmd.block_table.shape
    require(rows == num_seqs, f"block_table has {rows} rows for {num_seqs} sequences")
    require(
        width <= -(-geometry.max_model_len // geometry.block_size),
        "block_table is wider than max_model_len needs",
    )
    require(
        (context_lens <= width * geometry.block_size).all(),
        "a context_len exceeds block_table width x block_size",
    )
    _in_range("block_table", cmd.block_table, 0, geometry.num_blocks)
    _in_range("token_ids", cmd.token_ids, LAST_TOKEN, geometry.vocab_size)
    # where -1 may stand: the first (and only) token of a 1-token query (np.isin costs ten times more)
    last_token_allowed = np.zeros(cmd.num_tokens, dtype=bool)
    last_token_allowed[(np.cumsum(query_lens) - query_lens)[query_lens == 1]] = True
    require(
        last_token_allowed[cmd.token_ids == LAST_TOKEN].all(),
        "token -1 may only be the one token of a 1-token query",
    )
    require(((cmd.sample == 0) | (cmd.sample == 1)).all(), "sample must be 0 or 1")
    require(
        (cmd.penalty_lens >= 0).all()
        and cmd.penalty_lens.astype(np.int64).sum() == len(cmd.penalty_tokens),
        "penalty_lens must be >= 0 and sum to len(penalty_tokens)",
    )
    # -1: the last token sampled
    _in_range("penalty_tokens", cmd.penalty_tokens, LAST_TOKEN, geometry.vocab_size)
    blocks = {"gpu": geometry.num_blocks, "cpu": geometry.num_cpu_blocks}
    for name, (source, destination) in BLOCK_MOVES.items():
        pairs = getattr(cmd, name)
        require(pairs.ndim == 2 and pairs.shape[1] == 2, f"{name} must be [pairs, 2]")
        _in_range(f"{name} sources", pairs[:, 0], 0, blocks[source])
        _in_range(f"{name} destinations", pairs[:, 1], 0, blocks[destination])
        # each block written once: so a step moves at most the cache's worth (no message of a few
        # kilobytes makes the worker gather gigabytes)
        require(len(np.unique(pairs[:, 1])) == len(pairs), f"{name} destinations must be distinct")


def refuse_bad_values(cmd: StepCommand, geometry: CacheGeometry) -> dict[int, str]:
    """Per-sequence sampling values out of range: seq id -> why. Each such sequence gets neutral values
    (greedy, no penalties, no logprobs) in `cmd`, which is changed in place, so that the step still runs
    for all; the reply names the refused sequences and the controller fails those requests alone.

    Rules: temperature 0 or in [MIN_TEMPERATURE, inf); 0 < top_p <= 1; top_k >= 0; penalties finite;
    repetition_penalty > 0; 0 <= min_p <= 1; -1 <= num_logprobs <= min(MAX_LOGPROBS, vocab_size)."""
    max_logprobs = min(MAX_LOGPROBS, geometry.vocab_size)
    temperature = cmd.temperature
    rules = [
        (
            np.isfinite(temperature) & ((temperature == 0) | (temperature >= MIN_TEMPERATURE)),
            f"temperature must be 0 or a finite number >= {MIN_TEMPERATURE:g}",
        ),
        ((cmd.top_p > 0) & (cmd.top_p <= 1), "top_p must lie in (0, 1]"),
        (cmd.top_k >= 0, "top_k must be >= 0"),
        (
            np.isfinite(cmd.presence_penalty) & np.isfinite(cmd.frequency_penalty),
            "penalties must be finite",
        ),
        (
            np.isfinite(cmd.repetition_penalty) & (cmd.repetition_penalty > 0),
            "repetition_penalty must be finite and > 0",
        ),
        ((cmd.min_p >= 0) & (cmd.min_p <= 1), "min_p must lie in [0, 1]"),
        (
            (cmd.num_logprobs >= -1) & (cmd.num_logprobs <= max_logprobs),
            f"num_logprobs must lie in [-1, {max_logprobs}]",
        ),
    ]
    problems: dict[int, str] = {}
    for ok, message in rules:
        for row in np.nonzero(~ok)[0].tolist():
            problems.setdefault(int(cmd.seq_ids[row]), message)
    if problems:
        bad = np.isin(cmd.seq_ids, list(problems))
        # every sampling value back to its default, but which rows sample, their seeds and penalty_lens
        # (penalty_tokens must still add up)
        for name in PER_SEQ_DEFAULTS.keys() - {"sample", "seed", "penalty_lens"}:
            getattr(cmd, name)[bad] = PER_SEQ_DEFAULTS[name]
    return problems
