"""AsyncEngine's health: a stalled engine loop is reported, a working one is not."""

from __future__ import annotations

import asyncio
import threading
import types

from swiftllm.controller.async_engine import AsyncEngine, Request
from swiftllm.sampling_params import SamplingParams


class StallingEngine:
    """Has work; its step blocks until released, like a worker that stopped answering."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.has_work = True
        self.scheduler = None

    def step(self) -> list:
        self.release.wait(10)
        self.has_work = False
        return []


def test_health_reports_a_stalled_engine_loop() -> None:
    async def scenario() -> tuple[str | None, str | None, str | None]:
        engine = StallingEngine()
        # a timeout above the idle loop's 1 s wake-up
        loop = asyncio.get_running_loop()
        async_engine = AsyncEngine(engine, loop, health_timeout_s=1.5)  # type: ignore[arg-type]
        fresh = async_engine.health()
        await asyncio.sleep(2.5)
        stalled = async_engine.health()
        engine.release.set()
        await asyncio.sleep(0.3)
        recovered = async_engine.health()
        async_engine.stop()
        return fresh, stalled, recovered

    fresh, stalled, recovered = asyncio.run(scenario())
    assert fresh is None and recovered is None
    assert stalled is not None and "no engine progress" in stalled


class IdleEngine:
    """Admits requests and never steps them: what is counted is up to AsyncEngine."""

    def __init__(self) -> None:
        self.has_work = False
        self.scheduler = None
        self.aborted: list[int] = []

    def add_request(self, prompt_ids: list[int], params: object) -> object:
        return types.SimpleNamespace(seq_id=len(prompt_ids), finish_reason=None)

    def abort(self, seq: object) -> None:
        self.aborted.append(seq.seq_id)


def test_each_request_is_counted_once_even_when_submit_and_abort_share_a_drain() -> None:
    """Defect 6: a request submitted and aborted before the engine thread drained its inbox was never
    counted in swiftllm_requests_total."""

    async def scenario() -> tuple[dict[str, int], list[int], set]:
        loop = asyncio.get_running_loop()
        engine = IdleEngine()
        async_engine = AsyncEngine(engine, loop)  # type: ignore[arg-type]
        params = SamplingParams()
        # what submit then abort post, put in the inbox at once so that one drain reads both
        same_drain = Request([1], params, asyncio.Queue(), 0)
        with async_engine.lock:
            async_engine.inbox.append(same_drain)
            same_drain.aborted = True
            async_engine.inbox.append(same_drain)
        async_engine.wake.set()
        later = async_engine.submit([1, 2], params, asyncio.Queue(), 0)
        await asyncio.sleep(0.3)
        async_engine.abort(later)
        async_engine.abort(later)  # twice: still once
        await asyncio.sleep(0.3)
        async_engine.stop()
        return dict(async_engine.finished), engine.aborted, async_engine.open

    finished, aborted, still_open = asyncio.run(scenario())
    assert finished == {"abort": 2}
    assert aborted == [2] and not still_open
