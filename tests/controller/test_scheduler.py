"""Scheduler and block manager under a fake worker: budgets, preemption, and no block ever leaks."""

from __future__ import annotations

import random

import numpy as np

from swiftllm.controller.engine import Engine
from swiftllm.controller.scheduler import Batch, SchedulerConfig
from swiftllm.model_config import ModelConfig
from swiftllm.protocol.messages import CacheGeometry
from swiftllm.protocol.step import StepCommand, StepResult, i32
from swiftllm.sampling_params import SamplingParams
from swiftllm.worker.in_process import InProcessWorker

CFG = ModelConfig(
    "LlamaForCausalLM", 100, 8, 8, 1, 1, 1, 8, 1e-5, 1e4, 4096, False, eos_token_ids=(0,)
)


class FakeWorker:
    """Checks each command's invariants and answers with random tokens (never EOS unless asked)."""

    def __init__(self, num_gpu: int, num_cpu: int, max_len: int, eos_rate: float = 0.0) -> None:
        self.num_gpu, self.num_cpu, self.eos_rate = num_gpu, num_cpu, eos_rate
        self.geometry = CacheGeometry(CFG.vocab_size, 16, num_gpu, num_cpu, max_len)
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
        assert len(np.unique(flat)) == len(flat), "two running sequences share a block"
        self.steps.append(cmd)
        ids = cmd.seq_ids[cmd.sample == 1]
        tokens = [0 if random.random() < self.eos_rate else random.randrange(1, 100) for _ in ids]
        return StepResult(seq_ids=ids, tokens=i32(tokens))


def make_engine(
    num_gpu: int = 64,
    num_cpu: int = 16,
    budget: int = 64,
    max_len: int = 512,
    eos_rate: float = 0.0,
    pipeline_stages: int = 1,
) -> tuple[Engine, FakeWorker]:
    worker = FakeWorker(num_gpu, num_cpu, max_len, eos_rate)
    sched = SchedulerConfig(
        max_model_len=max_len,
        num_gpu_blocks=num_gpu,
        num_cpu_blocks=num_cpu,
        block_size=16,
        max_num_seqs=32,
        max_num_batched_tokens=budget,
        pipeline_stages=pipeline_stages,
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


def test_preemption_swaps_then_recomputes_and_finishes_everything() -> None:
    engine, worker = make_engine(num_gpu=12, num_cpu=3, budget=64)
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


def test_thousands_of_random_requests_and_aborts_leak_no_block() -> None:
    random.seed(0)
    engine, worker = make_engine(num_gpu=48, num_cpu=8, budget=128, max_len=256, eos_rate=0.02)
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


def test_a_step_that_only_moves_blocks_has_an_empty_block_table() -> None:
    cmd = Batch(swap_out=[(3, 0)], swap_in=[(1, 2)]).command()
    assert cmd.num_seqs == 0 and cmd.block_table.shape == (0, 0)
    assert cmd.swap_out.tolist() == [[3, 0]] and cmd.swap_in.tolist() == [[1, 2]]


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
