"""The worker's ZeroMQ loop: one ROUTER socket, requests answered in arrival order, every failure a reply.

One controller owns the worker at a time: each hello (with the session token, if the worker has one:
protocol/auth.py) opens a new epoch, and a request carrying any other
epoch is refused, so a controller that was taken over cannot corrupt the new one's cache. A step is answered
once the device has run it; until then the loop takes the next request, so the next step is already queued
on the device when this one ends. A thread waits on the device and wakes the loop through an inproc socket."""

import contextlib
import os
import secrets
import shutil
import tempfile
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

import zmq

from swiftllm.protocol import codec
from swiftllm.protocol.auth import check_bind, token_matches
from swiftllm.protocol.messages import ProtocolError
from swiftllm.worker.model_runner import LaunchedStep, ModelRunner

# requests read ahead of the one running (stamped on arrival); the rest wait in ZMQ's queue
MAX_QUEUED = 64


class StepInFlight(NamedTuple):
    """A step launched on the device, not answered yet."""

    envelope: list[bytes]  # the routing frames to answer to
    request_id: int
    step: LaunchedStep


class WorkerServer:
    def __init__(
        self,
        runner: ModelRunner,
        bind: str | None = None,
        max_message_bytes: int = codec.DEFAULT_MAX_MESSAGE_BYTES,
        token: str | None = None,
    ) -> None:
        """`token`: the session token a hello must carry (protocol/auth.py); None takes any hello, and is
        refused for an address other machines can reach."""
        check_bind(bind, token)
        self.token = token
        self.runner = runner
        self.max_message_bytes = max_message_bytes
        self.runtime_dir: str | None = None
        if bind is None:
            # an ipc:// path in a fresh directory only this user can enter (mkdtemp makes it 0700)
            runtime = os.environ.get("XDG_RUNTIME_DIR", "")
            self.runtime_dir = tempfile.mkdtemp(
                prefix="swiftllm-", dir=runtime if os.path.isdir(runtime) else None
            )
            bind = f"ipc://{self.runtime_dir}/worker{runner.cfg.rank}.sock"
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.ROUTER)
        # Below the protocol's limit an oversized message gets an error reply; far above it ZMQ drops the
        # connection before buffering it, so no peer can make the worker hold gigabytes.
        self.socket.setsockopt(zmq.MAXMSGSIZE, 2 * max_message_bytes + 4096)
        # tcp://[::1]:... needs IPv6 on; only then, or an IPv4 address would read back as [::ffff:...]
        self.socket.setsockopt(zmq.IPV6, "[" in bind)
        # A ROUTER silently drops replies to a peer whose queue is full (1,000 by default): a controller
        # that sent thousands of requests before reading waited forever for the dropped ones. Not
        # unbounded: a peer without the token still gets error replies, and one that never read them
        # would grow the worker's memory (~200 bytes a reply; this caps it near 20 MB a connection)
        self.socket.setsockopt(zmq.SNDHWM, 100_000)
        self.socket.bind(bind)
        # the real port of tcp://...:*
        self.address = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        # epoch 0: no session yet. Each hello draws a new one at random: it is what authorises a session's
        # later requests (only a hello carries the token), so it is never guessable nor told to another
        # peer, and a restarted worker at the same address refuses its predecessor's controller
        self.epoch = 0
        self.serving = False
        self.step_in_flight: StepInFlight | None = None
        # the waiting thread wakes the loop through this pair; wake_sender is that thread's alone
        self.wake = self.context.socket(zmq.PAIR)
        self.wake_sender = self.context.socket(zmq.PAIR)
        self.wake.bind(f"inproc://wake-{id(self)}")
        self.wake_sender.connect(f"inproc://wake-{id(self)}")
        self.waiter = ThreadPoolExecutor(1, "device-wait")

    def serve(self) -> None:
        """Answer requests until a shutdown request."""
        queue: deque[tuple[list[bytes], float]] = deque()  # (frames, arrival time)
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        poller.register(self.wake, zmq.POLLIN)
        self.serving = True
        while self.serving:
            # read what has arrived: queue_ms counts from then
            while len(queue) < MAX_QUEUED and self.socket.poll(0):
                queue.append((self.socket.recv_multipart(), time.perf_counter()))
            if queue:
                frames, received = queue.popleft()
                # frames[:-1] is the routing envelope (the peer's identity, plus an empty frame from a REQ socket)
                self.handle(frames[:-1], frames[-1], received)
            elif self.step_in_flight and self.step_in_flight.step.ready():
                self.answer_step()
            elif self.wake in dict(poller.poll()):
                self.wake.recv()

    def handle(self, envelope: list[bytes], payload: bytes, received: float) -> None:
        """Answer one request, whatever it holds: every failure becomes an error reply.

        A step is decoded and validated against the cache geometry (codec.decode_step), launched, and
        answered later (answer_step), once the device has run it; any other op answers the step in flight
        first, then itself. After a failed step the runner forgets its sampled tokens, so that a step sent
        behind it cannot read a stale one through a -1. To add an op: an `op_<name>` method returning the
        reply's fields, and its fields in protocol.messages.OP_FIELDS."""
        queue_ms = (time.perf_counter() - received) * 1e3
        request_id = None
        # set once the request is the session's: a step of another epoch must not make it forget tokens
        op = None
        try:
            request = codec.decode_request(payload, self.max_message_bytes)
            request_id = request.id
            if request.op != "hello" and (self.epoch == 0 or request.epoch != self.epoch):
                hint = "another controller took over"
                if 0 in (self.epoch, request.epoch):
                    hint = "send hello first"
                # the session's epoch is not told: it would let any peer act in that session
                raise ProtocolError(
                    "StaleEpoch", f"epoch {request.epoch} is not the session's: {hint}"
                )
            op = request.op
            if op == "hello" and self.token is not None:
                if not token_matches(request.token, self.token):
                    raise ProtocolError("Unauthorized", "hello without this worker's session token")
            if op == "step":  # validated by decode_step (CacheNotInitialized before init_cache)
                # the runner refuses bad sampling values (result.errors)
                step = self.runner.launch(codec.decode_step(request.fields, self.runner.geometry))
                step.timings["queue_ms"] = queue_ms  # from its arrival to the start of its handling
                self.answer_step()
                self.step_in_flight = StepInFlight(envelope, request_id, step)
                self.waiter.submit(self.wake_when_done, step)
                return
            self.answer_step()
            reply = codec.encode_reply(request_id, **getattr(self, f"op_{op}")(request.fields))
        except ProtocolError as e:
            reply = codec.encode_error(
                request_id if e.request_id is None else e.request_id, e.type, str(e)
            )
        except Exception as e:  # whatever a request does, the worker answers and serves on
            reply = codec.encode_error(request_id, type(e).__name__, str(e) or repr(e))
        self.answer_step()  # the step before a failed one answers first
        self.socket.send_multipart([*envelope, reply])
        if op == "step":
            self.runner.forget()  # so that steps sent behind this one cannot use a stale token (-1)

    def wake_when_done(self, step: LaunchedStep) -> None:
        step.wait_for_device()
        self.wake_sender.send(b"")

    def answer_step(self) -> None:
        """Reply to the step in flight, if any, once the device has run it."""
        if self.step_in_flight is None:
            return
        in_flight = self.step_in_flight
        self.step_in_flight = None
        try:
            result = self.runner.collect(in_flight.step)
            reply = codec.encode_reply(in_flight.request_id, **codec.result_fields(result))
        except Exception as e:
            reply = codec.encode_error(in_flight.request_id, type(e).__name__, str(e) or repr(e))
            # a second failure (a sticky CUDA error fails every read-back) must not lose this reply
            with contextlib.suppress(Exception):
                self.runner.forget()
        self.socket.send_multipart([*in_flight.envelope, reply])

    def op_hello(self, _: dict[str, Any]) -> dict[str, Any]:
        self.epoch = secrets.randbelow(2**63 - 1) + 1
        self.runner.forget()  # the new controller's sequence ids mean nothing here
        runner = self.runner
        model_config = runner.model_config
        return {
            "epoch": self.epoch,
            "protocol_version": codec.PROTOCOL_VERSION,
            "model_config": {**asdict(model_config), "max_context": model_config.max_context},
            "model_dir": str(Path(runner.cfg.model).resolve()),
            "rank": runner.cfg.rank,
            "world_size": runner.cfg.world_size,
            "pipeline_size": runner.cfg.pipeline_size,
            "device": str(runner.device),
            "dtype": str(runner.dtype).removeprefix("torch."),
            "backend": runner.backend,
            "max_message_bytes": self.max_message_bytes,
            "cache": None if runner.geometry is None else asdict(runner.geometry),
        }

    def op_profile(self, fields: dict[str, int]) -> dict[str, Any]:
        block_size = fields["block_size"]
        return {
            "num_blocks": self.runner.profile(block_size),
            "block_bytes": self.runner.block_bytes(block_size),
        }

    def op_init_cache(self, fields: dict[str, int]) -> dict[str, Any]:
        self.runner.init_cache(**fields)  # block_size, num_blocks, num_cpu_blocks, max_model_len
        return {}

    def op_shutdown(self, _: dict[str, Any]) -> dict[str, Any]:
        self.serving = False
        return {}

    def close(self) -> None:
        self.waiter.shutdown()  # its thread's wake_sender is not in use while the sockets close
        # closes every socket of the context (the ROUTER, the wake pair), then terminates it; a second
        # for the last reply (a shutdown's) to leave
        self.context.destroy(linger=1000)
        if self.runtime_dir:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
        elif self.address.startswith("ipc://"):
            # ZeroMQ leaves the socket file of a bound ipc:// path behind
            Path(self.address.removeprefix("ipc://")).unlink(missing_ok=True)
