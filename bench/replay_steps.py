"""Replay the steps a real serving run sent to its worker, recorded by bench/trace_requests/step_recorder.py,
against a worker: no controller, scheduler or HTTP in the loop. For timing a worker change (a kernel, the
runner) on exactly the steps a serving run produced, and for checking that it samples the same tokens.

    # record: a server, or any script that builds an LLM (step_recorder.record(llm.engine, PATH) also does)
    TRACE_STEPS=steps.msgpack PYTHONPATH=bench/trace_requests:. swiftctl launch --model DIR ...
    TRACE_STEPS=steps.msgpack PYTHONPATH=bench/trace_requests:. python3 my_llm_script.py
    # replay on an in-process worker (the recorded model directory unless --model), or on a running worker
    PYTHONPATH=. python3 bench/replay_steps.py steps.msgpack [--model DIR] [--device cpu|cuda] \\
        [--dtype auto|float32|float16|bfloat16] [--load-format auto|dummy] [--check-tokens] [--out JSON]
    PYTHONPATH=. python3 bench/replay_steps.py steps.msgpack --worker tcp://127.0.0.1:5601 --token-file F

The worker is built as LLM builds one (a ModelRunner behind an InProcessWorker, sized for the recorded
max_num_seqs / max_num_batched_tokens), or attached over ZeroMQ (`swiftctl worker`: hello with the token,
then init_cache); it must serve a model of the recorded shapes (vocabulary, layers, heads). Its cache gets
the recorded geometry (init_cache: block_size, num_blocks, num_cpu_blocks, max_model_len), then the steps go
in the order the engine sent and read them: one step in flight ahead, as the engine keeps one (its -1 tokens
resolved by the worker from the step before), so the device sees the same back-to-back queue a serving run
gave it. That order is the default because it is what is being reproduced; `--serial` reads each step back
before sending the next (no overlap: a step's time is then all its own). The recorded controller's time
between steps is not replayed: steps go back to back as fast as the worker takes them.

Reported: the steps, the wall time, each step's time by kind (bench/schedule_sim.py's step_kind: prefill,
mixed, decode by rows) measured from when the worker could start it (its send, or the read of the step
before, whichever came later) to its result's read; the worker's own StepResult.timings summed; with
--check-tokens, the share of the recorded sampled tokens the replay sampled too (greedy steps on the same
model, dtype and device must match exactly; seeded sampling too where the kernels are deterministic; the
exit status is 3 when any differs; a step that failed when recorded and runs here ends the comparison, since
the recording's worker dropped its sampled tokens there). `--repeat R` replays R times, each from a fresh
init_cache, and reports the last pass (the first pays first-use costs: kernel compiles, allocator growth). A
trace cut off mid-record (a killed server) replays the whole records before the cut, and says so. The table
comes last; the JSON (--out, default results/replay_steps.json) adds the device, date and commit."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "trace_requests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from run_info import RESULTS, cpu_model, git_commit, utc_now  # noqa: E402
from schedule_sim import STEP_KINDS, StepKindTotal, step_kind  # noqa: E402
from step_recorder import Event, StepTrace, TraceError, error_text, read_trace  # noqa: E402

from swiftllm.controller.worker_group import SHAPE_KEYS  # noqa: E402
from swiftllm.model_config import ModelConfig, ModelError  # noqa: E402
from swiftllm.protocol.step import StepCommand, StepResult  # noqa: E402

EXIT_ERROR = 1
EXIT_TOKENS_DIFFER = 3


class ReplayError(RuntimeError):
    """Why the replay cannot go on, in one line for the user."""


class Worker(Protocol):
    def send_step(self, cmd: StepCommand) -> object: ...

    def recv_step(self) -> StepResult: ...


class Attached(NamedTuple):
    """A worker ready for the recorded steps, what it runs on, and how to give its cache the recorded
    geometry again (before each pass)."""

    worker: Worker
    device: str  # for the report: the GPU's or CPU's name, or the remote worker's device string
    init_cache: Callable[[], None]  # init_cache with the recorded geometry
    close: Callable[[], None]  # release it


@dataclass
class Replay:
    """One pass over the trace."""

    steps: int = 0
    wall_s: float = 0.0
    kinds: dict[str, StepKindTotal] = field(default_factory=dict)
    worker_ms: Counter[str] = field(default_factory=Counter)
    tokens_checked: int = 0
    tokens_equal: int = 0
    first_difference: int | None = None  # the first step whose tokens differ
    # a step the recording's worker failed and this one ran: no token is compared from its read on
    diverged_at: int | None = None
    expected_errors: int = 0  # steps the worker failed, as it failed them when recorded

    @property
    def step_ms(self) -> float:
        return sum(total.ms for total in self.kinds.values())


def check_model(header: dict[str, Any], served: dict[str, Any], where: str) -> None:
    """The recorded model's shapes must be the worker's: its steps' token ids and block tables mean
    nothing on another (a model of the same shapes and other weights replays, sampling other tokens)."""
    recorded = header["model_config"]
    differ = [key for key in SHAPE_KEYS if recorded.get(key) != served.get(key)]
    if differ:
        what = ", ".join(f"{key} {recorded.get(key)} against {served.get(key)}" for key in differ)
        raise ReplayError(f"the trace was recorded on another model than {where}'s: {what}")


def geometry_text(cache: dict[str, int]) -> str:
    return (
        f"{cache['num_blocks']} blocks of {cache['block_size']} tokens, "
        f"{cache['num_cpu_blocks']} CPU blocks, max_model_len {cache['max_model_len']}"
    )


def in_process(trace: StepTrace, args: argparse.Namespace) -> Attached:
    """A ModelRunner on a thread of its own, as LLM builds one."""
    import torch

    from swiftllm.worker.in_process import InProcessWorker
    from swiftllm.worker.model_runner import ModelRunner, WorkerConfig

    header = trace.header
    model_dir = args.model or header["model_dir"]
    if not Path(model_dir, "config.json").is_file():
        raise ReplayError(f"no model at {model_dir!r} (the recorded directory): pass --model DIR")
    try:
        check_model(header, asdict(ModelConfig.from_dir(model_dir)), model_dir)
        config = WorkerConfig(
            model=str(model_dir),
            device=args.device,
            dtype=args.dtype,
            load_format=args.load_format,
            threads=args.threads,
            max_num_seqs=header["max_num_seqs"],
            max_num_batched_tokens=header["max_num_batched_tokens"],
        )
        runner = ModelRunner(config)
    except (ModelError, KeyError, OSError) as error:
        raise ReplayError(f"cannot load {model_dir}: {error}") from None

    def init_cache() -> None:
        try:
            runner.init_cache(**header["cache"])
        # RuntimeError: torch's, out of memory among them
        except (ModelError, RuntimeError) as error:
            cache = geometry_text(header["cache"])
            why = f"the worker cannot allocate the recorded cache ({cache}): {error}"
            raise ReplayError(why) from None

    device = cpu_model()
    if runner.device.type == "cuda":
        device = torch.cuda.get_device_name(runner.device)
    return Attached(InProcessWorker(runner), device, init_cache, lambda: None)


def remote(trace: StepTrace, args: argparse.Namespace) -> Attached:
    """A worker process over ZeroMQ (`swiftctl worker --bind ADDR --token-file F`)."""
    from swiftllm.controller.worker_client import WorkerClient, WorkerError
    from swiftllm.protocol.auth import TokenError, session_token

    try:
        token = session_token(args.token_file)
        client = WorkerClient(args.worker, timeout_s=args.timeout)
    except (TokenError, ValueError) as error:
        raise ReplayError(str(error)) from None
    try:
        info = client.hello(token)
    except WorkerError as error:
        client.close()
        raise ReplayError(f"the worker at {args.worker} refused hello: {error}") from None
    try:
        check_model(trace.header, info["model_config"], args.worker)
    except ReplayError:
        client.close()
        raise

    def init_cache() -> None:
        try:
            client.init_cache(**trace.header["cache"])
        except WorkerError as error:
            cache = geometry_text(trace.header["cache"])
            why = f"the worker cannot allocate the recorded cache ({cache}): {error}"
            raise ReplayError(why) from None

    device = f"{info.get('device', '?')} at {args.worker}"
    return Attached(client, device, init_cache, client.close)


def schedule(trace: StepTrace, serial: bool) -> list[Event]:
    """The sends and reads to make: as recorded, then a read of each step the recording never read back
    (a trace cut off with steps in flight); or, serial, each step sent and read back before the next."""
    if serial:
        events = []
        for step in range(len(trace.steps)):
            events.append(Event("send", step))
            events.append(Event("read", step))
        return events
    events = list(trace.events)
    unread = [step for step in range(len(trace.steps)) if step not in trace.results]
    return events + [Event("read", step) for step in unread]


def refused(trace: StepTrace, step: int, error: Exception, replay: Replay) -> None:
    """A step the worker failed: expected if the recording's worker failed it too, else the end."""
    recorded = trace.results.get(step)
    if recorded is not None and recorded.error is not None:
        replay.expected_errors += 1
        return
    cmd = trace.steps[step]
    what = f"{step_kind(cmd)}, {cmd.num_seqs} rows, {cmd.num_tokens} tokens"
    raise ReplayError(f"the worker refused step {step} ({what}): {error_text(error)}")


