"""The bridge between the event loop and the engine: the engine steps in its own thread.

Scheduling, the worker round trip and detokenization never block the event loop. Handlers submit and abort
through a locked inbox; each step's outputs go back in one `call_soon_threadsafe` onto the asyncio queues
the handlers wait on. Only the engine thread touches the Engine and its Sequences."""

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from swiftllm.controller.engine import Engine
from swiftllm.controller.sequence import Sequence
from swiftllm.sampling_params import SamplingParams

log = logging.getLogger("swiftllm.controller")


class EngineError(RuntimeError):
    """The engine loop died (its worker failed): requests cannot be served."""


@dataclass(frozen=True)
class Output:
    """What one step added to one request, built in the engine thread so the loop never reads a Sequence."""

    index: int  # the choice this output belongs to
    text: str
    token_ids: list[int]
    logprobs: list[tuple[float, list[tuple[int, float]]]]  # (chosen token's, top N (id, logprob))
    finish_reason: str | None
    num_output_tokens: int


@dataclass(eq=False)
class Request:
    prompt_ids: list[int]
    params: SamplingParams
    queue: asyncio.Queue
    index: int
    seq: Sequence | None = None
    aborted: bool = False
    sent_text: int = 0
    sent_tokens: int = 0
    hold: int = (
        0  # text held back while unfinished: a stop string may still complete and cut it off
    )


def put_all(items: list[tuple[asyncio.Queue, object]]) -> None:
    for queue, item in items:
        queue.put_nowait(item)


