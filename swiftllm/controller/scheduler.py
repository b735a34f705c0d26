"""Which sequences run in the next step, and how many tokens each: the policy a researcher replaces.

Iteration-level scheduling with selective batching: every step re-decides. Decodes go first, then
prefill chunks fill the rest of the token budget (chunked prefill piggybacked on decode); the step's
rows are then laid out decodes longest context first (`Batch.order_rows`). Admission is first come
first served (or longest first, or first come first served with a backlog paced: see `paced_budget`),
bounded by free KV blocks and running sequences. When blocks run out, the newest running sequence is
preempted (`pick_victim`): swapped to CPU, or recomputed later if swap space is full.
Prefill and decode are one case: a sequence computes its uncached tokens and samples once none are
left. With prefix caching, an admitted sequence starts from the longest run of cached full blocks its
tokens begin with (block_manager.py) and computes only the rest."""

import bisect
import inspect
import math
import pkgutil
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from swiftllm.controller.block_manager import ROOT_DIGEST, BlockCopy, BlockManager, block_digest
from swiftllm.controller.sequence import Sequence, Status, block_array
from swiftllm.protocol.step import LAST_TOKEN, StepCommand, f32, i32, pairs, u64

# the built-in policies (EngineConfig.schedule_policy); any other is a module:Class (scheduler_class)
SCHEDULE_POLICIES = ("fcfs", "longest-first", "paced")
# longest-first paces a backlog: a step's budget is the work left spread over the steps the longest
# request still needs, times PACED_SLACK (prompts come in whole, blocks and seats run short: paced
# exactly, the work would overrun the longest's steps), rounded up to PACED_QUANTUM, at least
# PACED_MIN_TOKENS. The quantum: the worker pads a mixed step to its graph's token count (multiples
# of 32 up to 256, worker/cuda_graphs.py), so a budget rounded up to it costs no more. Measured on
# the H200 (Llama-3-8B, bench/results/h200/device_call_s32_call{2,3,4}.log): the first 200 requests
# of the 1000 all at once (a spread of ~60 tokens a step) took 7.49 / 7.60 s at a floor of 160, 7.41
# / 7.62 at 128, 7.80 / 7.97 at 256, 8.12 / 8.34 first come first served; all 1000 (a spread of 206)
# 16.20 s at a fixed 256 and 16.90 at 206 (floor 160, no slack), 17.04 / 18.08 at 1.25 x 206 = 258
# tokens, which replay the 320-token graph.
PACED_MIN_TOKENS = 160
PACED_SLACK = 1.2
PACED_QUANTUM = 32
# A backlog (backlogged) is more prompt tokens waiting than this (or a step's budget, if less): some
# twenty of the workload's prompts, where a drain of the engine's inbox at 16 requests/s holds one
# or two. A burst reaches the engine over several steps (HTTP), each seeing part of it: at 16,384
# one of twelve all-at-once runs on the H200 was never paced (device_call_s32_call4.log).
BACKLOG_TOKENS = 4096
# longest-first orders the waiting by arrival group, then longest first: a group is the sequences
# that arrive within this many seconds of its first one, or before the engine's next step
# (LLM.generate's whole batch, however long it takes to tokenize), so a burst spread over steps is
# one group, and a later group never overtakes an earlier one.
ARRIVAL_GROUP_S = 1.0


