"""Record every step an engine sends to its worker, and what came back, to a file that bench/replay_steps.py
replays against a worker with no controller in the loop.

    TRACE_STEPS=steps.msgpack PYTHONPATH=bench/trace_requests:. swiftctl launch ...   # a server
    TRACE_STEPS=steps.msgpack PYTHONPATH=bench/trace_requests:. python3 my_script.py  # any LLM(...) in it

or, in a script or notebook, `step_recorder.record(llm.engine, "steps.msgpack")` before generating.

The seam is the Engine's `worker` (its send_step / recv_step): a WorkerClient or WorkerGroup over ZeroMQ behind
`swiftctl launch`, an InProcessWorker behind `LLM`. The hook (sitecustomize.py) wraps Engine.__init__ from
outside the core, and every Engine built afterwards records; the process's first writes PATH, later ones
PATH.1, PATH.2, ... (a script may build several LLMs).

The file is msgpack (the worker protocol's codec; no pickle): a stream of maps, each written and flushed as
the run goes, so a server that was killed leaves a readable prefix. First a header:

    {"record": "header", "format": "swiftllm-step-trace", "version": 1, "recorded_at": ISO date,
     "protocol_version": 3, "model_dir": str, "model_config": the ModelConfig's fields,
     "cache": init_cache's fields (block_size, num_blocks, num_cpu_blocks, max_model_len),
     "max_num_seqs": int, "max_num_batched_tokens": int, "pipeline_stages": int,
     "worker": {"transport", "device", "dtype", "backend", "world_size"}}

then, in the order the engine made them (one step in flight ahead: step K+1's send comes before step K's read):

    {"record": "step", "step": K, "t": seconds since the header, "fields": the step's arrays as a step
     request carries them (codec.pack_arrays over STEP_ARRAYS: -1 tokens, finished ids, block moves)}
    {"record": "result", "step": K, "t": ..., "seq_ids": int32 bin, "tokens": int32 bin, "timings": {name: ms}}
    {"record": "result", "step": K, "t": ..., "error": "Type: message"}   # the worker failed the step

The cache the header names is the one the engine's init_cache asked for, so a replay rebuilds the worker's
state from nothing: the steps from the first one fill every block that a later step (a prefix-cache hit, a
swap-in) reads. What it costs: a few tens of microseconds per step to pack and write, on the engine's thread.
No torch here: the controller's side imports none."""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import msgpack
import numpy as np

from swiftllm.protocol import codec
from swiftllm.protocol.messages import CacheGeometry, ProtocolError
from swiftllm.protocol.step import RESULT_ARRAYS, STEP_ARRAYS, StepCommand, StepResult

FORMAT = "swiftllm-step-trace"
VERSION = 1
# a step record holds one step request's arrays; a worker takes requests of up to 64 MiB, and the header
# and the result records are far smaller
MAX_RECORD_BYTES = 2 * codec.DEFAULT_MAX_MESSAGE_BYTES


class TraceError(ValueError):
    """A trace file that cannot be read, with a message for the user."""


def worker_summary(worker: object) -> dict[str, Any]:
    """What the engine's worker is, from what it holds: a WorkerClient or WorkerGroup its hello reply
    (`info`), an InProcessWorker its ModelRunner (`runner`). Any other worker (a test's fake) gives
    only its class's name."""
    info = getattr(worker, "info", None)
    if isinstance(info, dict) and info:
        return {
            "transport": "zmq",
            "model_dir": info.get("model_dir", ""),
            "device": info.get("device", ""),
            "dtype": info.get("dtype", ""),
            "backend": info.get("backend", ""),
            "world_size": info.get("world_size", 1),
        }
    runner = getattr(worker, "runner", None)
    if runner is not None:
        return {
            "transport": "in-process",
            # absolute: a replay may run from another directory
            "model_dir": str(Path(runner.cfg.model).resolve()),
            "device": str(runner.device),
            # "torch.float32" -> "float32", as a worker's hello says it
            "dtype": str(runner.dtype).removeprefix("torch."),
            "backend": runner.backend,
            "world_size": 1,
        }
    return {"transport": type(worker).__name__, "model_dir": ""}


def header_record(engine: Any) -> dict[str, Any]:
    """The header of a trace of `engine`'s steps (module docstring)."""
    cfg = engine.scheduler.cfg
    worker = worker_summary(engine.worker)
    return {
        "record": "header",
        "format": FORMAT,
        "version": VERSION,
        "recorded_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "protocol_version": codec.PROTOCOL_VERSION,
        "model_dir": worker.pop("model_dir"),
        "model_config": asdict(engine.model_config),
        "cache": cfg.cache_fields,
        "max_num_seqs": cfg.max_num_seqs,
        "max_num_batched_tokens": cfg.max_num_batched_tokens,
        "pipeline_stages": cfg.pipeline_stages,
        "worker": worker,
    }


