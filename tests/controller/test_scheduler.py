"""Scheduler and block manager under a fake worker: budgets, preemption, and no block ever leaks."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import numpy as np
import pytest

from swiftllm.controller.engine import Engine
from swiftllm.controller.scheduler import (
    ARRIVAL_GROUP_S,
    BACKLOG_TOKENS,
    PACED_MIN_TOKENS,
    PACED_QUANTUM,
    PACED_SLACK,
    SCHEDULE_POLICIES,
    Batch,
    Scheduler,
    SchedulerConfig,
    scheduler_class,
)
from swiftllm.controller.sequence import Sequence, Status
from swiftllm.model_config import ModelConfig
from swiftllm.protocol.messages import CacheGeometry
from swiftllm.protocol.step import StepCommand, StepResult, i32
from swiftllm.sampling_params import SamplingParams
from swiftllm.worker.in_process import InProcessWorker

CFG = ModelConfig(
    "LlamaForCausalLM", 100, 8, 8, 1, 1, 1, 8, 1e-5, 1e4, 4096, False, eos_token_ids=(0,)
)


class FakeWorker:
    """Checks each command's invariants and answers with random tokens (never EOS unless asked).

    Rows may share blocks only with prefix caching, and never a block that one of them writes."""

    def __init__(
        self, num_gpu: int, num_cpu: int, max_len: int, eos_rate: float = 0.0, sharing: bool = False
    ) -> None:
        self.num_gpu, self.num_cpu, self.eos_rate = num_gpu, num_cpu, eos_rate
        self.sharing = sharing
        self.geometry = CacheGeometry(CFG.vocab_size, 16, num_gpu, num_cpu, max_len, 32, 4096)
        self.steps: list[StepCommand] = []

    def collect(self, result: StepResult) -> StepResult:
        return result

    def launch(self, cmd: StepCommand) -> StepResult:
        assert cmd.query_lens.sum() == len(cmd.token_ids)
        assert (cmd.query_lens >= 1).all() and (cmd.query_lens <= cmd.context_lens).all()
        # -1 ("last sampled") only as a lone decode token
        starts = np.cumsum(cmd.query_lens) - cmd.query_lens
        assert set(np.nonzero(cmd.token_ids == -1)[0]) <= set(starts[cmd.query_lens == 1])
        for i in range(cmd.num_seqs):
            used = cmd.block_table[i, : -(-cmd.context_lens[i] // 16)]
            assert ((0 <= used) & (used < self.num_gpu)).all()
        live = [cmd.block_table[i, : -(-cmd.context_lens[i] // 16)] for i in range(cmd.num_seqs)]
        flat = np.concatenate(live) if live else np.zeros(0)
        if not self.sharing:
            assert len(np.unique(flat)) == len(flat), "two running sequences share a block"
        assert_writes_are_exclusive(cmd, 16)
        self.steps.append(cmd)
        ids = cmd.seq_ids[cmd.sample == 1]
        tokens = [0 if random.random() < self.eos_rate else random.randrange(1, 100) for _ in ids]
        return StepResult(seq_ids=ids, tokens=i32(tokens))


def assert_writes_are_exclusive(cmd: StepCommand, block_size: int) -> None:
    """No block a row writes in this step is in another row's block table (as far as it reads)."""
    for row in range(cmd.num_seqs):
        first_written = (cmd.context_lens[row] - cmd.query_lens[row]) // block_size
        written = set(cmd.block_table[row, first_written : -(-cmd.context_lens[row] // block_size)])
        for other in range(cmd.num_seqs):
            used = cmd.block_table[other, : -(-cmd.context_lens[other] // block_size)]
            if other != row:
                assert not written & set(used.tolist()), "a step writes a block another row holds"


def make_engine(
    num_gpu: int = 64,
    num_cpu: int = 16,
    budget: int = 64,
    max_len: int = 512,
    eos_rate: float = 0.0,
    prefix_caching: bool = False,
    pipeline_stages: int = 1,
    schedule_policy: str = "fcfs",
) -> tuple[Engine, FakeWorker]:
    worker = FakeWorker(num_gpu, num_cpu, max_len, eos_rate, prefix_caching)
    sched = SchedulerConfig(
        max_model_len=max_len,
        num_gpu_blocks=num_gpu,
        num_cpu_blocks=num_cpu,
        block_size=16,
        max_num_seqs=32,
        max_num_batched_tokens=budget,
        enable_prefix_caching=prefix_caching,
        pipeline_stages=pipeline_stages,
        schedule_policy=schedule_policy,
    )
    return Engine(InProcessWorker(worker), CFG, None, sched), worker


def test_token_budget_and_decode_first() -> None:
    engine, worker = make_engine(budget=32)
    engine.add_request(list(range(1, 41)), SamplingParams(max_tokens=3, temperature=0))
    engine.add_request(list(range(1, 11)), SamplingParams(max_tokens=3, temperature=0))
    while engine.has_work:
        engine.step()
    assert all(s.query_lens.sum() <= 32 for s in worker.steps)
    # the first prompt's first chunk fills the budget
    assert worker.steps[0].query_lens.tolist() == [32]
    # once a sequence decodes, it comes first in the step
    for step in worker.steps:
        query_lens = step.query_lens.tolist()
        assert query_lens == sorted(query_lens, key=lambda query_len: query_len > 1)


@pytest.mark.parametrize("schedule_policy", SCHEDULE_POLICIES)
def test_a_step_sends_decodes_longest_context_first_then_prefill_chunks(
    schedule_policy: str,
) -> None:
    """decode_attention starts its programs row by row; a long context in a late row is a step's
    straggler, so decode rows go longest context first (ties oldest first), then prefill chunks."""
    engine, worker = make_engine(num_gpu=256, budget=96, schedule_policy=schedule_policy)
    rng = random.Random(0)
    for _ in range(12):
        prompt = [7] * rng.randrange(2, 120)
        engine.add_request(prompt, SamplingParams(max_tokens=rng.randrange(2, 30), temperature=0))
    while engine.has_work:
        engine.step()
    mixed_orders = 0
    for step in worker.steps:
        is_chunk = step.query_lens > 1
        decodes = step.num_seqs - int(is_chunk.sum())
        assert not is_chunk[:decodes].any()  # every chunk after every decode
        contexts = step.context_lens[:decodes]
        assert (np.diff(contexts) <= 0).all(), contexts
        mixed_orders += len(set(contexts.tolist())) > 1
    assert mixed_orders > 10  # the order was tested, not only ties


def test_blocks_go_oldest_first_so_the_newest_is_preempted_even_with_the_longer_context() -> None:
    """Rows are laid out longest context first (Batch.order_rows), but tokens and blocks are given
    oldest first: when the old short sequence needs a block, the new long one gives way."""
    engine, _ = make_engine(num_gpu=4, num_cpu=16, budget=64)
    old = engine.add_request([7] * 15, SamplingParams(max_tokens=8, temperature=0))
    new = engine.add_request([7] * 33, SamplingParams(max_tokens=8, temperature=0))
    while not engine.scheduler.counters["preemptions"]:
        engine.step()
    assert old.status is Status.RUNNING
    assert new.status is Status.SWAPPED


def test_longest_first_starts_the_most_max_tokens_first_and_paces_each_step() -> None:
    engine, worker = make_engine(num_gpu=128, budget=1024, schedule_policy="longest-first")
    max_tokens = [2, 4, 3, 4]
    seqs = [
        engine.add_request([7] * 300, SamplingParams(max_tokens=tokens, temperature=0))
        for tokens in max_tokens
    ]
    while engine.has_work:
        engine.step()
    assert all(seq.finish_reason == "length" for seq in seqs)
    assert [seq.num_outputs for seq in seqs] == max_tokens
    first_step = {}
    for index, step in enumerate(worker.steps):
        for seq_id in step.seq_ids.tolist():
            first_step.setdefault(seq_id, index)
    # admitted most max_tokens first; a tie keeps arrival order
    started = sorted(seqs, key=lambda seq: (first_step[seq.seq_id], seq.arrival))
    assert started == [seqs[1], seqs[3], seqs[2], seqs[0]]
    # the first step: 4 x 300 prompt + 13 output tokens to compute over the longest's 4 samples,
    # with slack, rounded up to the quantum (1,200 prompt tokens wait, more than a step's 1,024: a
    # backlog, so it paces)
    quanta = math.ceil(math.ceil(PACED_SLACK * (4 * 300 + 13) / 4) / PACED_QUANTUM)
    assert worker.steps[0].query_lens.sum() == quanta * PACED_QUANTUM
    assert worker.steps[0].query_lens.sum() > PACED_MIN_TOKENS
    assert all(step.query_lens.sum() <= 1024 for step in worker.steps)
    # first come first served fills the whole budget at once
    engine, worker = make_engine(num_gpu=128, budget=1024)
    for tokens in max_tokens:
        engine.add_request([7] * 300, SamplingParams(max_tokens=tokens, temperature=0))
    while engine.has_work:
        engine.step()
    assert worker.steps[0].query_lens.sum() == 1024


def test_paced_keeps_arrival_order_and_paces_as_longest_first_does() -> None:
    """ "paced": the same budget step by step as longest-first (the work left over the longest's
    samples), the waiting admitted first come first served."""
    runs = {}
    for policy in ("paced", "longest-first"):
        engine, worker = make_engine(num_gpu=128, budget=1024, schedule_policy=policy)
        seqs = [
            engine.add_request([7] * 300, SamplingParams(max_tokens=tokens, temperature=0))
            for tokens in (2, 4, 3, 4)
        ]
        while engine.has_work:
            engine.step()
        assert [seq.num_outputs for seq in seqs] == [2, 4, 3, 4]
        first_step = {}
        for index, step in enumerate(worker.steps):
            for seq_id in step.seq_ids.tolist():
                first_step.setdefault(seq_id, index)
        order = sorted(range(4), key=lambda index: (first_step[seqs[index].seq_id], index))
        runs[policy] = (order, worker.steps[0].query_lens.sum())
    assert runs["paced"][0] == [0, 1, 2, 3]
    assert runs["longest-first"][0] == [1, 3, 2, 0]
    assert runs["paced"][1] == runs["longest-first"][1] < 1024


@pytest.mark.parametrize(("budget", "first_steps"), [(256, [PACED_MIN_TOKENS] * 2), (64, [64, 64])])
def test_longest_first_paces_no_lower_than_its_floor_nor_above_the_budget(
    budget: int, first_steps: list[int]
) -> None:
    engine, worker = make_engine(num_gpu=128, budget=budget, schedule_policy="longest-first")
    seqs = [
        engine.add_request([7] * 300, SamplingParams(max_tokens=50, temperature=0))
        for _ in range(2)
    ]
    while engine.has_work:
        engine.step()
    # their tokens over 50 samples would be a few a step: the floor or the budget binds
    assert [step.query_lens.sum() for step in worker.steps[:2]] == first_steps
    assert [seq.num_outputs for seq in seqs] == [50, 50]


def test_longest_first_without_a_backlog_takes_in_all_that_fits() -> None:
    """Online traffic: a prompt that one step holds prefills at once, as first come first served
    would, though the policy would pace it (a floor of PACED_MIN_TOKENS < 300)."""
    engine, worker = make_engine(num_gpu=128, budget=1024, schedule_policy="longest-first")
    engine.add_request([7] * 300, SamplingParams(max_tokens=50, temperature=0))
    engine.step()
    second = engine.add_request([7] * 300, SamplingParams(max_tokens=50, temperature=0))
    while engine.has_work:
        engine.step()
    assert PACED_MIN_TOKENS < 300
    assert worker.steps[0].query_lens.tolist() == [300]
    joined = next(step for step in worker.steps if second.seq_id in step.seq_ids)
    assert sorted(joined.query_lens.tolist()) == [1, 300]


def test_longest_first_paces_a_backlog_until_no_one_waits() -> None:
    engine, worker = make_engine(num_gpu=128, budget=512, schedule_policy="longest-first")
    seqs = [
        engine.add_request([7] * 300, SamplingParams(max_tokens=40, temperature=0))
        for _ in range(3)
    ]
    while engine.has_work:
        engine.step()
    # 900 prompt tokens wait, more than 512: paced at the floor until the last one is admitted
    last = next(i for i, step in enumerate(worker.steps) if seqs[2].seq_id in step.seq_ids)
    assert last > 2
    assert all(step.query_lens.sum() == PACED_MIN_TOKENS for step in worker.steps[: last + 1])
    # then no one waits: the rest of its prompt goes in at once
    row = worker.steps[last + 1].seq_ids.tolist().index(seqs[2].seq_id)
    first_chunk = worker.steps[last].query_lens[-1]
    assert worker.steps[last].seq_ids[-1] == seqs[2].seq_id
    assert worker.steps[last + 1].query_lens[row] == 300 - first_chunk > 1
    assert [seq.num_outputs for seq in seqs] == [40, 40, 40]


def test_longest_first_holds_a_backlog_s_budget_as_its_spread_falls() -> None:
    engine, worker = make_engine(num_gpu=256, budget=1024, schedule_policy="longest-first")
    max_tokens = [4] + [3] * 9
    for tokens in max_tokens:
        engine.add_request([7] * 300, SamplingParams(max_tokens=tokens, temperature=0))
    while engine.has_work:
        engine.step()
    spread = math.ceil(PACED_SLACK * (10 * 300 + sum(max_tokens)) / 4)
    first = math.ceil(spread / PACED_QUANTUM) * PACED_QUANTUM
    sizes = [step.query_lens.sum() for step in worker.steps]
    # 3,031 tokens over 4 steps: after the first step the spread is ~840, but the budget stays
    assert sizes[:3] == [first] * 3
    assert first < 1024


@pytest.mark.parametrize(("prompts", "first_step"), [(10, PACED_MIN_TOKENS), (6, 6 * 500)])
def test_longest_first_backlog_is_more_than_backlog_tokens(prompts: int, first_step: int) -> None:
    """With a budget above BACKLOG_TOKENS, 5,000 waiting prompt tokens are a backlog (paced at the
    floor), 3,000 are not (all prefilled in one step)."""
    engine, worker = make_engine(num_gpu=400, budget=8192, schedule_policy="longest-first")
    for _ in range(prompts):
        engine.add_request([7] * 500, SamplingParams(max_tokens=50, temperature=0))
    while engine.has_work:
        engine.step()
    assert 6 * 500 < BACKLOG_TOKENS < 10 * 500 < 8192
    assert worker.steps[0].query_lens.sum() == first_step


def test_longest_first_keeps_those_queued_later_behind() -> None:
    """Longest first within an arrival group only: a longer one arriving after the group's window
    waits behind it, so a stream of long requests cannot hold a short one back forever."""
    engine, worker = make_engine(num_gpu=128, budget=64, schedule_policy="longest-first")
    short = engine.add_request([7] * 100, SamplingParams(max_tokens=3, temperature=0))
    first = engine.add_request([7] * 100, SamplingParams(max_tokens=9, temperature=0))
    engine.step()
    engine.scheduler.group_start -= 2 * ARRIVAL_GROUP_S  # as if the group's window had passed
    later = engine.add_request([7] * 100, SamplingParams(max_tokens=50, temperature=0))
    while engine.has_work:
        engine.step()
    first_step = {}
    for index, step in enumerate(worker.steps):
        for seq_id in step.seq_ids.tolist():
            first_step.setdefault(seq_id, index)
    assert first_step[first.seq_id] < first_step[short.seq_id] < first_step[later.seq_id]
    assert [seq.num_outputs for seq in (short, first, later)] == [3, 9, 50]


def test_longest_first_groups_whatever_arrives_before_a_step() -> None:
    """LLM.generate queues its whole batch before the first step: one group, however long that took."""
    engine, worker = make_engine(num_gpu=128, budget=64, schedule_policy="longest-first")
    short = engine.add_request([7] * 100, SamplingParams(max_tokens=3, temperature=0))
    # as if tokenizing the next prompt took longer than a group's window
    engine.scheduler.group_start -= 2 * ARRIVAL_GROUP_S
    short.arrival_group -= 2 * ARRIVAL_GROUP_S
    longer = engine.add_request([7] * 100, SamplingParams(max_tokens=9, temperature=0))
    while engine.has_work:
        engine.step()
    assert longer.arrival_group == short.arrival_group
    assert worker.steps[0].seq_ids.tolist() == [longer.seq_id]


@pytest.mark.parametrize("schedule_policy", SCHEDULE_POLICIES)
@pytest.mark.parametrize("prefix_caching", [False, True])
def test_preemption_swaps_then_recomputes_and_finishes_everything(
    prefix_caching: bool, schedule_policy: str
) -> None:
    engine, worker = make_engine(
        num_gpu=12,
        num_cpu=3,
        budget=64,
        prefix_caching=prefix_caching,
        schedule_policy=schedule_policy,
    )
    seqs = [
        engine.add_request(list(range(1, 30)), SamplingParams(max_tokens=40, temperature=0))
        for _ in range(6)
    ]
    while engine.has_work:
        engine.step()
    counters = engine.scheduler.counters
    assert counters["preemptions"] > 0 and counters["swaps_out"] > 0
    assert counters["recomputes"] > 0 and counters["swaps_in"] > 0
    assert all(seq.finish_reason == "length" and seq.num_outputs == 40 for seq in seqs)
    block_manager = engine.scheduler.block_manager
    assert block_manager.gpu.num_free == 12 and block_manager.cpu.num_free == 3


@pytest.mark.slow
@pytest.mark.parametrize("schedule_policy", SCHEDULE_POLICIES)
@pytest.mark.parametrize("prefix_caching", [False, True])
def test_thousands_of_random_requests_and_aborts_leak_no_block(
    prefix_caching: bool, schedule_policy: str
) -> None:
    random.seed(0)
    engine, worker = make_engine(
        num_gpu=48,
        num_cpu=8,
        budget=128,
        max_len=256,
        eos_rate=0.02,
        prefix_caching=prefix_caching,
        schedule_policy=schedule_policy,
    )
    live = []
    for _ in range(3000):
        draw = random.random()
        if draw < 0.5:
            prompt_len = random.randrange(1, 120)
            live.append(
                engine.add_request(
                    [random.randrange(1, 100) for _ in range(prompt_len)],
                    SamplingParams(max_tokens=random.randrange(1, 60), temperature=0),
                )
            )
        elif draw < 0.6 and live:
            engine.abort(live.pop(random.randrange(len(live))))
        else:
            engine.step()
    while engine.has_work:
        engine.step()
    scheduler = engine.scheduler
    assert scheduler.block_manager.gpu.num_free == 48 and scheduler.block_manager.cpu.num_free == 8
    assert sorted(scheduler.block_manager.gpu.refs) == [0] * 48
    assert not scheduler.running and not scheduler.swapped and not scheduler.waiting
    assert scheduler.counters["preemptions"] > 0


def test_a_prompt_that_can_never_fit_is_rejected() -> None:
    engine, _ = make_engine(num_gpu=4, max_len=512)
    for prompt in ([], list(range(1, 100)), [5] * 600):
        try:
            engine.add_request(prompt, SamplingParams())
        except ValueError:
            continue
        raise AssertionError(f"accepted a prompt of {len(prompt)} tokens")
    assert not engine.has_work


@pytest.mark.parametrize("status", ["waiting", "finished"])
def test_a_policy_that_schedules_a_sequence_without_blocks_raises_before_sending(
    status: str,
) -> None:
    """A replacement policy that breaks schedule()'s contract by putting a sequence that is not RUNNING
    in a step (one still waiting, or one finished: neither holds blocks) gets an error naming the
    contract, and nothing is sent. Before, the row's block table was all padding, block 0, so the worker
    wrote its K/V into another sequence's block and that sequence's output changed without an error."""
    engine, worker = make_engine(budget=16)
    done = engine.add_request(list(range(1, 5)), SamplingParams(max_tokens=1, temperature=0))
    while engine.has_work:
        engine.step()
    engine.add_request(list(range(1, 17)), SamplingParams(max_tokens=4, temperature=0))
    waiting = engine.add_request(list(range(20, 36)), SamplingParams(max_tokens=4, temperature=0))
    sent = len(worker.steps)
    policy = engine.scheduler.schedule

    def misbehaving_policy() -> Batch:
        batch = policy()
        assert waiting.status is Status.WAITING  # the budget took the first prompt only
        intruder = waiting if status == "waiting" else done
        batch.add(intruder, intruder.num_uncached or 1)
        return batch

    engine.scheduler.schedule = misbehaving_policy  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="not RUNNING with blocks"):
        engine.step()
    assert len(worker.steps) == sent


def test_a_step_that_only_moves_blocks_has_an_empty_block_table() -> None:
    cmd = Batch(swap_out=[(3, 0)], swap_in=[(1, 2)]).command(16)
    assert cmd.num_seqs == 0 and cmd.block_table.shape == (0, 0)
    assert cmd.swap_out.tolist() == [[3, 0]] and cmd.swap_in.tolist() == [[1, 2]]


class CacheReadingWorker(FakeWorker):
    """A worker whose "model" reads its KV cache: each slot holds a digest of the token written there
    and the slot before it (read back from the cache, so an unwritten or stale slot changes it), and a
    sampled token is a function of the last slot. Outputs then depend on every cached slot a sequence
    reads: prefix caching must not change them."""

    def __init__(self, num_gpu: int, num_cpu: int, max_len: int, eos_rate: float = 0.0) -> None:
        super().__init__(num_gpu, num_cpu, max_len, eos_rate, sharing=True)
        self.gpu_slots: dict[tuple[int, int], int] = {}  # (block, slot) -> contents
        self.cpu_slots: dict[tuple[int, int], int] = {}
        self.last_sampled: dict[int, int] = {}
        # swapped-out blocks that a row of the same step still reads: shared ones, copied, kept
        self.shared_swaps_out = 0

    @staticmethod
    def copy_blocks(
        pairs: np.ndarray, source: dict[tuple[int, int], int], destination: dict
    ) -> None:
        for source_block, destination_block in pairs.tolist():
            for slot in range(16):
                destination.pop((destination_block, slot), None)
                if (source_block, slot) in source:
                    destination[(destination_block, slot)] = source[(source_block, slot)]

    def launch(self, cmd: StepCommand) -> StepResult:
        super().launch(cmd)  # the invariants
        held: set[int] = set()
        for row in range(cmd.num_seqs):
            held.update(cmd.block_table[row, : -(-cmd.context_lens[row] // 16)].tolist())
        self.shared_swaps_out += sum(gpu_block in held for gpu_block, _ in cmd.swap_out.tolist())
        self.copy_blocks(cmd.swap_out, self.gpu_slots, self.cpu_slots)
        self.copy_blocks(cmd.swap_in, self.cpu_slots, self.gpu_slots)
        for seq_id in cmd.finished.tolist():
            self.last_sampled.pop(seq_id, None)
        tokens = iter(cmd.token_ids.tolist())
        sampled_ids: list[int] = []
        sampled_tokens: list[int] = []
        for row, seq_id in enumerate(cmd.seq_ids.tolist()):
            context_len = int(cmd.context_lens[row])
            blocks = cmd.block_table[row].tolist()
            for position in range(context_len - int(cmd.query_lens[row]), context_len):
                token = next(tokens)
                if token == -1:
                    token = self.last_sampled[seq_id]
                parent = 0
                if position:  # a KeyError here: the step reads a slot nobody wrote
                    parent = self.gpu_slots[(blocks[(position - 1) // 16], (position - 1) % 16)]
                contents = hash((parent, token)) % 2**61
                self.gpu_slots[(blocks[position // 16], position % 16)] = contents
            if cmd.sample[row]:
                last = self.gpu_slots[(blocks[(context_len - 1) // 16], (context_len - 1) % 16)]
                token = 1 + last % 99
                if last % 1000 < self.eos_rate * 1000:
                    token = 0
                self.last_sampled[seq_id] = token
                sampled_ids.append(seq_id)
                sampled_tokens.append(token)
        return StepResult(seq_ids=i32(sampled_ids), tokens=i32(sampled_tokens))


def shared_prefix_prompts(rng: random.Random, count: int) -> list[list[int]]:
    """Prompts drawn from a few bases: prefixes of varied lengths (mid-block, a block boundary, a whole
    earlier prompt, an identical prompt) plus unique tails."""
    bases = [[rng.randrange(1, 100) for _ in range(length)] for length in (16, 37, 64, 90)]
    prompts: list[list[int]] = []
    for _ in range(count):
        base = rng.choice(bases)
        shared = rng.choice([len(base), 16, 21, 32, rng.randrange(1, len(base) + 1)])
        tail = [rng.randrange(1, 100) for _ in range(rng.choice([0, 0, 1, 5, 17, 40]))]
        prompts.append(base[: min(shared, len(base))] + tail)
    return prompts


def run_workload(
    prompts: list[list[int]],
    prefix_caching: bool,
    num_gpu: int,
    num_cpu: int,
    abort_every: int = 0,
    pipeline_stages: int = 1,
) -> tuple[list[list[int] | None], Engine]:
    """Submit prompts a few per step, aborting every `abort_every`-th one a step after it was added
    (mid-prefill for long ones); the outputs of those not aborted (None for aborted ones)."""
    worker = CacheReadingWorker(num_gpu, num_cpu, max_len=256, eos_rate=0.01)
    config = SchedulerConfig(
        max_model_len=256,
        num_gpu_blocks=num_gpu,
        num_cpu_blocks=num_cpu,
        block_size=16,
        max_num_seqs=16,
        max_num_batched_tokens=48,
        enable_prefix_caching=prefix_caching,
        pipeline_stages=pipeline_stages,
        schedule_policy="fcfs",
    )
    engine = Engine(InProcessWorker(worker), CFG, None, config)
    seqs = []
    aborted: set[int] = set()

    def step() -> None:
        engine.step()
        if prefix_caching:  # registration is incremental: it must equal the recomputed count
            for seq in engine.scheduler.running:
                assert seq.num_registered_blocks == min(seq.num_cached, seq.num_known) // 16

    for index, prompt in enumerate(prompts):
        params = SamplingParams(max_tokens=1 + index % 23, temperature=0)
        seqs.append(engine.add_request(prompt, params))
        if index % 3 == 2:
            step()
        if abort_every and index % abort_every == abort_every - 1:
            step()
            engine.abort(seqs[-1])
            aborted.add(index)
    while engine.has_work:
        step()
    outputs = [None if index in aborted else seq.output_ids for index, seq in enumerate(seqs)]
    return outputs, engine


def assert_all_blocks_free_or_cached(engine: Engine) -> None:
    gpu = engine.scheduler.block_manager.gpu
    cpu = engine.scheduler.block_manager.cpu
    assert gpu.refs == [0] * gpu.num_blocks and cpu.refs == [0] * cpu.num_blocks
    assert gpu.num_free == gpu.num_blocks and cpu.num_free == cpu.num_blocks
    assert set(gpu.evictable) == set(gpu.digest_by_block)
    assert {block: digest for digest, block in gpu.block_by_digest.items()} == gpu.digest_by_block
    assert not set(gpu.free_ids) & set(gpu.evictable)


# two pipeline stages: a sequence preempted while its step is in flight keeps a placeholder (-1) that the
# worker takes only as a decode's one token, also when it is recomputed (a step was refused, the engine died)
@pytest.mark.parametrize("stages", [1, 2])
@pytest.mark.parametrize(
    ("num_gpu", "num_cpu", "abort_every"),
    [(64, 16, 0), (14, 4, 0), (14, 0, 0), (20, 4, 5)],
    ids=["roomy", "preempting", "recomputing", "aborting"],
)
def test_prefix_caching_changes_no_output(
    num_gpu: int, num_cpu: int, abort_every: int, stages: int
) -> None:
    prompts = shared_prefix_prompts(random.Random(num_gpu + num_cpu), 120)
    uncached, engine_off = run_workload(prompts, False, num_gpu, num_cpu, abort_every, stages)
    cached, engine_on = run_workload(prompts, True, num_gpu, num_cpu, abort_every, stages)
    for prompt_index, (without, with_cache) in enumerate(zip(uncached, cached)):
        if without is not None:
            assert with_cache == without, f"request {prompt_index} differs"
    for engine in (engine_off, engine_on):
        assert_all_blocks_free_or_cached(engine)
    counters = engine_on.scheduler.counters
    seqs_admitted = [len(prompt) for prompt in prompts]
    if abort_every:  # an abort can come before admission: then the prompt was never looked up
        assert counters["prefix_cache_queries"] <= sum(seqs_admitted)
    else:
        assert counters["prefix_cache_queries"] == sum(seqs_admitted)
    assert 0 < counters["prefix_cache_hits"] < counters["prefix_cache_queries"]
    computed_off = engine_off.scheduler.counters["prompt_tokens_computed"]
    assert counters["prompt_tokens_computed"] < computed_off
    if not counters["preemptions"]:  # no recompute: every prompt token is computed or a hit, once
        assert (
            counters["prompt_tokens_computed"]
            == counters["prefix_cache_queries"] - counters["prefix_cache_hits"]
        )
        assert engine_off.scheduler.counters["prompt_tokens_computed"] == sum(seqs_admitted)
    if num_gpu == 14:
        assert counters["preemptions"] > 0 and engine_on.scheduler.block_manager.gpu.block_by_digest
    if num_gpu == 14 and num_cpu:  # a shared block swapped out while another sequence reads it
        assert engine_on.worker.runner.shared_swaps_out > 0
    if num_cpu == 0:
        assert counters["recomputes"] > 0


def test_a_burst_sharing_a_prompt_hits_from_the_second_step_and_at_most_all_but_one_token() -> None:
    rng = random.Random(1)
    system = [rng.randrange(1, 100) for _ in range(40)]
    prompts = [system + [rng.randrange(1, 100) for _ in range(3)] for _ in range(6)]
    prompts += [system[:32], system[:32]]  # a whole prompt cached: its last block is computed again
    worker = CacheReadingWorker(64, 8, 256)
    config = SchedulerConfig(
        256,
        64,
        8,
        16,
        16,
        43,
        enable_prefix_caching=True,
        pipeline_stages=1,
        schedule_policy="fcfs",
    )
    engine = Engine(InProcessWorker(worker), CFG, None, config)
    seqs = [engine.add_request(prompt, SamplingParams(max_tokens=4)) for prompt in prompts]
    while engine.has_work:
        engine.step()
    # step 1 prefills the first prompt (the whole budget); from step 2 on, its 32 first tokens are hits
    assert worker.steps[0].query_lens.tolist() == [43]
    assert [seq.num_prompt_cache_hits for seq in seqs] == [0] + [32] * 5 + [16, 16]
    counters = engine.scheduler.counters
    assert counters["prefix_cache_hits"] == 32 * 5 + 32
    assert counters["prompt_tokens_computed"] == 43 + 11 * 5 + 16 * 2
    assert_all_blocks_free_or_cached(engine)


def test_pipeline_stages_keep_one_step_of_each_disjoint_group_in_flight() -> None:
    engine, worker = make_engine(pipeline_stages=2)
    seqs = [
        engine.add_request(list(range(1, 8)), SamplingParams(max_tokens=10, temperature=0))
        for _ in range(5)
    ]
    most_in_flight = 0
    while engine.has_work:
        engine.step()
        most_in_flight = max(most_in_flight, len(engine.in_flight))
        if len(engine.in_flight) == 2:
            older, newer = engine.in_flight
            assert not {seq.seq_id for seq in older.seqs} & {seq.seq_id for seq in newer.seqs}
    assert most_in_flight == 2
    assert max(step.num_seqs for step in worker.steps) == 3  # half of 5, rounded up
    assert all(seq.finish_reason == "length" and seq.num_outputs == 10 for seq in seqs)


def test_a_sequence_swapped_out_holding_every_block_comes_back() -> None:
    """A swapped sequence that held all N blocks (some shared with the one that preempted it) comes
    back once N are free: it waited for N + 1 forever, and the engine spun."""
    worker = CacheReadingWorker(6, 16, 96)
    config = SchedulerConfig(96, 6, 16, 16, 16, 256, True, 1, "fcfs")
    engine = Engine(InProcessWorker(worker), CFG, None, config)
    params = SamplingParams(max_tokens=20, temperature=0, ignore_eos=True)
    engine.add_request([50] * 60, params)
    engine.add_request(list(range(1, 33)), params)  # swapped out for the first one, then back
    engine.step()
    # admitted as the second comes back: its first 2 blocks are the second's, then the 4 others
    late = engine.add_request(list(range(1, 33)) + [7] * 62, SamplingParams(max_tokens=2))
    for _ in range(200):
        if not engine.has_work:
            break
        engine.step()
    assert late.finish_reason == "length" and engine.scheduler.counters["swaps_in"] == 2
    assert_all_blocks_free_or_cached(engine)


@pytest.mark.parametrize("schedule_policy", SCHEDULE_POLICIES)
def test_a_swapped_sequence_comes_back_before_new_arrivals(schedule_policy: str) -> None:
    """Requests that keep arriving while one is swapped out wait for it. They had been admitted into the
    blocks it waited for, so it stayed out for as long as they came: 400 of 400 arrivals finished before
    it (session 68's hunt, probes/p4_swap_starvation.py); vLLM admits nobody while one is swapped."""
    engine, _ = make_engine(num_gpu=6, max_len=64, schedule_policy=schedule_policy)
    greedy = SamplingParams(max_tokens=10, temperature=0, ignore_eos=True)
    engine.add_request([5] * 30, greedy)  # grows into a third block at its 33rd token
    swapped = engine.add_request([6] * 60, replace(greedy, max_tokens=4))  # preempted for it
    arrivals = []
    for step in range(400):
        if swapped.finished:
            break
        if swapped.status is Status.SWAPPED and step % 2 == 0:  # a block each, well within the rate
            arrivals.append(engine.add_request([7] * 2, replace(greedy, max_tokens=6)))
        engine.step()
    assert engine.scheduler.counters["swaps_out"] == 1 and swapped.finish_reason == "length"
    assert arrivals and sum(seq.finished for seq in arrivals) <= 2
    while engine.has_work:
        engine.step()
    assert all(seq.finish_reason == "length" for seq in arrivals)


class NewestFirst(Scheduler):
    """A policy from outside: admits the newest waiting sequence first (a test's module:Class)."""

    def add(self, seq: Sequence) -> None:
        super().add(seq)
        self.waiting.rotate(1)  # the one just queued last goes first


def test_a_module_class_policy_replaces_the_scheduler() -> None:
    """schedule_policy "module:Class" builds that Scheduler subclass; the built-in names build Scheduler.
    It takes Scheduler's place in the engine, and its order decides admission."""
    assert all(scheduler_class(name) is Scheduler for name in SCHEDULE_POLICIES)
    policy = f"{__name__}:NewestFirst"
    assert scheduler_class(policy) is NewestFirst
    engine, worker = make_engine(num_gpu=256, budget=96, schedule_policy=policy)
    assert type(engine.scheduler) is NewestFirst
    seqs = [engine.add_request([1] * 40, SamplingParams(max_tokens=2)) for _ in range(3)]
    while engine.has_work:
        engine.step()
    # newest first: the budget of 96 tokens goes to the third, the second, then 16 of the first's 40
    first_rows = worker.steps[0].seq_ids.tolist()
    assert first_rows == [seqs[2].seq_id, seqs[1].seq_id, seqs[0].seq_id]
    assert worker.steps[0].query_lens.tolist() == [40, 40, 16]
    assert all(seq.finished and seq.num_outputs == 2 for seq in seqs)