@dataclass(frozen=True)
class SchedulerConfig:
    """What the scheduler needs: the cache it manages and the limits of one step.

    No defaults of its own: `EngineConfig.scheduler_config` derives it from the engine's config (whose
    defaults and checks are the only ones) and the worker's cache; the worker then allocates the cache it
    describes."""

    max_model_len: int
    num_gpu_blocks: int
    num_cpu_blocks: int
    block_size: int
    max_num_seqs: int
    max_num_batched_tokens: int
    enable_prefix_caching: bool
    # P > 1: the sequences go in P disjoint groups, one step of each in flight (pipeline stages overlap)
    pipeline_stages: int
    # "fcfs", "longest-first" or "paced" (SCHEDULE_POLICIES), or "module:Class": a Scheduler
    # subclass that replaces the policy (scheduler_class)
    schedule_policy: str

    @property
    def cache_fields(self) -> dict[str, int]:
        """The cache it describes, as init_cache's fields (docs/protocol.md), for every worker."""
        return {
            "block_size": self.block_size,
            "num_blocks": self.num_gpu_blocks,
            "num_cpu_blocks": self.num_cpu_blocks,
            "max_model_len": self.max_model_len,
        }


@dataclass
class Batch:
    """One step's plan in the controller's terms; `command` turns it into the worker's StepCommand.

    Row i is seqs[i], computing query_lens[i] of its uncached tokens. The worker makes the swap_out
    (GPU -> CPU) and swap_in (CPU -> GPU) copies before the forward, so blocks that a swap-out frees
    may already hold a sequence of this same step. finished_ids: sequences that ended since the last
    step was sent; the worker forgets their last sampled token."""

    seqs: list[Sequence] = field(default_factory=list)
    query_lens: list[int] = field(default_factory=list)
    swap_out: list[BlockCopy] = field(default_factory=list)
    swap_in: list[BlockCopy] = field(default_factory=list)
    finished_ids: list[int] = field(default_factory=list)
    # the rows that sample, in row order (set by mark_sent): the step's reply lists their seq ids in it
    sampled: list[Sequence] = field(default_factory=list)

    def add(self, seq: Sequence, query_len: int) -> None:
        self.seqs.append(seq)
        self.query_lens.append(query_len)

    def order_rows(self) -> None:
        """Put the rows in row_order. decode_attention starts its programs row by row, so a long
        context in a late row would be the straggler of a step whose contexts vary
        (docs/performance_log.md, session 15). Only the layout changes: who got tokens and blocks is
        decided before, in the policy's order."""
        rows = sorted(zip(self.seqs, self.query_lens), key=row_order)
        self.seqs = [seq for seq, _ in rows]
        self.query_lens = [query_len for _, query_len in rows]

    def command(self, block_size: int) -> StepCommand:
        """The columnar StepCommand for this batch: one entry per row in every per-sequence array.

        Call it before `Scheduler.mark_sent` moves num_cached on. A row whose sequence is not RUNNING or
        lacks blocks for its context (a replacement policy breaking schedule()'s contract) raises
        RuntimeError: its block table would be padding, block 0, and the worker would write its K/V into
        another sequence's block without an error. For row i:
        - token_ids gets seqs[i].token_ids[num_cached : num_cached + query_lens[i]], flattened in
          row order; a LAST_TOKEN placeholder among them means the worker's last sampled token;
        - context_lens[i] = num_cached + query_lens[i], the tokens in the cache after the step;
        - sample[i] = 1 when that context reaches the sequence's last known token: it emits one;
        - block_table row i is its block list, padded with 0 to the longest one in the batch;
        - the sampling arrays copy its params (num_logprobs -1 = none), and a penalised sequence
          sends its outputs so far (penalty_lens[i] of penalty_tokens, placeholders included)."""
        context_lens: list[int] = []
        new_token_ids: list[int] = []
        penalty_lens: list[int] = []
        penalty_tokens: list[int] = []
        for seq, query_len in zip(self.seqs, self.query_lens):
            context_lens.append(seq.num_cached + query_len)
            if seq.status is not Status.RUNNING or len(seq.blocks) * block_size < context_lens[-1]:
                raise RuntimeError(f"schedule() gave seq {seq.seq_id}, not RUNNING with blocks")
            new_token_ids += seq.token_ids[seq.num_cached : seq.num_cached + query_len]
            outputs = seq.token_ids[len(seq.prompt_ids) :] if seq.params.is_penalized else []
            penalty_lens.append(len(outputs))
            penalty_tokens += outputs
        num_blocks = i32([len(seq.blocks) for seq in self.seqs])
        block_table = np.zeros((len(self.seqs), num_blocks.max(initial=0)), np.int32)
        # the rows' blocks in row order, as one buffer (block_array), into each row's leading columns
        is_block = np.arange(block_table.shape[1]) < num_blocks[:, None]
        block_table[is_block] = np.frombuffer(b"".join(seq.blocks for seq in self.seqs), np.intc)
        params = [seq.params for seq in self.seqs]
        return StepCommand(
            seq_ids=i32([seq.seq_id for seq in self.seqs]),
            query_lens=i32(self.query_lens),
            context_lens=i32(context_lens),
            token_ids=i32(new_token_ids),
            block_table=block_table,
            seed=u64([seq.seed for seq in self.seqs]),
            sample=i32([end == len(seq.token_ids) for seq, end in zip(self.seqs, context_lens)]),
            top_k=i32([param.top_k for param in params]),
            temperature=f32([param.temperature for param in params]),
            top_p=f32([param.top_p for param in params]),
            presence_penalty=f32([param.presence_penalty for param in params]),
            frequency_penalty=f32([param.frequency_penalty for param in params]),
            repetition_penalty=f32([param.repetition_penalty for param in params]),
            min_p=f32([param.min_p for param in params]),
            penalty_lens=i32(penalty_lens),
            penalty_tokens=i32(penalty_tokens),
            num_logprobs=i32(
                [-1 if param.logprobs is None else param.logprobs for param in params]
            ),
            swap_out=pairs(self.swap_out),
            swap_in=pairs(self.swap_in),
            finished=i32(self.finished_ids),
        )