class StepRecorder:
    """The engine's worker, writing each step it is sent and each result read back. Anything else is the
    worker's own (attribute access passes through), so the engine and other hooks see the same worker."""

    def __init__(self, worker: Any, file: BinaryIO, header: dict[str, Any]) -> None:
        self.worker = worker
        self.file = file
        self.sent = 0  # steps sent so far: the next step's number
        self.unread: list[int] = []  # steps sent and not read back, oldest first
        self.start = time.perf_counter()
        self.write(header)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.worker, name)

    def write(self, record: dict[str, Any]) -> None:
        # flushed each time: a killed server leaves every record written before it died
        self.file.write(codec.pack(record))
        self.file.flush()

    def elapsed(self) -> float:
        return round(time.perf_counter() - self.start, 6)

    def send_step(self, cmd: StepCommand) -> object:
        step = self.sent
        self.sent += 1
        fields = codec.pack_arrays(cmd, STEP_ARRAYS)
        # written before the send: a send that raises (a step the worker refused at once) is still in the
        # trace, followed by its error
        self.write({"record": "step", "step": step, "t": self.elapsed(), "fields": fields})
        try:
            sent = self.worker.send_step(cmd)
        except Exception as error:
            self.write_error(step, error)
            raise
        self.unread.append(step)
        return sent

    def recv_step(self) -> StepResult:
        step = self.unread.pop(0)
        try:
            result = self.worker.recv_step()
        except Exception as error:
            self.write_error(step, error)
            raise
        record = {
            "record": "result",
            "step": step,
            "t": self.elapsed(),
            "seq_ids": codec.pack_array(result.seq_ids, RESULT_ARRAYS["seq_ids"]),
            "tokens": codec.pack_array(result.tokens, RESULT_ARRAYS["tokens"]),
            "timings": {name: float(ms) for name, ms in result.timings.items()},
        }
        self.write(record)
        return result

    def write_error(self, step: int, error: Exception) -> None:
        self.write(
            {"record": "result", "step": step, "t": self.elapsed(), "error": error_text(error)}
        )

    def close(self) -> None:
        self.file.close()


def error_text(error: Exception) -> str:
    """The error as a worker's error reply reads: "Type: message"."""
    # a WorkerError's or a ProtocolError's type is the protocol's error type (InvalidRequest, ...); a
    # WorkerError's text begins with it already, so its message is taken alone
    error_type = getattr(error, "type", None)
    if not isinstance(error_type, str):
        return f"{type(error).__name__}: {error}"
    return f"{error_type}: {getattr(error, 'message', error)}"


def record(engine: Any, path: str | Path) -> StepRecorder:
    """Record `engine`'s steps from now on to `path` (replaced if it exists): its worker is wrapped in
    place. Call it before the first step: a replay rebuilds the cache from the steps it holds."""
    recorder = StepRecorder(engine.worker, open(path, "wb"), header_record(engine))
    engine.worker = recorder
    return recorder


def install(path: str | Path) -> None:
    """Every Engine built from now on records (the hook's TRACE_STEPS): the first to `path`, the next to
    `path`.1, and so on."""
    from swiftllm.controller import engine as engine_module

    engine_init = engine_module.Engine.__init__
    engines = iter(range(1 << 62))

    def recording_init(self: Any, *args: Any, **kw: Any) -> None:
        engine_init(self, *args, **kw)
        number = next(engines)
        target = Path(path) if number == 0 else Path(f"{path}.{number}")
        record(self, target)

    engine_module.Engine.__init__ = recording_init


# ---- reading a trace back ----


class Event(NamedTuple):
    """A send or a read of one step, in the order the engine made them."""

    kind: str  # "send" or "read"
    step: int


@dataclass
class RecordedResult:
    seq_ids: np.ndarray | None = None
    tokens: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None  # the worker failed the step: "Type: message"


@dataclass
class StepTrace:
    header: dict[str, Any]
    steps: list[StepCommand]  # by step number
    events: list[Event]  # sends and reads in recorded order
    results: dict[int, RecordedResult]  # step -> what the recording read back (absent: never read)
    truncated_at: int | None = None  # the byte where an incomplete last record began, if any
    # a step a worker refuses (codec.decode_step), which the recording's worker refused too (its result
    # is an error: a policy that broke schedule()'s contract): the steps end before it, the error is kept
    refused_step: int | None = None
    refused_error: str = ""
    refused_confirmed: bool = False  # its result, an error, was read

    @property
    def geometry(self) -> CacheGeometry:
        return trace_geometry(self.header)


def trace_geometry(header: dict[str, Any]) -> CacheGeometry:
    """What the recorded steps are checked against: the recorded cache and step limits."""
    cache = header["cache"]
    return CacheGeometry(
        vocab_size=header["model_config"]["vocab_size"],
        block_size=cache["block_size"],
        num_blocks=cache["num_blocks"],
        num_cpu_blocks=cache["num_cpu_blocks"],
        max_model_len=cache["max_model_len"],
        max_num_seqs=header["max_num_seqs"],
        max_num_batched_tokens=header["max_num_batched_tokens"],
    )