def compare_tokens(replay: Replay, step: int, recorded: Any, result: StepResult) -> None:
    if recorded is None or replay.diverged_at is not None:  # never read back, or compared no more
        return
    if recorded.error is not None:
        # a failed step drops every token the worker sampled, so the recording's -1 tokens took other values
        # than this worker's from here on (the steps already sent behind it too): their tokens may differ
        replay.diverged_at = step
        return
    replay.tokens_checked += len(recorded.tokens)
    equal = 0
    if np.array_equal(recorded.seq_ids, result.seq_ids):
        equal = int((recorded.tokens == result.tokens).sum())
    replay.tokens_equal += equal
    if equal < len(recorded.tokens) and replay.first_difference is None:
        replay.first_difference = step


def replay_once(worker: Worker, trace: StepTrace, serial: bool, check_tokens: bool) -> Replay:
    replay = Replay(kinds={kind: StepKindTotal() for kind in STEP_KINDS})
    sent_at: dict[int, float] = {}
    failed: set[int] = set()  # steps whose send was refused: nothing to read back
    start = time.perf_counter()
    last_read = start
    for event in schedule(trace, serial):
        step = event.step
        if event.kind == "send":
            sent_at[step] = time.perf_counter()
            try:
                worker.send_step(trace.steps[step])
            except Exception as error:
                refused(trace, step, error, replay)
                failed.add(step)
            continue
        if step in failed:
            continue
        try:
            result = worker.recv_step()
        except Exception as error:
            refused(trace, step, error, replay)
            continue
        now = time.perf_counter()
        # the worker could start this step once it was sent and the one before it was done
        total = replay.kinds[step_kind(trace.steps[step])]
        total.steps += 1
        total.ms += (now - max(sent_at[step], last_read)) * 1e3
        last_read = now
        replay.steps += 1
        replay.worker_ms.update(result.timings)
        if check_tokens:
            compare_tokens(replay, step, trace.results.get(step), result)
    replay.wall_s = time.perf_counter() - start
    return replay


