"""The bridge between the event loop and the engine: the engine steps in its own thread.

Scheduling, the worker round trip and detokenization never block the event loop. Only the engine
thread touches the Engine and its Sequences; two hand-offs cross between the threads, nothing else:
- event loop -> engine thread: handlers `submit` and `abort` append a Request to `inbox` under
  `lock` and set `wake`; between steps the engine thread drains the inbox (adds new requests,
  aborts the marked ones).
- engine thread -> event loop: after each step the engine thread builds one Output per request
  that advanced (plain data, never a Sequence) and hands them all over in one
  `call_soon_threadsafe`, which puts each on the asyncio queue its handler awaits."""

import asyncio
import logging
import re
import threading
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import NamedTuple

from prometheus_client import CollectorRegistry, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from swiftllm.controller.engine import Engine
from swiftllm.controller.sequence import Sequence, TokenLogprobs
from swiftllm.controller.worker_client import WorkerError
from swiftllm.sampling_params import SamplingParams

log = logging.getLogger("swiftllm.controller")


class EngineError(RuntimeError):
    """The engine cannot serve: its loop died, its worker is gone, or the server is shutting down."""


class RequestFailed(RuntimeError):
    """One request failed (its values were refused by the worker, or postprocessing it raised); the
    engine serves on."""


@dataclass(frozen=True)
class Output:
    """What one step added to one request, built in the engine thread: the loop never reads a
    Sequence."""

    index: int  # the choice this output belongs to
    text: str
    token_ids: list[int]
    logprobs: list[TokenLogprobs]
    text_offsets: list[int]  # where each of token_ids' texts begins in the choice's whole text
    finish_reason: str | None
    num_output_tokens: int
    num_cached_tokens: int  # prompt tokens taken from the prefix cache

    def followed_by(self, later: "Output") -> "Output":
        """This output and a later one of the same choice as one: the later one's finish reason and
        counts (running totals), both ones' text, tokens and logprobs."""
        return replace(
            later,
            text=self.text + later.text,
            token_ids=self.token_ids + later.token_ids,
            logprobs=self.logprobs + later.logprobs,
            text_offsets=self.text_offsets + later.text_offsets,
        )


@dataclass(eq=False)
class Request:
    prompt_ids: list[int]
    params: SamplingParams
    queue: asyncio.Queue
    index: int
    seq: Sequence | None = None
    aborted: bool = False
    sent_text: int = 0  # characters of seq.text already delivered
    sent_tokens: int = 0  # output tokens already delivered
    # characters held back while unfinished: a stop string may still complete and cut them off
    hold_back_chars: int = 0
    counted: bool = False  # its end is in `finished` (engine thread only): each request counts once
    counted_tokens: int = 0  # output tokens in swiftllm_generation_tokens_total


class Delivery(NamedTuple):
    """An item for a handler's queue: an Output, or the exception that ends its request."""

    queue: asyncio.Queue
    item: Output | Exception


WORKER_TIMING = re.compile(r"[a-z][a-z_]{0,40}_ms")


def put_all(deliveries: list[Delivery]) -> None:
    """Runs on the event loop: hand each item to the handler awaiting it."""
    for delivery in deliveries:
        delivery.queue.put_nowait(delivery.item)


