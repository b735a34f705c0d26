"""The worker in the controller's process: a ModelRunner behind the same door as the ZeroMQ server."""

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from swiftllm.protocol.messages import CacheGeometry, refuse_bad_values, validate_step
from swiftllm.protocol.step import StepCommand, StepResult


class StepRunner(Protocol):  # a ModelRunner, or a test's fake
    geometry: CacheGeometry | None  # what steps are validated against; None before init_cache

    def launch(self, cmd: StepCommand) -> object: ...

    def collect(self, launched: object) -> StepResult: ...


class InProcessWorker:
    """A ModelRunner on a thread of its own: sending step N+1 queues it on the device behind step N, then the
    engine waits for step N's tokens (the runner waits on the GPU with the GIL released).

    A step is validated as the server validates one (protocol.messages.validate_step) before it is queued:
    a bad step raises ProtocolError from send_step and never reaches the kernels."""

    def __init__(self, runner: StepRunner) -> None:
        self.runner = runner
        self.thread = ThreadPoolExecutor(1, "worker")
        # steps sent and not received, oldest first: each one's launch and its refused sequences
        self.in_flight: deque[tuple[Future, dict[int, str]]] = deque()

    def send_step(self, cmd: StepCommand) -> None:
        validate_step(cmd, self.runner.geometry)  # CacheNotInitialized before init_cache
        errors = refuse_bad_values(cmd, self.runner.geometry)
        self.in_flight.append((self.thread.submit(self.runner.launch, cmd), errors))

    def recv_step(self) -> StepResult:
        launch, errors = self.in_flight.popleft()
        result = self.thread.submit(self.runner.collect, launch.result()).result()
        result.errors = errors
        return result
