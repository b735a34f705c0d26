"""Which sequences run in the next step, and how many tokens each (the policy a researcher replaces).

Iteration-level scheduling with selective batching: every step re-decides. Decodes go first, then
prefill chunks fill the rest of the token budget (chunked prefill piggybacked on decode). Admission is
first come first served, bounded by free KV blocks and running sequences. When blocks run out, the
newest running sequence is preempted: swapped to CPU, or recomputed later if swap space is full.
Prefill and decode are one case: a sequence computes its uncached tokens and samples once none are left."""

from collections import deque
from dataclasses import dataclass, field

from swiftllm.config import CacheGeometry, EngineConfig
from swiftllm.controller.block_manager import BlockManager
from swiftllm.controller.sequence import Sequence, Status
from swiftllm.protocol.step import LAST_TOKEN, StepCommand, f32, i32, pairs


@dataclass(frozen=True)
class SchedulerConfig:
    """What the scheduler needs: the cache it manages and the limits of one step.

    No defaults of its own: build it with `from_engine` from an EngineConfig (whose defaults and checks
    are the only ones) and the cache the worker allocated."""

    max_model_len: int
    num_gpu_blocks: int
    num_cpu_blocks: int
    block_size: int
    max_num_seqs: int
    max_num_batched_tokens: int

    @staticmethod
    def from_engine(config: EngineConfig, cache: CacheGeometry) -> "SchedulerConfig":
        return SchedulerConfig(
            max_model_len=cache.max_model_len,
            num_gpu_blocks=cache.num_gpu_blocks,
            num_cpu_blocks=cache.num_cpu_blocks,
            block_size=config.block_size,
            max_num_seqs=config.max_num_seqs,
            max_num_batched_tokens=config.max_num_batched_tokens,
        )


@dataclass
class Batch:
    seqs: list[Sequence] = field(default_factory=list)
    query_lens: list[int] = field(default_factory=list)
    swap_out: list[tuple[int, int]] = field(default_factory=list)
    swap_in: list[tuple[int, int]] = field(default_factory=list)
    finished_ids: list[int] = field(default_factory=list)

    def command(self, block_size: int) -> StepCommand:
        width = max((len(s.blocks) for s in self.seqs), default=0)
        table = i32([s.blocks + [0] * (width - len(s.blocks)) for s in self.seqs]).reshape(
            len(self.seqs), width
        )
        tokens = [
            t
            for s, q in zip(self.seqs, self.query_lens)
            for t in s.token_ids[s.num_cached : s.num_cached + q]
        ]
        # each penalised sequence's outputs so far; a pending -1 among them is the worker's last sampled token
        outputs = [
            s.token_ids[len(s.prompt_ids) :]
            if s.params.presence_penalty or s.params.frequency_penalty
            else []
            for s in self.seqs
        ]
        ctx = [s.num_cached + q for s, q in zip(self.seqs, self.query_lens)]
        p = [s.params for s in self.seqs]
        return StepCommand(
            seq_ids=i32([s.seq_id for s in self.seqs]),
            query_lens=i32(self.query_lens),
            context_lens=i32(ctx),
            token_ids=i32(tokens),
            block_table=table,
            seed=i32([s.seed for s in self.seqs]),
            sample=i32([c == len(s.token_ids) for s, c in zip(self.seqs, ctx)]),
            top_k=i32([x.top_k for x in p]),
            temperature=f32([x.temperature for x in p]),
            top_p=f32([x.top_p for x in p]),
            presence_penalty=f32([x.presence_penalty for x in p]),
            frequency_penalty=f32([x.frequency_penalty for x in p]),
            penalty_lens=i32([len(o) for o in outputs]),
            penalty_tokens=i32([t for o in outputs for t in o]),
            num_logprobs=i32([-1 if x.logprobs is None else x.logprobs for x in p]),
            swap_out=pairs(self.swap_out),
            swap_in=pairs(self.swap_in),
            finished=i32(self.finished_ids),
        )


