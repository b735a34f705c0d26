"""The step: what a controller asks a worker to compute in one iteration, and what comes back.

Columnar on purpose: each field is the array a kernel consumes, so the worker does no per-sequence Python work
and the wire format (codec.py) is these arrays as packed little-endian bytes. Integers are int32 (the seeds uint64),
reals float32."""

from dataclasses import dataclass, field, fields

import numpy as np

LAST_TOKEN = -1  # a token id of -1 means "the token this worker last sampled for this sequence"
# A step's block moves, run in this order before its forward: each field's [P, 2] pairs are (source block,
# destination block), read from and written to these sides of the cache. KVCache.apply runs them,
# messages.validate_step checks each side's block numbers.
BLOCK_MOVES = {"swap_out": ("gpu", "cpu"), "swap_in": ("cpu", "gpu"), "copy": ("gpu", "gpu")}


def i32(values: object = ()) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.int32)


def u64(values: object = ()) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.uint64)


def f32(values: object = ()) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float32)


def pairs(values: object = ()) -> np.ndarray:
    return i32(values).reshape(-1, 2)


@dataclass
class StepCommand:
    """One iteration for S sequences; T = sum(query_lens) new tokens, at [context_len - query_len, context_len)."""

    seq_ids: np.ndarray = field(default_factory=i32)  # [S]
    # [S] new tokens: a prefill chunk, or 1 to decode
    query_lens: np.ndarray = field(default_factory=i32)
    context_lens: np.ndarray = field(default_factory=i32)  # [S] tokens in the cache after this step
    token_ids: np.ndarray = field(default_factory=i32)  # [T] flat; LAST_TOKEN allowed
    # [S, W], padded with 0
    block_table: np.ndarray = field(default_factory=lambda: i32(np.zeros((0, 0))))
    sample: np.ndarray = field(default_factory=i32)  # [S] 1 where the sequence emits a token
    temperature: np.ndarray = field(default_factory=f32)  # [S] 0 = greedy
    top_p: np.ndarray = field(default_factory=f32)  # [S] 1 = off
    top_k: np.ndarray = field(default_factory=i32)  # [S] 0 = off
    seed: np.ndarray = field(default_factory=u64)  # [S] counter-based RNG key, with the position
    presence_penalty: np.ndarray = field(default_factory=f32)  # [S]
    frequency_penalty: np.ndarray = field(default_factory=f32)  # [S]
    repetition_penalty: np.ndarray = field(default_factory=f32)  # [S] 1 = off
    min_p: np.ndarray = field(default_factory=f32)  # [S] 0 = off
    # [S] how many of penalty_tokens each sequence owns
    penalty_lens: np.ndarray = field(default_factory=i32)
    # flat output tokens so far (only if penalised)
    penalty_tokens: np.ndarray = field(default_factory=i32)
    # [S] -1 none, 0 chosen token only, N also top-N
    num_logprobs: np.ndarray = field(default_factory=i32)
    # [P, 2] (gpu block, cpu block), before the forward
    swap_out: np.ndarray = field(default_factory=pairs)
    swap_in: np.ndarray = field(default_factory=pairs)  # [P, 2] (cpu block, gpu block)
    copy: np.ndarray = field(default_factory=pairs)  # [P, 2] (src gpu block, dst gpu block)
    # sequence ids whose state the worker may drop
    finished: np.ndarray = field(default_factory=i32)

    @property
    def num_seqs(self) -> int:
        return len(self.seq_ids)

    @property
    def num_tokens(self) -> int:
        return len(self.token_ids)


@dataclass
class StepResult:
    """One entry per sequence that had sample=1, in step order."""

    seq_ids: np.ndarray = field(default_factory=i32)
    tokens: np.ndarray = field(default_factory=i32)
    # [K] chosen token's logprob (empty if no row asked)
    logprobs: np.ndarray = field(default_factory=f32)
    top_ids: np.ndarray = field(default_factory=lambda: i32(np.zeros((0, 0))))  # [K, N]
    top_logprobs: np.ndarray = field(default_factory=lambda: f32(np.zeros((0, 0))))  # [K, N]
    # ms: queue, forward, sample, wait, gpu, gpu_idle
    timings: dict[str, float] = field(default_factory=dict)
    # seq id -> why the worker refused that sequence's values (it computed the step with neutral ones): the
    # controller fails that request alone; the other sequences' results are good
    errors: dict[int, str] = field(default_factory=dict)


def array_prototypes(cls: type) -> dict[str, np.ndarray]:
    """Each array field's empty default: its dtype and rank are the field's type, in memory and on the wire."""
    return {item.name: item.default_factory() for item in fields(cls) if item.type is np.ndarray}


STEP_ARRAYS = array_prototypes(StepCommand)
RESULT_ARRAYS = array_prototypes(StepResult)