def decodes_first_then_oldest(seq: Sequence) -> tuple[bool, float]:
    """The order running sequences get the token budget (and blocks) in: decodes, then prefill
    chunks; oldest first within each."""
    return (seq.num_uncached > 1, seq.arrival)


def row_order(row: tuple[Sequence, int]) -> tuple[bool, int]:
    """A step's rows, once the budget is given out: one-token queries (decodes) longest context first,
    then the prefill chunks in the order they got the budget (sorted is stable)."""
    seq, query_len = row
    return (True, 0) if query_len > 1 else (False, -seq.num_cached)


def remaining_outputs(seq: Sequence) -> int:
    """Tokens seq may still sample (placeholders of steps in flight count as sampled): the fewest
    steps it still needs."""
    return seq.params.max_tokens - (len(seq.token_ids) - len(seq.prompt_ids))


def longest_first_order(seq: Sequence) -> tuple[float, int]:
    """The longest-first policy's waiting order: by arrival group, then most remaining_outputs first."""
    return seq.arrival_group, -remaining_outputs(seq)


class Scheduler:
    def __init__(self, cfg: SchedulerConfig) -> None:
        self.cfg = cfg
        # without prefix caching, no block is ever registered (register_full_blocks) or looked up
        self.block_manager = BlockManager(cfg.block_size, cfg.num_gpu_blocks, cfg.num_cpu_blocks)
        self.waiting: deque[Sequence] = deque()
        self.running: list[Sequence] = []
        self.swapped: list[Sequence] = []
        self.finished_ids: list[int] = []  # reported to the worker with the next step
        # every counter from 0 (as Engine.warm_up resets them): preemptions and where they went, then
        # tokens, as vLLM counts them: prompt tokens looked up in the prefix cache at first admission,
        # those found there, and prompt tokens actually prefilled (recomputes too)
        preemptions = ("preemptions", "swaps_out", "swaps_in", "recomputes")
        prompt_tokens = ("prefix_cache_queries", "prefix_cache_hits", "prompt_tokens_computed")
        self.counters = dict.fromkeys(preemptions + prompt_tokens, 0)
        # longest sequence: the model's context, or what the whole cache holds if that is less
        self.max_len = min(cfg.max_model_len, cfg.num_gpu_blocks * cfg.block_size)
        # the latest arrival group's first arrival, and whether a step was scheduled since it began
        self.group_start = -math.inf
        self.stepped_since_group_start = True
        # longest-first: the paced budget while a backlog is paced (backlogged), else 0
        self.paced_tokens = 0

    def add(self, seq: Sequence) -> None:
        """Queue a sequence; one that could never run is rejected, not left to block the queue."""
        if not seq.prompt_ids:
            raise ValueError("the prompt is empty")
        if len(seq.prompt_ids) >= self.max_len:
            raise ValueError(
                f"the prompt has {len(seq.prompt_ids)} tokens; the context holds {self.max_len} "
                "tokens (prompt plus at least one output token)"
            )
        if seq.arrival - self.group_start > ARRIVAL_GROUP_S and self.stepped_since_group_start:
            self.group_start = seq.arrival
            self.stepped_since_group_start = False
        seq.arrival_group = self.group_start
        if self.cfg.schedule_policy == "longest-first":
            # most remaining_outputs first within an arrival group, behind every earlier group (so
            # no one waits forever behind longer ones that keep coming); a tie goes behind the earlier
            # ones. A sequence preempted to recompute goes to the front (preempt), ahead of this order;
            # bisect reads that front as sorted, so a later arrival of the same group with more outputs left
            # may still be placed ahead of it (session 65's hunt: admission order only, never outputs).
            bisect.insort(self.waiting, seq, key=longest_first_order)
            return
        self.waiting.append(seq)

    @property
    def has_work(self) -> bool:
        return bool(self.waiting or self.running or self.swapped)

    def schedule(self) -> Batch:
        """Decide the next step: which sequences compute, how many tokens each, which blocks move.

        Must return a Batch (see Batch) where:
        - each sequence of seqs appears once, is RUNNING, owns GPU blocks for num_cached + query_len
          tokens, and has 1 <= query_len <= num_uncached;
        - the query_lens sum to at most max_num_batched_tokens, and at most max_num_seqs sequences
          are running;
        - every block moved (preemption, swap back) is listed in swap_out / swap_in;
        - finished_ids carries a copy of self.finished_ids (mark_sent drops those once sent; a batch
          not sent leaves them for the next one).
        An empty Batch (no rows, no block moves) is fine: the engine then sends nothing.

        Must not: talk to the worker; advance num_cached or fill token_ids (mark_sent and
        fill_sampled_tokens do that, once the batch is sent and read back; only a preemption to
        recompute resets num_cached to 0, and an admission sets it to the prefix cache's hit); lose a
        block, or let a step write into a block another sequence holds (blocks are shared only when
        full and cached; tests/controller/test_scheduler.py checks both); schedule a sequence whose
        pending token will be its last (done_when_read); schedule a sequence with a pending token (its
        -1 placeholder) other than as a one-token decode: with pipeline stages a sequence recomputed
        while its step is in flight waits in `waiting` for that token (admit stops at it; the worker
        refuses -1 anywhere but as a decode's one token).

        This policy: running sequences first (decodes, then prefill chunks, oldest first),
        preempting the newest when blocks run out; then, unless someone was preempted, swapped
        sequences come back and, once none is left swapped, waiting ones are admitted, first come
        first served. With
        schedule_policy "longest-first", the waiting ones are admitted most remaining_outputs first
        (within an arrival group: longest_first_order), and while a backlog waits (backlogged) the
        step's token budget is paced_budget(); "paced" paces a backlog the same way but admits first come
        first served (all at once it trades later first tokens for throughput, with arrival order kept,
        when the longest requests arrive early; when they arrive late it admits them later and loses:
        bench/results/cpu/fcfs_pacing_s41.py and schedule_sim_s41_paced.log, simulated; measured once, on
        an H100 in session 44: +2.2 % output rate over fcfs all at once, later first tokens,
        bench/results/h100/device_call_s44_h100.log).
        Last, Batch.order_rows lays the rows out for the kernels (decodes longest context first); any
        order of rows is a valid Batch."""
        batch = Batch(finished_ids=list(self.finished_ids))  # mark_sent drops them once sent
        seats = self.seats_per_step()  # sequences this step may hold
        self.stepped_since_group_start = True
        budget = self.cfg.max_num_batched_tokens
        # longest-first and paced pace a backlog; fcfs never does
        if self.cfg.schedule_policy in ("longest-first", "paced") and self.backlogged(budget):
            budget = self.paced_budget()
        # a preemption means blocks are short: then nobody comes in this step
        if not self.continue_running(batch, budget, seats):
            self.swap_back(batch)
            # one still swapped goes before new ones: admitted, they took each block it waited for, and
            # it stayed out while arrivals lasted (session 68's hunt)
            if not self.swapped:
                self.admit(batch, budget - sum(batch.query_lens), seats)
        batch.order_rows()
        return batch

    def paced_budget(self) -> int:
        """The token budget of longest-first and paced: the work left spread evenly over the steps the
        longest request still needs, times PACED_SLACK and rounded up to PACED_QUANTUM, at least
        PACED_MIN_TOKENS (backlogged sets it) and at most max_num_batched_tokens; and never less than
        an earlier step of the same backlog's. With slack a step takes more than its share, so the
        spread falls step by step; budgets that followed it down would leave work to the end.

        The run cannot take fewer steps than the longest request has tokens to sample, and a step
        costs about one weight read until it holds some hundred tokens (H200, Llama-3-8B: ~200). So
        a run of big steps first and a long tail of near-empty ones (first come first served, its
        longest request admitted late) wastes the tail's weight reads; equal steps from the first
        one use them. Work is counted from max_tokens, so an early stop only ends the run sooner."""
        seqs = [*self.running, *self.waiting, *self.swapped]
        work = sum(len(seq.prompt_ids) + seq.params.max_tokens - seq.num_cached for seq in seqs)
        longest = max([remaining_outputs(seq) for seq in seqs], default=1)
        spread = math.ceil(PACED_SLACK * work / max(longest, 1))
        spread = -(-spread // PACED_QUANTUM) * PACED_QUANTUM
        self.paced_tokens = max(self.paced_tokens, spread)
        return min(self.paced_tokens, self.cfg.max_num_batched_tokens)

    def backlogged(self, budget: int) -> bool:
        """Whether longest-first (or paced) paces this step: from a step at which more prompt tokens
        wait than BACKLOG_TOKENS (or `budget`, if less), until no one waits. Without such a backlog a
        step takes in all that fits, so that online traffic's first tokens never wait on pacing (issue 16's online
        runs)."""
        if not self.waiting:
            self.paced_tokens = 0
        elif self.paced_tokens == 0:  # not pacing yet: count the queue (once pacing, no need)
            if sum(seq.num_uncached for seq in self.waiting) > min(budget, BACKLOG_TOKENS):
                self.paced_tokens = PACED_MIN_TOKENS
        return self.paced_tokens > 0

    def seats_per_step(self) -> int:
        """Sequences one step may hold: all of them, or with P pipeline stages a P-th of those running
        and waiting (rounded up), so that P disjoint groups keep the stages busy."""
        if self.cfg.pipeline_stages == 1:
            return self.cfg.max_num_seqs
        alive = len(self.running) + len(self.waiting)
        return max(1, -(-alive // self.cfg.pipeline_stages))

    def continue_running(self, batch: Batch, budget: int, seats: int) -> bool:
        """Give running sequences their next tokens within the budget and `seats`; True if one was
        preempted."""
        preempted = False
        for seq in sorted(self.running, key=decodes_first_then_oldest):
            if seq.status is not Status.RUNNING:
                continue  # preempted earlier in this loop
            if self.done_when_read(seq):
                continue  # its pending token is its last: nothing left to compute
            if self.cfg.pipeline_stages > 1 and seq.num_pending:
                continue  # in a step still in flight: it goes with its group's next step
            if len(batch.seqs) >= seats:
                break
            query_len = min(seq.num_uncached, budget)
            while query_len and not self.block_manager.grow(seq.blocks, seq.num_cached + query_len):
                victim = self.pick_victim(seq, batch)
                self.preempt(victim, batch)
                preempted = True
                if victim is seq:
                    query_len = 0
            if query_len:
                batch.add(seq, query_len)
                budget -= query_len
        return preempted

    def pick_victim(self, seq: Sequence, batch: Batch) -> Sequence:
        """Whom to preempt so that seq can grow: the newest running sequence not yet in this step,
        else seq itself."""
        others = [other for other in self.running if other is not seq and other not in batch.seqs]
        return max(others, key=lambda other: other.arrival, default=seq)

    def swap_back(self, batch: Batch) -> None:
        """Bring swapped sequences back to the GPU, oldest first, while they fit."""
        manager = self.block_manager
        while self.swapped and len(self.running) < self.cfg.max_num_seqs:
            seq = self.swapped[0]
            # room for its next token too, unless it holds the whole cache (it was shared)
            if manager.gpu.num_free < min(len(seq.blocks) + 1, manager.gpu.num_blocks):
                break
            copies = manager.cpu.move(seq.blocks, manager.gpu)
            batch.swap_in += copies
            seq.blocks = block_array(copy.destination for copy in copies)
            seq.status = Status.RUNNING
            self.running.append(self.swapped.pop(0))
            self.counters["swaps_in"] += 1
            # the copies are made before this step's forward: later readers find them filled
            seq.num_registered_blocks = 0
            self.register_full_blocks(seq)

    def admit(self, batch: Batch, budget: int, seats: int) -> None:
        """Start waiting sequences in `waiting`'s order (arrival; longest-first keeps it sorted by
        longest_first_order) while tokens, blocks and `seats` (of this step) last."""
        while self.waiting and budget and len(self.running) < self.cfg.max_num_seqs:
            # a sequence recomputed while its step is in flight (pipeline stages) waits for that step's
            # token: -1 stands only for a decode's one token
            if len(batch.seqs) >= seats or self.waiting[0].num_pending:
                break
            seq = self.waiting[0]
            self.take_cached_prefix(seq)
            query_len = min(seq.num_uncached, budget)
            if not self.block_manager.grow(seq.blocks, seq.num_cached + query_len):
                self.drop_gpu_blocks(seq)
                break
            if seq.num_prompt_cache_hits is None:  # first admission: count its prompt's lookup
                seq.num_prompt_cache_hits = seq.num_cached
                if self.cfg.enable_prefix_caching:
                    self.counters["prefix_cache_queries"] += len(seq.prompt_ids)
                    self.counters["prefix_cache_hits"] += seq.num_cached
            seq.status = Status.RUNNING
            self.running.append(self.waiting.popleft())
            batch.add(seq, query_len)
            budget -= query_len

    def preempt(self, seq: Sequence, batch: Batch) -> None:
        """Take a running sequence off the GPU: to CPU swap space, or (swap full) to recompute."""
        self.counters["preemptions"] += 1
        self.running.remove(seq)
        manager = self.block_manager
        copies = manager.gpu.move(seq.blocks, manager.cpu) if seq.num_cached else None
        if copies is not None:
            batch.swap_out += copies
            seq.blocks = block_array(copy.destination for copy in copies)
            seq.status = Status.SWAPPED
            # oldest first, as swap_back takes them (a tie goes behind, as a stable sort puts it)
            bisect.insort(self.swapped, seq, key=lambda swapped: swapped.arrival)
            self.counters["swaps_out"] += 1
        else:  # swap full (or nothing cached): drop the cache, compute it again later
            self.drop_gpu_blocks(seq)
            seq.status = Status.WAITING
            self.waiting.appendleft(seq)
            self.counters["recomputes"] += 1

    def take_cached_prefix(self, seq: Sequence) -> None:
        """Start a waiting sequence (no blocks yet) from the longest run of cached full blocks its
        known tokens begin with, leaving at least its last known token to compute so that it samples."""
        if not self.cfg.enable_prefix_caching:
            return
        max_blocks = (seq.num_known - 1) // self.cfg.block_size
        hits = self.block_manager.gpu.lookup(self.block_digests(seq, max_blocks))
        self.block_manager.gpu.share(hits)
        seq.blocks = block_array(hits)
        seq.num_cached = len(hits) * self.cfg.block_size
        seq.num_registered_blocks = len(hits)

    def drop_gpu_blocks(self, seq: Sequence) -> None:
        """Give back a sequence's GPU blocks and forget its cache (cached blocks stay indexed)."""
        self.block_manager.gpu.free(seq.blocks)
        seq.blocks = block_array()
        seq.num_cached = 0
        seq.num_registered_blocks = 0

    def block_digests(self, seq: Sequence, num_blocks: int) -> list[bytes]:
        """The digests of seq's first num_blocks blocks, all full of known tokens; each computed once."""
        size = self.cfg.block_size
        digests = seq.block_digests
        while len(digests) < num_blocks:
            start = len(digests) * size
            parent = digests[-1] if digests else ROOT_DIGEST
            digests.append(block_digest(parent, seq.token_ids[start : start + size]))
        return digests[:num_blocks]

    def register_full_blocks(self, seq: Sequence) -> None:
        """Offer a running sequence's newly full blocks to the prefix cache: those whose every token is
        known and computed by a step already sent (the worker runs steps in order, so a later step reads
        them filled). Never a block that is still to be written.

        With prefix caching, a RUNNING sequence keeps num_registered_blocks == min(num_cached,
        num_known) // block_size, so a block can only become newly full when num_cached or num_known
        crosses a block's end: mark_sent and fill_sampled_tokens call this only then. None newly full,
        the range below is empty (their digests were computed when they were registered)."""
        if not self.cfg.enable_prefix_caching or seq.status is not Status.RUNNING:
            return
        num_full = min(seq.num_cached, seq.num_known) // self.cfg.block_size
        digests = self.block_digests(seq, num_full)
        for index in range(seq.num_registered_blocks, num_full):
            self.block_manager.gpu.register(seq.blocks[index], digests[index])
        seq.num_registered_blocks = num_full

    def done_when_read(self, seq: Sequence) -> bool:
        """Whether the tokens a step in flight samples for seq will end it (max_tokens reached or
        context full)."""
        if not seq.num_pending:
            return False
        return remaining_outputs(seq) <= 0 or len(seq.token_ids) >= self.max_len

    def mark_sent(self, batch: Batch) -> None:
        """The batch is on its way: its finished ids are reported, its tokens count as cached, and
        each sampling sequence gets a placeholder, so the next step can be scheduled (decoding token
        -1) before this one's tokens are read."""
        del self.finished_ids[: len(batch.finished_ids)]  # reported: none finished since schedule()
        block_size = self.cfg.block_size
        for seq, query_len in zip(batch.seqs, batch.query_lens):
            # the query's tokens that lie in the prompt: none once the prompt is cached
            prompt_end = min(seq.num_cached + query_len, len(seq.prompt_ids))
            self.counters["prompt_tokens_computed"] += max(prompt_end - seq.num_cached, 0)
            seq.num_cached += query_len
            if seq.num_cached == len(seq.token_ids):
                batch.sampled.append(seq)
                seq.token_ids.append(LAST_TOKEN)
                seq.num_pending += 1
            if seq.num_cached // block_size > (seq.num_cached - query_len) // block_size:
                self.register_full_blocks(seq)  # a block newly computed: maybe newly full

    def fill_sampled_tokens(
        self, batch: Batch, tokens: list[int], eos_ids: tuple[int, ...]
    ) -> list[tuple[int, Sequence]]:
        """Fill each sampling sequence's oldest placeholder with its token (one for each of
        batch.sampled, in order: the engine has checked the reply); finish the done ones.
        Returns (row, sequence) for each sequence that took a token, its row in the step's result
        (one finished or aborted meanwhile takes none)."""
        sampled: list[tuple[int, Sequence]] = []
        for row, (seq, token) in enumerate(zip(batch.sampled, tokens)):
            if seq.finished:
                continue  # finished (or aborted) while this step was in flight
            sampled.append((row, seq))
            position = len(seq.token_ids) - seq.num_pending
            seq.token_ids[position] = token
            seq.num_pending -= 1
            if (position + 1) % self.cfg.block_size == 0:  # a block's last token: maybe newly full
                self.register_full_blocks(seq)
            params = seq.params
            if (token in eos_ids and not params.ignore_eos) or token in params.stop_token_ids:
                self.finish(seq, "stop")
            elif seq.num_outputs >= params.max_tokens or position + 1 >= self.max_len:
                self.finish(seq, "length")
        return sampled

    def finish(self, seq: Sequence, reason: str) -> None:
        """End a sequence in any state (also an abort) and return its blocks."""
        if seq.finished:
            return
        # where a sequence of each status is queued, and the pool its blocks are in
        queue, pool = {
            Status.WAITING: (self.waiting, self.block_manager.gpu),
            Status.RUNNING: (self.running, self.block_manager.gpu),
            Status.SWAPPED: (self.swapped, self.block_manager.cpu),
        }[seq.status]
        if seq in queue:  # a WAITING one may never have been queued
            queue.remove(seq)
            pool.free(seq.blocks)
        # a step in flight may still compute tokens for it: they will be ignored
        del seq.token_ids[len(seq.token_ids) - seq.num_pending :]
        seq.num_pending = 0
        seq.blocks = block_array()
        seq.status = Status.FINISHED
        seq.finish_reason = reason
        self.finished_ids.append(seq.seq_id)


def scheduler_class(policy: str) -> type[Scheduler]:
    """The class that schedules under `policy`: Scheduler for a built-in policy, else the class that
    "module:Class" names, which must subclass Scheduler (the engine builds it from the SchedulerConfig
    and calls the methods Engine calls; docs/architecture.md, "Where to change what").
    Raises ValueError naming the policy if the module cannot be imported (whatever importing it raised:
    a SyntaxError in it, an exception its top level raised; the module is looked for on sys.path, so
    PYTHONPATH for a file of one's own), if the class is not one, or if it cannot be called with the
    one SchedulerConfig.
    Its `cfg.schedule_policy` is then "module:Class": what Scheduler does for it is fcfs's order,
    no pacing."""
    if policy in SCHEDULE_POLICIES:
        return Scheduler
    try:
        found = pkgutil.resolve_name(policy)  # "module:Class" (or "module.Class")
    # ImportError, AttributeError, ValueError (not a name of that form), or what the module raised
    except Exception as e:
        raise ValueError(f"schedule_policy {policy!r}: no such policy or module:Class ({e})") from e
    if not (isinstance(found, type) and issubclass(found, Scheduler)):
        raise ValueError(f"schedule_policy {policy!r} is not a subclass of Scheduler")
    # the engine builds it as found(cfg): a class whose __init__ takes other arguments raised TypeError
    # only once the workers had loaded the model (session 60)
    try:
        inspect.signature(found).bind(None)
    except TypeError as e:
        raise ValueError(f"schedule_policy {policy!r} is not built as Class(config): {e}") from e
    return found