class AsyncEngine:
    def __init__(
        self, engine: Engine, event_loop: asyncio.AbstractEventLoop, health_timeout_s: float = 60.0
    ) -> None:
        self.engine = engine
        self.event_loop = event_loop
        self.health_timeout_s = health_timeout_s
        self.lock = threading.Lock()
        # requests to add, or to abort once marked aborted; in arrival order
        self.inbox: list[Request] = []
        self.wake = threading.Event()
        self.active: dict[int, Request] = {}  # seq id -> request (engine thread only)
        self.error: BaseException | None = None
        # why new requests are refused and /health is 503 (set on the event loop: a dead worker, a takeover,
        # a shutdown), or None
        self.failure: str | None = None
        # submitted and not yet ended by their handler (event loop only): what fail_open ends
        self.open: set[Request] = set()
        self.stopping = False
        # refreshed every loop turn: a stuck step lets it go stale
        self.heartbeat = time.monotonic()
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
        # process_cpu_seconds_total: the controller's CPU per step is bench/serving.py's "ctl cpu"
        ProcessCollector(registry=self.registry)
        self.thread = threading.Thread(target=self.step_loop, name="engine", daemon=True)
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
        """Event loop side: queue a request; its Outputs will arrive on `queue`."""
        if self.error is not None or self.stopping or self.failure is not None:
            why = self.failure or self.error or "shutting down"
            raise EngineError(f"the engine is not running: {why}")
        hold_back_chars = max(map(len, params.stop), default=1) - 1
        request = Request(prompt_ids, params, queue, index, hold_back_chars=hold_back_chars)
        self.open.add(request)
        return self.post(request)

    def abort(self, request: Request) -> None:
        """Event loop side: free a request's blocks; a no-op once it finished. Every handler calls this
        for each of its requests when it ends, however it ends."""
        self.open.discard(request)
        request.aborted = True
        self.post(request)

    def fail_open(self, why: str) -> None:
        """Event loop side: refuse new requests and end every open one with an EngineError saying why
        (the engine thread may be stuck on a dead worker: this does not wait for it)."""
        self.failure = why
        for request in list(self.open):
            request.queue.put_nowait(EngineError(why))

    def post(self, request: Request) -> Request:
        """Hand a request to the engine thread, which reads the inbox between steps."""
        with self.lock:
            self.inbox.append(request)
        self.wake.set()
        return request

    def health(self) -> str | None:
        """None if healthy, else why not."""
        if self.failure is not None:
            return self.failure
        if self.error is not None or not self.thread.is_alive():
            return f"engine loop died: {self.error!r}"
        if (stalled_s := time.monotonic() - self.heartbeat) > self.health_timeout_s:
            return f"no engine progress for {stalled_s:.0f} s"
        return None

    def step_loop(self) -> None:
        """The engine thread: drain the inbox, step, deliver the outputs; sleep while idle."""
        try:
            while not self.stopping:
                self.heartbeat = time.monotonic()
                if not self.engine.has_work:
                    self.wake.wait(1.0)
                self.wake.clear()  # before draining: a submit after this wakes the next wait
                self.drain_inbox()
                if self.engine.has_work:
                    with self.step_seconds.time():
                        seqs = self.engine.step()
                    self.publish(seqs)
            # the aborts posted while the server shut down (its handlers end every open request): counted,
            # so that swiftllm_requests_total and the shutdown line hold the requests the shutdown ended
            self.drain_inbox()
        except BaseException as error:  # a worker failure: fail every request rather than hang it
            if isinstance(error, WorkerError):  # whoever serves reports it (health(), one line)
                log.info("engine loop died: %s", error)
            else:
                log.exception("engine loop died")
            self.error = error
            with self.lock:
                unanswered = [*self.active.values(), *self.inbox]
            why = f"engine failed: {error}"
            self.deliver([Delivery(request.queue, EngineError(why)) for request in unanswered])

    def drain_inbox(self) -> None:
        with self.lock:
            todo = self.inbox
            self.inbox = []
        refusals: list[Delivery] = []
        for request in todo:
            if request.aborted:
                # never added (seq None), already finished (not active), or to abort now
                seq = request.seq
                if seq is not None and self.active.pop(seq.seq_id, None) is not None:
                    self.engine.abort(seq)
                self.count_end(request, "abort")  # no-op for one counted when it finished
                continue
            try:
                request.seq = self.engine.add_request(request.prompt_ids, request.params)
            except ValueError as error:
                # the REST layer checks first; this is the engine's last word
                refusals.append(Delivery(request.queue, error))
                self.count_end(request, "rejected")
                continue
            self.active[request.seq.seq_id] = request
            self.tokens["prompt"] += len(request.prompt_ids)
        self.deliver(refusals)

    def publish(self, seqs: list[Sequence]) -> None:
        """Turn what a step added to each active request into its Output, and deliver them all."""
        deliveries: list[Delivery] = []
        for seq in seqs:
            if (request := self.active.get(seq.seq_id)) is None:
                continue  # aborted meanwhile
            if seq.finished:
                del self.active[seq.seq_id]
                self.count_end(request, seq.finish_reason or "abort")
            # every token generated counts, delivered or not (one held back for a stop string when its
            # request is aborted or fails is never delivered), as vLLM counts
            self.tokens["generation"] += seq.num_outputs - request.counted_tokens
            request.counted_tokens = seq.num_outputs
            if seq.finish_reason == "error":  # failed alone (Engine.fail): finished too
                deliveries.append(Delivery(request.queue, RequestFailed(seq.error)))
                continue
            text_end = len(seq.text)
            token_end = seq.num_outputs
            if not seq.finished:  # hold back what a stop string may still cut off
                text_end = max(request.sent_text, text_end - request.hold_back_chars)
                # and the tokens whose text begins in it: a cut may still move their offsets back (one
                # beginning where it ends waits for its text, as a token of an unfinished character does)
                token_end = max(request.sent_tokens, bisect_left(seq.text_offsets, text_end))
            output = Output(
                index=request.index,
                text=seq.text[request.sent_text : text_end],
                token_ids=seq.outputs(request.sent_tokens, token_end),
                logprobs=seq.logprobs[request.sent_tokens : token_end],
                text_offsets=seq.text_offsets[request.sent_tokens : token_end],
                finish_reason=seq.finish_reason,
                num_output_tokens=seq.num_outputs,
                num_cached_tokens=seq.num_prompt_cache_hits or 0,
            )
            deliveries.append(Delivery(request.queue, output))
            request.sent_text = text_end
            request.sent_tokens = token_end
        self.deliver(deliveries)

    def count_end(self, request: Request, reason: str) -> None:
        """Count a request's end under `reason`, once: swiftllm_requests_total{finish_reason}."""
        if not request.counted:
            request.counted = True
            self.finished[reason] += 1

    def deliver(self, deliveries: list[Delivery]) -> None:
        """Hand items to the event loop: one wake-up of the loop per step, however many requests."""
        if deliveries and not self.event_loop.is_closed():
            self.event_loop.call_soon_threadsafe(put_all, deliveries)

    def collect(self) -> Iterator[Metric]:
        """Prometheus collector: state read at scrape time (plain reads of counts: no lock)."""
        requests = CounterMetricFamily(
            "swiftllm_requests",
            "Requests ended, each once: stop, length, abort, error (failed alone), rejected",
            labels=["finish_reason"],
        )
        for reason, count in list(self.finished.items()):
            requests.add_metric([reason], count)
        yield requests
        # swiftllm_prompt_tokens and swiftllm_generation_tokens
        token_help = {"prompt": "Prompt tokens admitted", "generation": "Tokens generated"}
        for kind, count in list(self.tokens.items()):
            yield CounterMetricFamily(f"swiftllm_{kind}_tokens", token_help[kind], value=count)
        gpu = self.engine.scheduler.block_manager.gpu
        gauges = [  # name, help, value: the scheduler's queues, then the device's KV blocks
            ("num_requests_running", "Sequences running", len(self.engine.scheduler.running)),
            ("num_requests_waiting", "Sequences waiting", len(self.engine.scheduler.waiting)),
            ("num_requests_swapped", "Sequences swapped", len(self.engine.scheduler.swapped)),
            ("gpu_blocks_free", "Free KV blocks on the device", gpu.num_free),
            ("kv_cache_usage", "Fraction of device KV blocks in use", gpu.usage),
        ]
        for name, help_text, value in gauges:
            yield GaugeMetricFamily(f"swiftllm_{name}", help_text, value=value)
        # the worker's step timings summed (gpu_ms, gpu_idle_ms, ...: StepResult.timings), in seconds
        for name, total_ms in list(self.engine.worker_ms.items()):
            if WORKER_TIMING.fullmatch(name):  # a metric name; the worker's names are not trusted
                yield CounterMetricFamily(
                    f"swiftllm_worker_{name.removesuffix('_ms')}_seconds",
                    f"Worker {name} summed over steps, in seconds",
                    value=total_ms / 1e3,
                )
        # prefix_cache_queries / prefix_cache_hits / prompt_tokens_computed are tokens (scheduler.py)
        for name, count in list(self.engine.scheduler.counters.items()):
            yield CounterMetricFamily(
                f"swiftllm_{name}", f"Scheduler {name.replace('_', ' ')}", value=count
            )