def table(replay: Replay) -> str:
    lines = [f"{'kind':<22}{'steps':>7}{'total ms':>12}{'mean ms':>10}{'share':>8}"]
    all_ms = replay.step_ms
    for kind, total in replay.kinds.items():
        if total.steps == 0:
            continue
        share = total.ms / all_ms if all_ms else 0.0
        mean = total.ms / total.steps
        lines.append(f"{kind:<22}{total.steps:>7}{total.ms:>12.2f}{mean:>10.3f}{share:>8.1%}")
    mean_all = all_ms / replay.steps if replay.steps else 0.0
    lines.append(f"{'all':<22}{replay.steps:>7}{all_ms:>12.2f}{mean_all:>10.3f}{1:>8.1%}")
    return "\n".join(lines)


def token_line(replay: Replay) -> str:
    if replay.tokens_checked == 0:
        return "tokens: none to check (no step of the trace was read back when recorded)"
    share = replay.tokens_equal / replay.tokens_checked
    text = f"tokens: {replay.tokens_equal} of {replay.tokens_checked} equal to the recorded ({share:.1%})"
    if replay.first_difference is not None:
        text += f"; the first difference at step {replay.first_difference}"
    if replay.diverged_at is not None:
        text += (
            f"; none compared from step {replay.diverged_at} on, which the recording's worker failed "
            "and this one ran"
        )
    return text


