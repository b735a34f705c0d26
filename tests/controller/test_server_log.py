"""The start-up summary and the status line logged while busy."""

from __future__ import annotations

from types import SimpleNamespace

from swiftllm.controller.block_manager import BlockPool
from swiftllm.controller.scheduler import SchedulerConfig
from swiftllm.controller.server_log import ServedModel, StatusLine, startup_summary


def fake_engine(counters: dict[str, int]) -> SimpleNamespace:
    pool = BlockPool(10)
    pool.allocate(4)
    scheduler = SimpleNamespace(
        running=[1, 2],
        waiting=[3],
        swapped=[],
        has_work=True,
        counters=counters,
        block_manager=SimpleNamespace(gpu=pool),
    )
    return SimpleNamespace(
        tokens={"prompt": 0, "generation": 0}, engine=SimpleNamespace(scheduler=scheduler)
    )


def test_status_line_says_state_rates_and_usage() -> None:
    async_engine = fake_engine({})
    status = StatusLine(async_engine)
    async_engine.tokens["generation"] = 50
    line = status.line()
    assert line.startswith("running 2, waiting 1, swapped 0 requests")
    assert "KV cache 40.0% used" in line and "prefix" not in line
    assert "generation 0.0 tokens/s" not in line


def test_status_line_is_silent_when_idle_and_shows_prefix_hits_when_counted() -> None:
    async_engine = fake_engine({"prefix_cache_hits": 30, "prefix_cache_queries": 120})
    assert "prefix cache hit rate 25.0%" in StatusLine(async_engine).line()
    idle = fake_engine({})
    idle.engine.scheduler.running = []
    idle.engine.scheduler.waiting = []
    idle.engine.scheduler.has_work = False
    assert StatusLine(idle).line() is None


def test_startup_summary_names_what_a_user_checks() -> None:
    cache = SchedulerConfig(
        max_model_len=512,
        num_gpu_blocks=100,
        num_cpu_blocks=7,
        block_size=16,
        max_num_seqs=4,
        max_num_batched_tokens=64,
        enable_prefix_caching=True,
        pipeline_stages=1,
        schedule_policy="fcfs",
    )
    served = ServedModel("smol", "/models/smol", "bfloat16", ["cuda:0"], cache)
    summary = startup_summary(served, "http://127.0.0.1:8000")
    for part in ("smol", "bfloat16", "cuda:0", "100 blocks", "1600 tokens", "512", ":8000"):
        assert part in summary, part