def no_ext(code: int, data: bytes) -> None:
    raise ValueError(f"msgpack extension type {code} is not allowed")


def records(file: BinaryIO) -> Iterator[tuple[int, Any]]:
    """Each whole record with the byte offset where it ends."""
    unpacker = msgpack.Unpacker(
        file,
        raw=False,
        strict_map_key=True,
        ext_hook=no_ext,
        max_buffer_size=MAX_RECORD_BYTES,
    )
    for item in unpacker:
        yield unpacker.tell(), item


def check_header(header: object, path: Path) -> dict[str, Any]:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise TraceError(f"{path} is not a step trace (its first record is no {FORMAT} header)")
    if header.get("version") != VERSION:
        raise TraceError(f"{path}: trace version {header.get('version')}, this reader {VERSION}")
    required = ("model_dir", "model_config", "cache", "max_num_seqs", "max_num_batched_tokens")
    missing = [key for key in required if key not in header]
    if missing:
        raise TraceError(f"{path}: the header lacks {', '.join(missing)}")
    return header


def read_result(item: dict[str, Any]) -> RecordedResult:
    if "error" in item:
        return RecordedResult(error=str(item["error"]))
    return RecordedResult(
        seq_ids=codec.unpack_array("seq_ids", item["seq_ids"], RESULT_ARRAYS["seq_ids"]),
        tokens=codec.unpack_array("tokens", item["tokens"], RESULT_ARRAYS["tokens"]),
        timings=dict(item.get("timings", {})),
    )


def read_trace(path: str | Path) -> StepTrace:
    """The whole trace, every step decoded and checked as a worker checks a step request
    (codec.decode_step) against the recorded geometry. An incomplete last record (a server killed while
    writing it) ends the trace there (`truncated_at`); anything else unreadable is a TraceError."""
    path = Path(path)
    try:
        file = open(path, "rb")
    except OSError as error:
        raise TraceError(f"cannot read {path}: {error.strerror}") from None
    with file:
        size = os.fstat(file.fileno()).st_size
        end = 0
        header: dict[str, Any] | None = None
        trace = StepTrace({}, [], [], {})
        try:
            for offset, item in records(file):
                end = offset  # where the last whole record ends: read after the loop
                if header is None:
                    header = check_header(item, path)
                    trace.header = header
                    geometry = trace.geometry
                    continue
                add_record(trace, item, geometry)
        except TraceError:
            raise
        except (ProtocolError, KeyError, TypeError, ValueError) as error:
            # msgpack's FormatError and ExtraData are ValueErrors; a record of the wrong shape, KeyError
            # or TypeError; a step that a worker would refuse, ProtocolError
            raise TraceError(f"{path}: a corrupt record after byte {end}: {error}") from None
    if header is None:
        raise TraceError(f"{path} holds no whole record: an empty or cut-off trace")
    if trace.refused_step is not None and not trace.refused_confirmed:
        raise TraceError(
            f"{path}: step {trace.refused_step} is one a worker refuses ({trace.refused_error}), "
            "and the trace holds no error for it: a corrupt record"
        )
    if end < size:
        trace.truncated_at = end
    return trace


def add_record(trace: StepTrace, item: object, geometry: CacheGeometry) -> None:
    if not isinstance(item, dict):
        raise TraceError(f"a record is a {type(item).__name__}, not a map")
    kind = item.get("record")
    step = item.get("step")
    if kind == "step":
        if (
            trace.refused_step is not None
        ):  # the engine that sent a refused step failed: none came after
            return
        if step != len(trace.steps):
            raise TraceError(f"step {step} comes where step {len(trace.steps)} belongs")
        try:
            cmd = codec.decode_step(item["fields"], geometry)
        except ProtocolError as error:
            # kept only if the recording's worker refused it too: its result, a later record, says so
            trace.refused_step, trace.refused_error = step, str(error)
            return
        trace.steps.append(cmd)
        trace.events.append(Event("send", step))
        return
    is_after_refused = trace.refused_step is not None and isinstance(step, int)
    if kind == "result" and is_after_refused and step >= trace.refused_step:
        if (
            step == trace.refused_step and "error" not in item
        ):  # the worker ran it: a corrupt record
            raise TraceError(
                f"a corrupt record: step {step} is one a worker refuses ({trace.refused_error}), yet "
                "its result holds no error"
            )
        trace.refused_confirmed = trace.refused_confirmed or step == trace.refused_step
        return
    if kind == "result":
        if not isinstance(step, int) or step >= len(trace.steps) or step in trace.results:
            raise TraceError(f"a result for step {step}, which was not sent or was read already")
        trace.results[step] = read_result(item)
        trace.events.append(Event("read", step))
        return
    raise TraceError(f"an unknown record {kind!r}")