def report(
    trace: StepTrace, path: Path, attached: Attached, replay: Replay, args: argparse.Namespace
) -> dict:
    header = trace.header
    recorded_worker = header.get("worker", {})
    order = "serial (each step read back before the next)"
    if not args.serial:
        stages = header.get("pipeline_stages", 1)  # the engine keeps a step in flight per stage
        ahead = "one step" if stages == 1 else f"{stages} steps"
        order = f"as recorded ({ahead} in flight ahead)"
    print(
        f"{path}: {len(trace.steps)} steps recorded {header.get('recorded_at', '?')} on "
        f"{recorded_worker.get('device', '?')} ({recorded_worker.get('dtype', '?')}), model "
        f"{header['model_dir']}, cache {geometry_text(header['cache'])}"
    )
    if trace.truncated_at is not None:
        print(
            f"the trace is cut off at byte {trace.truncated_at}: replayed the whole records before it"
        )
    if trace.refused_step is not None:
        print(
            f"step {trace.refused_step} is one a worker refuses, as the recording's worker did "
            f"({trace.refused_error}): replayed the steps before it"
        )
    passes = ""
    if args.repeat > 1:
        passes = f", the last of {args.repeat} passes"
    print(f"replayed on {attached.device}, {order}{passes}: {replay.wall_s:.3f} s")
    if replay.expected_errors:
        print(f"{replay.expected_errors} steps failed as they failed when recorded")
    timings = ", ".join(f"{name} {ms:.1f}" for name, ms in sorted(replay.worker_ms.items()))
    print(f"the worker's timings summed (ms): {timings or 'none'}")
    if args.check_tokens:
        print(token_line(replay))
    print(table(replay))
    tokens = None
    if args.check_tokens:
        tokens = {
            "checked": replay.tokens_checked,
            "equal": replay.tokens_equal,
            "first_difference": replay.first_difference,
            "diverged_at": replay.diverged_at,
        }
    return {
        "device": attached.device,
        "date": utc_now(),
        "commit": git_commit(),
        "trace": str(path),
        "recorded": {
            key: header.get(key) for key in ("recorded_at", "model_dir", "cache", "worker")
        },
        "truncated_at": trace.truncated_at,
        "refused_step": trace.refused_step,  # None, or the step the recording's worker refused
        "refused_error": trace.refused_error,
        "order": "serial" if args.serial else "recorded",
        "repeat": args.repeat,
        "steps": replay.steps,
        "wall_s": replay.wall_s,
        "kinds": {kind: asdict(total) for kind, total in replay.kinds.items() if total.steps},
        "worker_ms": dict(replay.worker_ms),
        "expected_errors": replay.expected_errors,
        "tokens": tokens,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("trace", type=Path, help="a step trace (TRACE_STEPS=PATH, step_recorder.py)")
    ap.add_argument("--model", help="the model directory (default: the recorded one)")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--dtype", default="auto", choices=("auto", "float32", "float16", "bfloat16"))
    ap.add_argument("--load-format", default="auto", choices=("auto", "dummy"))
    ap.add_argument("--threads", type=int, help="torch threads of a CPU worker")
    ap.add_argument(
        "--worker", help="a running worker's address (tcp://HOST:PORT, ipc://PATH) instead"
    )
    ap.add_argument(
        "--token-file", help="a file holding the worker's token (default: $SWIFTLLM_WORKER_TOKEN)"
    )
    ap.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for a remote reply"
    )
    ap.add_argument("--serial", action="store_true", help="read each step back before the next")
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="passes, each from a fresh cache; the last is reported",
    )
    ap.add_argument("--check-tokens", action="store_true", help="compare the sampled tokens")
    ap.add_argument("--out", type=Path, default=RESULTS / "replay_steps.json")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        trace = read_trace(args.trace)
        attached = remote(trace, args) if args.worker else in_process(trace, args)
        try:
            for _ in range(args.repeat):
                attached.init_cache()
                replay = replay_once(attached.worker, trace, args.serial, args.check_tokens)
        finally:
            attached.close()
    except (TraceError, ReplayError) as error:
        print(f"replay_steps.py: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    data = report(trace, args.trace, attached, replay, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1))
    if args.check_tokens and replay.tokens_equal < replay.tokens_checked:
        return EXIT_TOKENS_DIFFER
    return 0


if __name__ == "__main__":
    sys.exit(main())
