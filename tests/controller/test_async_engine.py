"""AsyncEngine: its health (a stalled engine loop is reported, a working one is not), what it counts, what it
refuses and how its loop fails."""

from __future__ import annotations

import asyncio
import logging
import threading
import types

import pytest

from swiftllm.controller.async_engine import AsyncEngine, EngineError, Request
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


def test_submit_to_an_engine_that_is_not_running_raises_engine_error_saying_why() -> None:
    """Each of a failure set by the event loop (a dead worker, a takeover) and a stop refuses new requests
    with an EngineError naming it; nothing is queued."""

    async def scenario() -> tuple[list[str], list]:
        loop = asyncio.get_running_loop()
        async_engine = AsyncEngine(IdleEngine(), loop)  # type: ignore[arg-type]
        refusals = []
        async_engine.fail_open("worker rank 0 exited")
        with pytest.raises(EngineError) as failed:
            async_engine.submit([1], SamplingParams(), asyncio.Queue(), 0)
        refusals.append(str(failed.value))
        async_engine.failure = None
        async_engine.stop()
        with pytest.raises(EngineError) as stopped:
            async_engine.submit([1], SamplingParams(), asyncio.Queue(), 0)
        refusals.append(str(stopped.value))
        return refusals, [*async_engine.open, *async_engine.inbox]

    refusals, queued = asyncio.run(scenario())
    assert refusals == [
        "the engine is not running: worker rank 0 exited",
        "the engine is not running: shutting down",
    ]
    assert not queued


class CrashingEngine(IdleEngine):
    """Admits requests; its first step, once released, raises what no worker raises: a bug in the
    controller."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def add_request(self, prompt_ids: list[int], params: object) -> object:
        self.has_work = True
        return super().add_request(prompt_ids, params)

    def step(self) -> list:
        self.release.wait(10)
        raise KeyError("no such sequence")


def test_an_engine_loop_dying_of_a_bug_logs_its_traceback_and_fails_every_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Not a WorkerError: the loop's death is logged with its traceback (a WorkerError is one info line
    that health() reports), each request admitted or still in the inbox ends with an EngineError, health()
    names the error and later submits are refused."""

    async def scenario() -> tuple[list, str | None]:
        loop = asyncio.get_running_loop()
        engine = CrashingEngine()
        async_engine = AsyncEngine(engine, loop)  # type: ignore[arg-type]
        queues = [asyncio.Queue(), asyncio.Queue()]
        for index, queue in enumerate(queues):
            async_engine.submit([1] * (index + 1), SamplingParams(), queue, index)
        engine.release.set()
        ends = [await asyncio.wait_for(queue.get(), 10) for queue in queues]
        async_engine.thread.join(10)
        with pytest.raises(EngineError, match="the engine is not running: 'no such sequence'"):
            async_engine.submit([1], SamplingParams(), asyncio.Queue(), 0)
        return ends, async_engine.health()

    with caplog.at_level(logging.INFO, logger="swiftllm.controller"):
        ends, health = asyncio.run(scenario())
    assert [type(end) for end in ends] == [EngineError, EngineError]
    assert {str(end) for end in ends} == {"engine failed: 'no such sequence'"}
    assert health == "engine loop died: KeyError('no such sequence')"
    [record] = [r for r in caplog.records if r.name == "swiftllm.controller"]
    assert record.levelno == logging.ERROR and record.getMessage() == "engine loop died"
    assert record.exc_info is not None and record.exc_info[0] is KeyError


class RefusingEngine(IdleEngine):
    """Refuses a prompt of more than two tokens, as Engine.add_request refuses one REST let through."""

    def add_request(self, prompt_ids: list[int], params: object) -> object:
        if len(prompt_ids) > 2:
            raise ValueError(f"the prompt has {len(prompt_ids)} tokens; at most 2 fit")
        return super().add_request(prompt_ids, params)


