"""A request's state as the controller tracks it, from admission to its last token."""

import enum
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from swiftllm.controller.tokenizer import Detokenizer
from swiftllm.sampling_params import SamplingParams


def block_array(block_ids: Iterable[int] = ()) -> "array[int]":
    """Block ids packed as C ints (int32): a step's block table joins their bytes instead of converting
    every id again."""
    return array("i", block_ids)


class Status(enum.Enum):
    WAITING = "waiting"  # not in the cache: new, or preempted to be recomputed
    RUNNING = "running"  # its blocks are on the GPU
    SWAPPED = "swapped"  # its blocks are in CPU swap space
    FINISHED = "finished"


class TokenLogprobs(NamedTuple):
    """One output token's log-probability, and the top N candidates' as (token id, logprob), best
    first."""

    logprob: float
    top: list[tuple[int, float]]


@dataclass(eq=False)
class Sequence:
    seq_id: int
    prompt_ids: list[int]
    params: SamplingParams  # resolved: no None left
    seed: int
    arrival: float  # time.monotonic() when add_request queued it; older sequences go first
    # prompt, outputs, then `num_pending` placeholders (LAST_TOKEN)
    token_ids: list[int] = field(default_factory=list)
    # tokens sampled by a step in flight, not yet read back (the worker knows them)
    num_pending: int = 0
    # the arrival of the first sequence of its arrival group (scheduler.py: longest-first orders
    # within one)
    arrival_group: float = 0.0
    # leading tokens whose K/V are in the cache (or will be, once steps in flight run); an admission
    # starts it at the prefix cache's hit
    num_cached: int = 0
    # GPU blocks, or CPU blocks while swapped (a block_array)
    blocks: "array[int]" = field(default_factory=block_array)
    # prefix caching: the digests of its leading full blocks of known tokens, extended as needed
    # (block_manager.py), and how many leading blocks of `blocks` have been offered to the cache index
    block_digests: list[bytes] = field(default_factory=list)
    num_registered_blocks: int = 0
    # prompt tokens taken from the prefix cache at the first admission (None before it)
    num_prompt_cache_hits: int | None = None
    status: Status = Status.WAITING
    finish_reason: str | None = None  # "stop" | "length" | "abort" | "error"
    error: str | None = None  # why it finished with "error": the client reads this
    text: str = ""  # detokenized output so far
    # where each output token's text begins in `text` (completions' legacy logprobs: text_offset)
    text_offsets: list[int] = field(default_factory=list)
    logprobs: list[TokenLogprobs] = field(default_factory=list)
    detokenizer: Detokenizer | None = None

    def __post_init__(self) -> None:
        self.token_ids = list(self.prompt_ids)

    @property
    def output_ids(self) -> list[int]:
        return self.outputs(0, self.num_outputs)

    def outputs(self, start: int, end: int) -> list[int]:
        """Output ids start to end (a stream's new tokens each step, without copying the ones before)."""
        return self.token_ids[len(self.prompt_ids) + start : len(self.prompt_ids) + end]

    @property
    def num_outputs(self) -> int:
        return len(self.token_ids) - len(self.prompt_ids) - self.num_pending

    @property
    def num_uncached(self) -> int:
        return len(self.token_ids) - self.num_cached

    @property
    def num_known(self) -> int:
        """Tokens whose ids are known: all but the placeholders of steps in flight."""
        return len(self.token_ids) - self.num_pending

    @property
    def finished(self) -> bool:
        return self.status is Status.FINISHED