class AsyncEngine:
    def __init__(
        self, engine: Engine, loop: asyncio.AbstractEventLoop, health_timeout_s: float = 60.0
    ) -> None:
        self.engine, self.loop, self.health_timeout_s = engine, loop, health_timeout_s
        self.lock = threading.Lock()
        self.inbox: list[
            Request
        ] = []  # requests to add, or to abort once marked aborted; in arrival order
        self.wake = threading.Event()
        self.active: dict[int, Request] = {}  # seq id -> request (engine thread only)
        self.error: BaseException | None = None
        self.stopping = False
        self.heartbeat = (
            time.monotonic()
        )  # refreshed every loop turn: a stuck step lets it go stale
        self.finished: Counter[str] = Counter()  # finish reason -> requests
        self.tokens = {"prompt": 0, "generation": 0}
        self.registry = CollectorRegistry()  # per server: tests run several in one process
        self.step_seconds = Histogram(
            "swiftllm_step_seconds",
            "Engine step time (schedule + worker + update)",
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.registry.register(self)
        self.thread = threading.Thread(target=self.run, name="engine", daemon=True)
        self.thread.start()

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Stop after the current step; False if the thread did not end (its worker hangs)."""
        self.stopping = True
        self.wake.set()
        self.thread.join(timeout_s)
        return not self.thread.is_alive()

    def submit(
        self, prompt_ids: list[int], params: SamplingParams, queue: asyncio.Queue, index: int
    ) -> Request:
        if self.error is not None or self.stopping:
            raise EngineError(f"the engine is not running: {self.error or 'shutting down'}")
        return self.post(
            Request(
                prompt_ids, params, queue, index, hold=max(map(len, params.stop), default=1) - 1
            )
        )

    def abort(self, req: Request) -> None:
        """Free a request's blocks; a no-op once it finished."""
        req.aborted = True
        self.post(req)

    def post(self, req: Request) -> Request:
        with self.lock:
            self.inbox.append(req)
        self.wake.set()
        return req

    def health(self) -> str | None:
        """None if healthy, else why not."""
        if self.error is not None or not self.thread.is_alive():
            return f"engine loop died: {self.error!r}"
        stalled = time.monotonic() - self.heartbeat
        return (
            f"no engine progress for {stalled:.0f} s" if stalled > self.health_timeout_s else None
        )

    def run(self) -> None:
        try:
            while not self.stopping:
                self.heartbeat = time.monotonic()
                if not self.engine.has_work:
                    self.wake.wait(1.0)
                self.wake.clear()  # before draining: a submit after this wakes the next wait
                self.drain()
                if self.engine.has_work:
                    with self.step_seconds.time():
                        seqs = self.engine.step()
                    self.publish(seqs)
        except BaseException as e:  # a worker failure: fail every request rather than hang it
            log.exception("engine loop died")
            self.error = e
            with self.lock:
                pending = [*self.active.values(), *self.inbox]
            self.deliver([(r.queue, EngineError(f"engine failed: {e}")) for r in pending])

    def drain(self) -> None:
        with self.lock:
            todo, self.inbox = self.inbox, []
        replies: list[tuple[asyncio.Queue, object]] = []
        for req in todo:
            if (
                req.aborted
            ):  # never added (seq None), already finished (not active), or to abort now
                if req.seq is not None and self.active.pop(req.seq.seq_id, None) is not None:
                    self.engine.abort(req.seq)
                    self.finished[req.seq.finish_reason or "abort"] += 1
                continue
            try:
                req.seq = self.engine.add_request(req.prompt_ids, req.params)
            except ValueError as e:  # the REST layer checks first; this is the engine's last word
                replies.append((req.queue, e))
                continue
            self.active[req.seq.seq_id] = req
            self.tokens["prompt"] += len(req.prompt_ids)
        self.deliver(replies)

    def publish(self, seqs: list[Sequence]) -> None:
        items: list[tuple[asyncio.Queue, object]] = []
        for seq in (s for s in seqs if s.seq_id in self.active):  # not aborted meanwhile
            req = self.active[seq.seq_id]
            end = len(seq.text) if seq.finished else max(req.sent_text, len(seq.text) - req.hold)
            items.append(
                (
                    req.queue,
                    Output(
                        req.index,
                        seq.text[req.sent_text : end],
                        seq.output_ids[req.sent_tokens :],
                        seq.logprobs[req.sent_tokens :],
                        seq.finish_reason,
                        seq.num_outputs,
                    ),
                )
            )
            self.tokens["generation"] += seq.num_outputs - req.sent_tokens
            req.sent_text, req.sent_tokens = end, seq.num_outputs
            if seq.finished:
                del self.active[seq.seq_id]
                self.finished[seq.finish_reason or "abort"] += 1
        self.deliver(items)

    def deliver(self, items: list[tuple[asyncio.Queue, object]]) -> None:
        if (
            items and not self.loop.is_closed()
        ):  # one wake-up of the event loop per step, however many requests
            self.loop.call_soon_threadsafe(put_all, items)

    def collect(self) -> Iterator[Metric]:
        """Prometheus collector: state read at scrape time (plain reads of counts; no lock needed)."""
        s = self.engine.scheduler
        requests = CounterMetricFamily(
            "swiftllm_requests", "Finished requests", labels=["finish_reason"]
        )
        for reason, n in list(self.finished.items()):
            requests.add_metric([reason], n)
        yield requests
        yield CounterMetricFamily(
            "swiftllm_prompt_tokens", "Prompt tokens admitted", value=self.tokens["prompt"]
        )
        yield CounterMetricFamily(
            "swiftllm_generation_tokens", "Tokens generated", value=self.tokens["generation"]
        )
        for name, queue in (("running", s.running), ("waiting", s.waiting), ("swapped", s.swapped)):
            yield GaugeMetricFamily(
                f"swiftllm_num_requests_{name}", f"Sequences {name}", value=len(queue)
            )
        gpu = s.blocks.gpu
        yield GaugeMetricFamily(
            "swiftllm_gpu_blocks_free", "Free KV blocks on the device", value=gpu.num_free
        )
        yield GaugeMetricFamily(
            "swiftllm_kv_cache_usage",
            "Fraction of device KV blocks in use",
            value=1 - gpu.num_free / max(gpu.num_blocks, 1),
        )
        for name, n in list(s.counters.items()):
            yield CounterMetricFamily(
                f"swiftllm_{name}", f"Scheduler {name.replace('_', ' ')}", value=n
            )
