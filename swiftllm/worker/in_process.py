"""The worker in the controller's process: a ModelRunner behind the same door as the ZeroMQ server."""

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from swiftllm.protocol.messages import CacheGeometry, validate_step
from swiftllm.protocol.step import StepCommand, StepResult


class StepRunner(Protocol):  # a ModelRunner, or a test's fake
    geometry: CacheGeometry | None  # what steps are validated against; None before init_cache

    def launch(self, cmd: StepCommand) -> object: ...

    def collect(self, launched: object) -> StepResult: ...


class InProcessWorker:
    """A ModelRunner on a thread of its own: sending step N+1 queues it on the device behind step N, then the
    engine waits for step N's tokens (the runner waits on the GPU with the GIL released).

    A step is validated as the server validates one (protocol.messages.validate_step) before it is queued:
    a bad step raises ProtocolError from send_step and never reaches the kernels. A sequence whose sampling
    values are out of range is refused by the runner (ModelRunner.launch), as behind the server: the step
    runs, and its result's errors name that sequence."""

    def __init__(self, runner: StepRunner) -> None:
        self.runner = runner
        self.thread = ThreadPoolExecutor(1, "worker")
        # steps sent and not received (their launches), oldest first
        self.in_flight: deque[Future] = deque()

    def send_step(self, cmd: StepCommand) -> None:
        validate_step(cmd, self.runner.geometry)  # CacheNotInitialized before init_cache
        self.in_flight.append(self.thread.submit(self.runner.launch, cmd))

    def recv_step(self) -> StepResult:
        # the oldest step's launch, then its collect on the worker thread
        return self.thread.submit(self.runner.collect, self.in_flight.popleft().result()).result()
