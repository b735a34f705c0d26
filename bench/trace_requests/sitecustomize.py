"""Log where each request's time to its first token goes inside a live server: when the REST handler queued
it, when the engine thread added it, when the step carrying its prompt's last chunk was sent to the worker and
read back, and when its first token was published and picked up by the event loop.

    TRACE_REQUESTS=1 PYTHONPATH=bench/trace_requests:$PYTHONPATH swiftctl launch ... 2> server.log
    python3 bench/trace_requests/breakdown.py server.log
    python3 bench/trace_requests/arrival_trace.py server.log trace.json   # for serving.py --arrival-trace

Python imports sitecustomize at start-up from the path. In each process where TRACE_REQUESTS is set, this one
wraps a few controller methods (never the worker's: it only imports controller modules, which import no torch).
Each event is one stderr line, `[req EVENT t=SECONDS key=value ...]`, with t from one monotonic clock
(time.perf_counter) of the controller process:
- `post rid=R prompt=N max_tokens=M entered=T`: the handler queued request R (event loop thread) with a
  prompt of N tokens and at most M to generate; T is when that handler began (RestServer.generate entered:
  before it read and checked the body);
- `added rid=R seq=S`: the engine thread added it between steps, as sequence S;
- `sent step=K rows=N tokens=T firsts=S1,S2`: step K went to the worker; `firsts` are the sequences whose
  prompt it finishes (sampled rows with more than one new token: a prompt whose last chunk is a single token
  is not named);
- `read step=K forward_ms=... gpu_ms=...`: step K's result was read back (its device work is done), with the
  worker's timings of it (StepResult.timings: forward_ms is the host's time to launch its forward, gpu_ms the
  device's from the step's first event to its last, which includes waiting for a slow launch);
- `published seqs=S1,S2`: the engine thread handed over these sequences' first tokens;
- `delivered rids=R1,R2`: the event loop put those first tokens on their handlers' queues;
- `finished rid=R tokens=N reason=WHY`: request R ended (engine thread) after generating N tokens; WHY is its
  finish reason as swiftllm_requests_total counts it (stop, length, abort, error, rejected), logged once.
`post` and `finished` are what trace_requests/arrival_trace.py turns into an arrival trace to replay.
Warm-up steps are logged too; they carry no posted request. A research aid, opt-in and off the serving path
when unset: the wrappers cost a few microseconds per step and per request.

TRACE_STEPS=PATH (either variable, or both) records every step the engine sends to its worker and every
result read back to PATH, for bench/replay_steps.py to replay against a worker (step_recorder.py says how):

    TRACE_STEPS=steps.msgpack PYTHONPATH=bench/trace_requests:. swiftctl launch ...
    PYTHONPATH=. python3 bench/replay_steps.py steps.msgpack --check-tokens"""

from __future__ import annotations

import contextvars
import itertools
import os
import sys
import threading
import time

