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


class GrowingSequence:
    """What publish reads of a Sequence: its text so far, and where each output token's text begins."""

    def __init__(self, token_ids: list[int], text: str, text_offsets: list[int]) -> None:
        self.seq_id = 0
        self.finished = False
        self.finish_reason = None
        self.num_prompt_cache_hits = 0
        self.token_ids = token_ids
        self.text = text
        self.text_offsets = text_offsets
        self.logprobs = [None] * len(token_ids)

    @property
    def num_outputs(self) -> int:
        return len(self.token_ids)

    def outputs(self, start: int, end: int) -> list[int]:
        return self.token_ids[start:end]


def test_a_stream_sends_each_token_with_its_text() -> None:
    """Hunt probe: an unfinished output took the tokens whose text begins where the text sent ends, so a
    token went out a chunk before its text (a stream's logprobs ran ahead of its text): the first token of a
    text a stop string held back, and each token of a character split over tokens."""

    async def scenario() -> list[tuple[str, list[int]]]:
        loop = asyncio.get_running_loop()
        async_engine = AsyncEngine(IdleEngine(), loop)  # type: ignore[arg-type]
        queue: asyncio.Queue = asyncio.Queue()
        sent = []
        # what submit holds back for a stop string of 6 characters
        held_back = Request([1], SamplingParams(), queue, 0, hold_back_chars=5)
        async_engine.active[0] = held_back
        async_engine.publish([GrowingSequence([5], ",", [0])])  # type: ignore[list-item]
        # the two bytes of "é" in two tokens: the first completes no text
        split = Request([1], SamplingParams(), queue, 1)
        async_engine.active[0] = split
        async_engine.publish([GrowingSequence([7], "", [0])])  # type: ignore[list-item]
        async_engine.publish([GrowingSequence([7, 8], "é", [0, 0])])  # type: ignore[list-item]
        for _ in range(3):
            output = await queue.get()
            sent.append((output.text, output.token_ids))
        async_engine.stop()
        return sent

    assert asyncio.run(scenario()) == [("", []), ("", []), ("é", [7, 8])]
