"""What a served engine tells its operator: the start-up summary and the status line logged while busy.

Both read plain counts (no lock): the engine thread writes them, a slightly stale read is harmless. The
prefix-cache hit rate is shown only when prompt tokens were looked up in the cache (the scheduler's
`prefix_cache_queries`, which stays 0 without prefix caching; until session 15 this read counters of other
names and never showed)."""

import logging
import time
from dataclasses import dataclass

from swiftllm.controller.async_engine import AsyncEngine
from swiftllm.controller.scheduler import SchedulerConfig

log = logging.getLogger("swiftllm.status")


@dataclass(frozen=True)
class ServedModel:
    """What the start-up summary names: the model, how it runs, and the cache it got."""

    name: str
    path: str
    dtype: str
    devices: list[str]
    cache: SchedulerConfig


def startup_summary(served: ServedModel, url: str) -> str:
    cache = served.cache
    return (
        f"model      {served.name} ({served.path})\n"
        f"dtype      {served.dtype}\n"
        f"devices    {', '.join(served.devices)} ({len(served.devices)} worker(s))\n"
        f"KV cache   {cache.num_gpu_blocks} blocks x {cache.block_size} tokens = "
        f"{cache.num_gpu_blocks * cache.block_size} tokens; {cache.num_cpu_blocks} swap blocks\n"
        f"context    {cache.max_model_len} tokens at most\n"
        f"address    {url}"
    )


class StatusLine:
    """`line()` every few seconds: the engine's state and throughput since the last call, or None when it
    was idle throughout (nothing running, waiting or swapped, no token made). `log_when_due` logs it at most
    every `interval_s` seconds (0: never)."""

    def __init__(self, async_engine: AsyncEngine, interval_s: float = 0.0) -> None:
        self.async_engine = async_engine
        self.interval_s = interval_s
        # the token counts (prompt, generation) at the last call, and when: rates are since then
        self.last_tokens = dict(async_engine.tokens)
        self.last_at = time.monotonic()

    def log_when_due(self) -> None:
        if not self.interval_s or time.monotonic() < self.last_at + self.interval_s:
            return
        if (line := self.line()) is not None:
            log.info(line)

    def line(self) -> str | None:
        now = time.monotonic()
        elapsed_s = max(now - self.last_at, 1e-9)
        # prompt tokens admitted (left: they show as one burst when many prompts come at once, then none
        # while they prefill; the scheduler's prompt_tokens_computed would follow the chunks, for a line)
        tokens = dict(self.async_engine.tokens)
        rates = {kind: (tokens[kind] - last) / elapsed_s for kind, last in self.last_tokens.items()}
        self.last_tokens = tokens
        self.last_at = now
        scheduler = self.async_engine.engine.scheduler
        if not scheduler.has_work and not any(rates.values()):
            return None
        line = (
            f"running {len(scheduler.running)}, waiting {len(scheduler.waiting)}, "
            f"swapped {len(scheduler.swapped)} requests; "
            f"prompt {rates['prompt']:.1f} tokens/s, generation {rates['generation']:.1f} tokens/s; "
            f"KV cache {scheduler.block_manager.gpu.usage:.1%} used"
        )
        # prompt tokens found in the prefix cache over prompt tokens looked up, if any were
        if queries := scheduler.counters.get("prefix_cache_queries"):
            hit_rate = scheduler.counters["prefix_cache_hits"] / queries
            line += f"; prefix cache hit rate {hit_rate:.1%}"
        return line