class Scheduler:
    def __init__(self, cfg: SchedulerConfig) -> None:
        self.cfg = cfg
        self.blocks = BlockManager(cfg.block_size, cfg.num_gpu_blocks, cfg.num_cpu_blocks)
        self.waiting: deque[Sequence] = deque()
        self.running: list[Sequence] = []
        self.swapped: list[Sequence] = []
        self.finished_ids: list[int] = []  # reported to the worker with the next step
        self.counters = {"preemptions": 0, "swaps_out": 0, "swaps_in": 0, "recomputes": 0}
        # longest sequence: the model's context, or what the whole cache holds if that is less
        self.max_len = min(cfg.max_model_len, cfg.num_gpu_blocks * cfg.block_size)

    def add(self, seq: Sequence) -> None:
        """Queue a sequence; one that could never run is rejected rather than left to block the queue."""
        if not seq.prompt_ids:
            raise ValueError("the prompt is empty")
        if len(seq.prompt_ids) >= self.max_len:
            raise ValueError(
                f"the prompt has {len(seq.prompt_ids)} tokens; the context holds {self.max_len} "
                "tokens (prompt plus at least one output token)"
            )
        self.waiting.append(seq)

    @property
    def has_work(self) -> bool:
        return bool(self.waiting or self.running or self.swapped)

    def schedule(self) -> Batch:
        batch, budget = Batch(finished_ids=self.finished_ids), self.cfg.max_num_batched_tokens
        self.finished_ids = []
        preempted = False
        # decodes first, then prefill chunks; oldest first within each
        for seq in sorted(self.running, key=lambda s: (s.num_uncached > 1, s.arrival)):
            if seq.status is not Status.RUNNING or self.done_when_read(seq):
                continue  # preempted earlier in this loop, or its pending token is its last
            q = min(seq.num_uncached, budget)
            while q and not self.blocks.grow(seq.blocks, seq.num_cached + q):
                victims = [s for s in self.running if s is not seq and s not in batch.seqs]
                victim = max(victims, key=lambda s: s.arrival) if victims else seq
                self.preempt(victim, batch)
                preempted = True
                if victim is seq:
                    q = 0
            if q:
                batch.seqs.append(seq)
                batch.query_lens.append(q)
                budget -= q
        if not preempted:
            self.swap_back(batch)
            self.admit(batch, budget)
        return batch

    def swap_back(self, batch: Batch) -> None:
        while self.swapped and len(self.running) < self.cfg.max_num_seqs:
            seq = self.swapped[0]
            if self.blocks.gpu.num_free < len(seq.blocks) + 1:  # room for its next token too
                break
            moves = self.blocks.move(seq.blocks, self.blocks.cpu, self.blocks.gpu)
            batch.swap_in += moves
            seq.blocks, seq.status = [gpu for _, gpu in moves], Status.RUNNING
            self.running.append(self.swapped.pop(0))
            self.counters["swaps_in"] += 1

    def admit(self, batch: Batch, budget: int) -> None:
        while self.waiting and budget and len(self.running) < self.cfg.max_num_seqs:
            seq = self.waiting[0]
            q = min(seq.num_uncached, budget)
            if not self.blocks.grow(seq.blocks, q):
                break
            seq.status = Status.RUNNING
            self.running.append(self.waiting.popleft())
            batch.seqs.append(seq)
            batch.query_lens.append(q)
            budget -= q

    def preempt(self, seq: Sequence, batch: Batch) -> None:
        self.counters["preemptions"] += 1
        self.running.remove(seq)
        moves = (
            self.blocks.move(seq.blocks, self.blocks.gpu, self.blocks.cpu)
            if seq.num_cached
            else None
        )
        if moves is not None:
            batch.swap_out += moves
            seq.blocks, seq.status = [cpu for _, cpu in moves], Status.SWAPPED
            self.swapped.append(seq)
            self.swapped.sort(key=lambda s: s.arrival)
            self.counters["swaps_out"] += 1
        else:  # swap full (or nothing cached): drop the cache, compute it again later
            self.blocks.gpu.free(seq.blocks)
            seq.blocks, seq.num_cached, seq.status = [], 0, Status.WAITING
            self.waiting.appendleft(seq)
            self.counters["recomputes"] += 1

    def done_when_read(self, seq: Sequence) -> bool:
        return bool(seq.pending) and (
            seq.num_outputs + seq.pending >= seq.params.max_tokens
            or len(seq.token_ids) >= self.max_len
        )

    def sent(self, batch: Batch) -> None:
        """The batch is on its way: its tokens count as cached, and each sampling sequence gets a placeholder,
        so the next step can be scheduled (decoding token -1) before this one's tokens are read."""
        for seq, q in zip(batch.seqs, batch.query_lens):
            seq.num_cached += q
            if seq.num_cached == len(seq.token_ids):
                seq.token_ids.append(LAST_TOKEN)
                seq.pending += 1

    def update(
        self, batch: Batch, seq_ids: list[int], tokens: list[int], eos_ids: tuple[int, ...]
    ) -> list[tuple[int, Sequence]]:
        """Fill each sequence's oldest placeholder with its sampled token; finish the done ones.
        Returns (result row, sequence) for each sequence that took a token."""
        by_id, got = {s.seq_id: s for s in batch.seqs}, []
        for row, (seq_id, token) in enumerate(zip(seq_ids, tokens)):
            seq = by_id[seq_id]
            if seq.finished:
                continue  # finished (or aborted) while this step was in flight
            got.append((row, seq))
            at = len(seq.token_ids) - seq.pending
            seq.token_ids[at] = token
            seq.pending -= 1
            p = seq.params
            if (token in eos_ids and not p.ignore_eos) or token in p.stop_token_ids:
                self.finish(seq, "stop")
            elif seq.num_outputs >= p.max_tokens or at + 1 >= self.max_len:
                self.finish(seq, "length")
        return got

    def finish(self, seq: Sequence, reason: str) -> None:
        """End a sequence in any state (also an abort) and return its blocks."""
        if seq.finished:
            return
        swapped = seq.status is Status.SWAPPED
        queue = (
            self.swapped
            if swapped
            else self.running
            if seq.status is Status.RUNNING
            else self.waiting
        )
        if seq in queue:  # a WAITING one may never have been queued
            queue.remove(seq)
            (self.blocks.cpu if swapped else self.blocks.gpu).free(seq.blocks)
        del seq.token_ids[
            len(seq.token_ids) - seq.pending :
        ]  # a step in flight may still compute one: ignored
        seq.blocks, seq.status, seq.finish_reason, seq.pending = [], Status.FINISHED, reason, 0
        self.finished_ids.append(seq.seq_id)
