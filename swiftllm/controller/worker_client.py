"""A blocking DEALER client for one worker: how the engine loop (and tests) drive a worker.

Steps may be pipelined (send_step several, then recv_step each, in order); other ops wait for none
in flight."""

from collections import deque
from typing import Any, NamedTuple

import zmq

from swiftllm.protocol import auth, codec
from swiftllm.protocol.step import STEP_ARRAYS, StepCommand, StepResult

# the hello reply's fields a controller reads, and their types (a bool is no int here): one missing raised a bare
# KeyError, a pipeline_size of 0 a ZeroDivisionError, a model_config list an AttributeError
HELLO_FIELDS = dict(epoch=int, model_config=dict, pipeline_size=int, device=str, dtype=str)


class WorkerError(RuntimeError):
    """An error reply (`type` as in docs/protocol.md), or a worker that did not answer in time
    ("Timeout")."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.type = error_type
        self.message = message

    @property
    def lost(self) -> bool:
        """Whether the worker will never answer again: dead, or silent past its time (blocked in a
        collective, say, after another rank's step failed)."""
        return self.type in ("Timeout", "WorkerDied")


class SentRequest(NamedTuple):
    """A request awaiting its reply."""

    request_id: int
    op: str


class SharedOps:
    """The ops a WorkerClient and a WorkerGroup send the same way, through the `call(op, **fields)` each
    subclass defines: it reaches the one worker, or every rank of the group."""

    def init_cache(self, **fields: int) -> None:
        """Fields: block_size, num_blocks, num_cpu_blocks, max_model_len (SchedulerConfig.cache_fields;
        the worker checks that all four, and no other, are given)."""
        self.call("init_cache", **fields)

    def shutdown(self) -> None:
        self.call("shutdown")


class WorkerClient(SharedOps):
    def __init__(self, address: str, timeout_s: float = 300.0) -> None:
        # a port or IPv6 bracket that ZeroMQ would misread: refused now, not 300 s into the hello
        auth.check_tcp_address(address)
        self.address = address
        self.timeout_s = timeout_s
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.IPV6, "[" in address)  # a tcp://[IPv6]:port address
        self.socket.connect(address)
        self.epoch = 0  # 0 until hello: the worker refuses any other op before one
        self.info: dict[str, Any] = {}  # the hello reply
        self.next_id = 0
        self.in_flight: deque[SentRequest] = deque()  # oldest first

    def recv(self) -> dict[str, Any]:
        """The reply to the oldest request in flight; after a Timeout, calling again keeps waiting
        for it."""
        oldest = self.in_flight[0]
        if not self.socket.poll(self.timeout_s * 1000):
            raise WorkerError(
                "Timeout",
                f"worker at {self.address} did not answer {oldest.op} #{oldest.request_id} "
                f"within {self.timeout_s:g} s",
            )
        self.in_flight.popleft()
        reply = codec.decode_reply(self.socket.recv())  # at most DEFAULT_MAX_MESSAGE_BYTES
        # nil: the worker could not read the request's id
        if reply["id"] not in (oldest.request_id, None):
            raise WorkerError(
                "OutOfOrder", f"expected the reply to #{oldest.request_id}, got #{reply['id']}"
            )
        if "error" in reply:
            raise WorkerError(reply["error"]["type"], reply["error"]["message"])
        return reply

    def call(self, op: str, **fields: Any) -> dict[str, Any]:
        if self.in_flight:
            raise RuntimeError(
                f"{len(self.in_flight)} requests in flight: receive them before sending {op}"
            )
        self.send_request(op, **fields)
        return self.recv()

    def send_request(self, op: str, **fields: Any) -> int:
        """Send a request of `op` without waiting for its reply; returns its id."""
        request_id = self.next_id
        epoch = None if op == "hello" else self.epoch  # a hello opens a new session
        self.socket.send(codec.encode_request(op, request_id, epoch, **fields))
        self.next_id += 1
        self.in_flight.append(SentRequest(request_id, op))
        return request_id

    def hello(self, token: str | None = None) -> dict[str, Any]:
        """Open a session; `token`: the worker's session token, if it has one (protocol/auth.py)."""
        self.info = self.call("hello", **({} if token is None else {"token": token}))
        if self.info.get("protocol_version") != codec.PROTOCOL_VERSION:
            raise WorkerError(
                "ProtocolVersion",
                f"worker speaks version {self.info.get('protocol_version')!r}, "
                f"this controller {codec.PROTOCOL_VERSION}",
            )
        if bad := [k for k, kind in HELLO_FIELDS.items() if type(self.info.get(k)) is not kind]:
            raise WorkerError("InvalidReply", f"{self.address}'s hello has no valid {bad}")
        self.epoch = self.info["epoch"]
        return self.info

    def send_step(self, cmd: StepCommand) -> int:
        return self.send_request("step", **codec.pack_arrays(cmd, STEP_ARRAYS))

    def recv_step(self) -> StepResult:
        return codec.decode_result(self.recv())

    def close(self) -> None:
        self.context.destroy()  # closes the socket (LINGER 0: unsent requests are dropped), then terms
