"""AsyncEngine's health: a stalled engine loop is reported, a working one is not."""

from __future__ import annotations

import asyncio
import threading

from swiftllm.controller.async_engine import AsyncEngine


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