if os.environ.get("TRACE_REQUESTS"):
    from swiftllm.controller import async_engine, engine, rest

    write_lock = threading.Lock()

    def log(event: str, **fields: object) -> None:
        """One event, one write under a lock: print() writes the text and the newline apart, so two
        threads' events could share a line."""
        values = " ".join(f"{key}={value}" for key, value in fields.items())
        line = f"[req {event} t={time.perf_counter():.6f} {values}]\n"
        with write_lock:
            sys.stderr.write(line)
            sys.stderr.flush()

    def ids(values: object) -> str:
        return ",".join(str(int(v)) for v in values)

    request_ids = itertools.count()
    lock = threading.Lock()
    # id(handler queue) -> rid, for the first-token deliveries (one request per queue: n = 1)
    rid_of_queue: dict[int, int] = {}
    delivered: set[int] = set()
    not_added: set[async_engine.Request] = set()  # posted, not yet seen added

    class TracedWorker:
        """The engine's worker, logging each step's send and read-back (in order: one step in flight)."""

        def __init__(self, worker: object) -> None:
            self.worker = worker
            self.steps = itertools.count()
            self.in_flight: list[int] = []

        def __getattr__(self, name: str) -> object:
            return getattr(self.worker, name)

        def send_step(self, cmd: object) -> object:
            step = next(self.steps)
            firsts = cmd.seq_ids[(cmd.sample == 1) & (cmd.query_lens > 1)]
            log(
                "sent",
                step=step,
                rows=len(cmd.seq_ids),
                tokens=int(cmd.query_lens.sum()),
                firsts=ids(firsts),
            )
            self.in_flight.append(step)
            return self.worker.send_step(cmd)

        def recv_step(self) -> object:
            result = self.worker.recv_step()
            timings = {name: f"{ms:.3f}" for name, ms in sorted(result.timings.items())}
            log("read", step=self.in_flight.pop(0), **timings)
            return result

    engine_init = engine.Engine.__init__

    def traced_engine_init(
        self: engine.Engine, worker: object, *args: object, **kw: object
    ) -> None:
        engine_init(self, TracedWorker(worker), *args, **kw)

    engine.Engine.__init__ = traced_engine_init

    # when the current handler began: set in its task, read by the posts it makes
    handler_entered: contextvars.ContextVar[float] = contextvars.ContextVar("handler_entered")
    generate = rest.RestServer.generate

    async def traced_generate(self: rest.RestServer, request: object, chat: bool) -> object:
        handler_entered.set(time.perf_counter())
        return await generate(self, request, chat)

    rest.RestServer.generate = traced_generate

    post = async_engine.AsyncEngine.post

    def traced_post(self: async_engine.AsyncEngine, request: async_engine.Request) -> object:
        if (
            request.aborted
        ):  # every handler aborts its request when it ends: the same request, again
            return post(self, request)
        rid = next(request_ids)
        request.trace_rid = rid
        with lock:
            rid_of_queue[id(request.queue)] = rid
            not_added.add(request)
        entered = handler_entered.get(time.perf_counter())  # a post from no handler: now
        log(
            "post",
            rid=rid,
            prompt=len(request.prompt_ids),
            max_tokens=request.params.max_tokens,
            entered=f"{entered:.6f}",
        )
        return post(self, request)

    async_engine.AsyncEngine.post = traced_post

    drain_inbox = async_engine.AsyncEngine.drain_inbox

    def traced_drain_inbox(self: async_engine.AsyncEngine) -> None:
        drain_inbox(self)
        with lock:
            added = [request for request in not_added if request.seq is not None]
            not_added.difference_update(added)
        for request in sorted(added, key=lambda request: request.trace_rid):
            log("added", rid=request.trace_rid, seq=request.seq.seq_id)

    async_engine.AsyncEngine.drain_inbox = traced_drain_inbox

    publish = async_engine.AsyncEngine.publish

    def traced_publish(self: async_engine.AsyncEngine, seqs: list) -> None:
        firsts = [seq.seq_id for seq in seqs if seq.num_outputs >= 1 and seq.seq_id in self.active]
        firsts = [s for s in firsts if self.active[s].sent_tokens == 0]
        if firsts:
            log("published", seqs=ids(firsts))
        publish(self, seqs)

    async_engine.AsyncEngine.publish = traced_publish

    put_all = async_engine.put_all

    def traced_put_all(deliveries: list) -> None:
        put_all(deliveries)
        firsts = []
        with lock:
            for delivery in deliveries:
                rid = rid_of_queue.get(id(delivery.queue))
                if rid is not None and rid not in delivered:
                    delivered.add(rid)
                    firsts.append(rid)
        if firsts:
            log("delivered", rids=ids(firsts))

    async_engine.put_all = traced_put_all

    count_end = async_engine.AsyncEngine.count_end

    def traced_count_end(
        self: async_engine.AsyncEngine, request: async_engine.Request, reason: str
    ) -> None:
        # every end of a request passes here (finished, aborted, refused); `counted` makes the first the
        # only one, as it does for the metric
        rid = getattr(request, "trace_rid", None)
        if rid is not None and not request.counted:
            tokens = 0  # refused before it became a sequence
            if request.seq is not None:
                tokens = request.seq.num_outputs
            log("finished", rid=rid, tokens=tokens, reason=reason)
        count_end(self, request, reason)

    async_engine.AsyncEngine.count_end = traced_count_end

if os.environ.get("TRACE_STEPS"):
    # this folder is on the path (how this file was found): its step_recorder imports no torch
    import step_recorder

    step_recorder.install(os.environ["TRACE_STEPS"])