def test_a_request_the_engine_refuses_is_answered_with_its_value_error_and_counted_rejected() -> (
    None
):
    async def scenario() -> tuple[object, dict[str, int], list[int]]:
        loop = asyncio.get_running_loop()
        async_engine = AsyncEngine(RefusingEngine(), loop)  # type: ignore[arg-type]
        refused_queue: asyncio.Queue = asyncio.Queue()
        refused = async_engine.submit([1, 2, 3], SamplingParams(), refused_queue, 0)
        admitted = async_engine.submit([1, 2], SamplingParams(), asyncio.Queue(), 0)
        answer = await asyncio.wait_for(refused_queue.get(), 10)
        await asyncio.sleep(0.1)  # the other one is admitted by now
        active = list(async_engine.active)
        async_engine.abort(refused)  # its handler ends it: counted once still
        async_engine.abort(admitted)
        await asyncio.sleep(0.3)
        async_engine.stop()
        return answer, dict(async_engine.finished), active

    answer, finished, active = asyncio.run(scenario())
    assert (
        isinstance(answer, ValueError) and str(answer) == "the prompt has 3 tokens; at most 2 fit"
    )
    assert active == [2]  # the refused one never became active
    assert finished == {"rejected": 1, "abort": 1}


def test_publish_skips_a_sequence_aborted_since_its_step_began() -> None:
    """A step's sequences include one whose handler aborted it while the step ran (the engine thread drained
    the abort and dropped it from `active`): it gets no output; the others do."""

    async def scenario() -> list[tuple[int, str]]:
        loop = asyncio.get_running_loop()
        async_engine = AsyncEngine(IdleEngine(), loop)  # type: ignore[arg-type]
        queue: asyncio.Queue = asyncio.Queue()
        async_engine.active[1] = Request([1], SamplingParams(), queue, 1)
        aborted = GrowingSequence([5], "a", [0])
        aborted.seq_id = 0  # in no request of `active`
        kept = GrowingSequence([6], "b", [0])
        kept.seq_id = 1
        async_engine.publish([aborted, kept])  # type: ignore[list-item]
        await asyncio.sleep(0.1)
        outputs = []
        while not queue.empty():
            output = queue.get_nowait()
            outputs.append((output.index, output.token_ids))
        async_engine.stop()
        return outputs

    assert asyncio.run(scenario()) == [(1, [6])]


def test_generation_tokens_count_every_token_generated_delivered_or_not() -> None:
    """Session 65's known gap: swiftllm_generation_tokens_total counted tokens as they were delivered, so
    those a stream held back for a stop string were never counted when its request failed (or was
    aborted); vLLM counts every token generated."""

    async def scenario() -> list[int]:
        loop = asyncio.get_running_loop()
        async_engine = AsyncEngine(IdleEngine(), loop)  # type: ignore[arg-type]
        queue: asyncio.Queue = asyncio.Queue()
        async_engine.active[0] = Request([1], SamplingParams(), queue, 0, hold_back_chars=5)
        counts = []
        async_engine.publish([GrowingSequence([5], ",", [0])])  # type: ignore[list-item]
        counts.append(async_engine.tokens["generation"])  # one token, held back
        async_engine.publish([GrowingSequence([5, 6, 7], ", ab", [0, 1, 3])])  # type: ignore[list-item]
        counts.append(async_engine.tokens["generation"])
        failed = GrowingSequence([5, 6, 7, 8], ", abc", [0, 1, 3, 4])
        failed.finished = True
        failed.finish_reason = "error"
        failed.error = "the worker refused it"
        async_engine.publish([failed])  # type: ignore[list-item]
        counts.append(async_engine.tokens["generation"])
        async_engine.publish([failed])  # no longer active: nothing more
        counts.append(async_engine.tokens["generation"])
        async_engine.stop()
        return counts

    assert asyncio.run(scenario()) == [1, 3, 4, 4]
