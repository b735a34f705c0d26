"""bench/replay_steps.py and bench/trace_requests/step_recorder.py: an in-process LLM's steps recorded on the
tiny model, then replayed on a fresh worker, which must sample the tokens the run sampled; on another model's
weights it must not; and each way a trace or a worker can be wrong ends in one clear line."""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import msgpack
import numpy as np
import pytest
from bench_scripts import load_script
from conftest import save_tiny_model, serve_cpu_worker

from swiftllm.llm import LLM, RequestOutput
from swiftllm.protocol import codec
from swiftllm.protocol.step import STEP_ARRAYS, StepResult
from swiftllm.sampling_params import SamplingParams

replay_steps = load_script("replay_steps")
import step_recorder  # noqa: E402 (bench/trace_requests, on the path once replay_steps is loaded)

# prompts of 40, 5, 70 and 12 tokens through a 32-token budget: prefill chunks, then steps that decode some
# rows while others still prefill, then decode alone; the max_tokens differ, so sequences finish while
# others run (their ids go out in a later step's `finished`). The last request samples, with a seed.
PROMPTS = [list(range(1, 41)), [5, 6, 7, 8, 9], list(range(10, 80)), [3] * 12]
PARAMS = [SamplingParams(max_tokens=n, ignore_eos=True, temperature=0.0) for n in (3, 12, 8)]
PARAMS.append(SamplingParams(max_tokens=6, ignore_eos=True, temperature=1.0, seed=7))
LLM_OPTIONS = dict(
    device="cpu",
    max_model_len=128,
    max_num_batched_tokens=32,
    kv_cache_memory_gb=0.01,
    swap_space_gb=0.001,
)


class Recording(NamedTuple):
    path: Path
    outputs: list[RequestOutput]
    cache: dict[str, int]  # what the engine's init_cache asked for


@pytest.fixture(scope="module")
def recording(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Recording:
    path = tmp_path_factory.mktemp("steps") / "steps.msgpack"
    llm = LLM(tiny_model_dir, **LLM_OPTIONS)
    recorder = step_recorder.record(llm.engine, path)
    outputs = llm.generate(PROMPTS, PARAMS)
    recorder.close()
    return Recording(path, outputs, llm.engine.scheduler.cfg.cache_fields)


def replay(trace: Path, out: Path, *flags: str) -> tuple[int, dict[str, Any]]:
    """replay_steps.main's exit status and the JSON it wrote (empty if none)."""
    out.unlink(missing_ok=True)
    status = replay_steps.main([str(trace), "--out", str(out), *flags])
    data = json.loads(out.read_text()) if out.exists() else {}
    return status, data


def rewrite(source: Path, target: Path, edit: Callable[[list[dict]], list[dict]]) -> Path:
    """`source`'s records, changed by `edit`, written to `target`."""
    with open(source, "rb") as file:
        items = list(msgpack.Unpacker(file, raw=False))
    target.write_bytes(b"".join(codec.pack(item) for item in edit(items)))
    return target


def whole_records(path: Path) -> list[tuple[int, Any]]:
    """Each whole record of the file and the byte where it ends, as the reader frames them."""
    with open(path, "rb") as file:
        return list(step_recorder.records(file))


def test_the_trace_holds_every_step_and_the_tokens_read_back(recording: Recording) -> None:
    trace = step_recorder.read_trace(recording.path)
    assert trace.header["cache"] == recording.cache
    assert trace.header["max_num_batched_tokens"] == 32
    assert trace.truncated_at is None
    # every step was read back, and one step stayed in flight ahead: some send came before the read of the
    # step before it
    assert sorted(trace.results) == list(range(len(trace.steps)))
    sends = [event.step for event in trace.events if event.kind == "send"]
    assert sends == list(range(len(trace.steps)))
    position = {event: index for index, event in enumerate(trace.events)}
    overlapped = []
    for step in range(1, len(trace.steps)):
        sent = position[step_recorder.Event("send", step)]
        if sent < position[step_recorder.Event("read", step - 1)]:
            overlapped.append(step)
    assert overlapped
    kinds = {replay_steps.step_kind(cmd) for cmd in trace.steps}
    assert {"prefill", "mixed"} <= kinds
    assert any(kind.startswith("decode") for kind in kinds)
    assert any(len(cmd.finished) for cmd in trace.steps)
    assert any((cmd.token_ids == -1).any() for cmd in trace.steps)
    # the tokens read back are the run's outputs, request by request (sequence ids in the order added)
    tokens: dict[int, list[int]] = defaultdict(list)
    for step in range(len(trace.steps)):
        result = trace.results[step]
        for seq_id, token in zip(result.seq_ids.tolist(), result.tokens.tolist(), strict=True):
            tokens[seq_id].append(token)
    assert [tokens[seq_id] for seq_id in sorted(tokens)] == [
        out.token_ids for out in recording.outputs
    ]


def test_a_replay_on_the_same_model_samples_every_recorded_token(
    recording: Recording, tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    trace = step_recorder.read_trace(recording.path)
    sampled = sum(len(out.token_ids) for out in recording.outputs)
    for order in ([], ["--serial"]):
        flags = ["--model", str(tiny_model_dir), "--device", "cpu", "--check-tokens", *order]
        status, data = replay(recording.path, tmp_path / "replay.json", *flags)
        assert status == 0, capsys.readouterr().err
        assert data["steps"] == len(trace.steps)
        expected = {
            "checked": sampled,
            "equal": sampled,
            "first_difference": None,
            "diverged_at": None,
        }
        assert data["tokens"] == expected
        assert data["order"] == ("serial" if order else "recorded")
        assert sum(kind["steps"] for kind in data["kinds"].values()) == len(trace.steps)
        assert data["worker_ms"]["forward_ms"] > 0
        assert data["commit"] and data["date"] and data["device"]
    text = capsys.readouterr().out
    # the table comes last, its total row at the end
    assert text.rstrip().splitlines()[-1].split()[:2] == ["all", str(len(trace.steps))]
    assert f"tokens: {sampled} of {sampled} equal" in text


def test_the_recorded_model_directory_is_the_default(recording: Recording, tmp_path: Path) -> None:
    status, data = replay(
        recording.path, tmp_path / "replay.json", "--check-tokens", "--repeat", "2"
    )
    assert status == 0
    assert data["repeat"] == 2
    assert data["tokens"]["equal"] == data["tokens"]["checked"] > 0


def test_another_models_weights_sample_other_tokens(
    recording: Recording, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    other = tmp_path / "other-seed"
    save_tiny_model(other, seed=1)  # the same shapes: the trace replays, its tokens differ
    status, data = replay(
        recording.path, tmp_path / "replay.json", "--model", str(other), "--check-tokens"
    )
    assert status == replay_steps.EXIT_TOKENS_DIFFER
    assert data["tokens"]["equal"] < data["tokens"]["checked"]
    assert data["tokens"]["first_difference"] is not None
    assert "the first difference at step" in capsys.readouterr().out


def test_a_cut_off_trace_replays_its_whole_records(
    recording: Recording, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data = recording.path.read_bytes()
    ends = [end for end, _ in whole_records(recording.path)]
    middle = ends[len(ends) // 2]
    cut = tmp_path / "cut.msgpack"
    cut.write_bytes(data[: middle + 5])  # 5 bytes into the record after `middle`
    trace = step_recorder.read_trace(cut)
    assert trace.truncated_at == middle
    whole = [item for _, item in whole_records(cut)][1:]
    assert len(trace.steps) == sum(item["record"] == "step" for item in whole)
    assert 0 < len(trace.steps) < len(step_recorder.read_trace(recording.path).steps)
    status, result = replay(cut, tmp_path / "replay.json", "--check-tokens")
    assert status == 0
    # the steps sent without a recorded result are replayed all the same
    assert result["steps"] == len(trace.steps)
    assert result["truncated_at"] == middle
    assert 0 < result["tokens"]["equal"] == result["tokens"]["checked"]
    assert f"cut off at byte {middle}" in capsys.readouterr().out
    # a trace cut inside its header holds nothing to replay
    header_cut = tmp_path / "header-cut.msgpack"
    header_cut.write_bytes(data[: ends[0] - 1])
    with pytest.raises(step_recorder.TraceError, match="no whole record"):
        step_recorder.read_trace(header_cut)


def error_of(trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture, *flags: str) -> str:
    """The one line replay_steps prints when it refuses, having written no JSON."""
    capsys.readouterr()
    status, data = replay(trace, tmp_path / "replay.json", *flags)
    assert status == replay_steps.EXIT_ERROR
    assert data == {}
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("replay_steps.py: error: ")
    return err


def test_unreadable_traces_are_one_line_errors(
    recording: Recording, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert "cannot read" in error_of(tmp_path / "absent.msgpack", tmp_path, capsys)
    garbage = tmp_path / "garbage.msgpack"
    garbage.write_bytes(b"\xc1 not msgpack at all")
    assert "corrupt record" in error_of(garbage, tmp_path, capsys)
    not_a_trace = tmp_path / "not-a-trace.msgpack"
    not_a_trace.write_bytes(codec.pack({"op": "hello", "id": 0}))
    assert "is not a step trace" in error_of(not_a_trace, tmp_path, capsys)

    def bad_step(items: list[dict]) -> list[dict]:
        step = next(item for item in items if item.get("record") == "step")
        step["fields"]["query_lens"] = b"\x01\x00\x00"  # 3 bytes: no whole int32
        return items

    broken = rewrite(recording.path, tmp_path / "broken.msgpack", bad_step)
    assert "not a multiple of 4" in error_of(broken, tmp_path, capsys)


def test_a_trace_of_another_model_is_refused(
    recording: Recording, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    wide = tmp_path / "wide-vocab"
    save_tiny_model(wide, vocab_size=256)
    error = error_of(recording.path, tmp_path, capsys, "--model", str(wide))
    assert "recorded on another model" in error and "vocab_size 128 against 256" in error
    missing = error_of(recording.path, tmp_path, capsys, "--model", str(tmp_path / "nowhere"))
    assert "pass --model DIR" in missing


def test_a_cache_the_worker_cannot_allocate_is_refused(
    recording: Recording, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    def huge_swap(items: list[dict]) -> list[dict]:
        items[0]["cache"]["num_cpu_blocks"] = 2**40  # far beyond any machine's RAM
        return items

    huge = rewrite(recording.path, tmp_path / "huge.msgpack", huge_swap)
    error = error_of(huge, tmp_path, capsys)
    assert "cannot allocate the recorded cache" in error and f"{2**40} CPU blocks" in error


def test_a_step_the_worker_refuses_ends_the_replay_with_its_error(
    recording: Recording, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A trace whose first steps were cut away: its decodes name token -1 for sequences that the worker
    never sampled, which the worker refuses."""
    trace = step_recorder.read_trace(recording.path)
    first_decode = next(step for step, cmd in enumerate(trace.steps) if (cmd.token_ids == -1).any())

    def drop_steps(items: list[dict]) -> list[dict]:
        kept = [items[0]]
        for item in items[1:]:
            if item["step"] >= first_decode:
                kept.append({**item, "step": item["step"] - first_decode})
        return kept

    headless = rewrite(recording.path, tmp_path / "headless.msgpack", drop_steps)
    error = error_of(headless, tmp_path, capsys)
    assert "the worker refused step 0" in error
    assert "ValueError: token -1 for sequence" in error


@pytest.fixture()
def worker_process(tiny_model_dir: Path) -> Iterator[str]:
    """`swiftctl worker` on the tiny model (an ipc address, no token); yields its address."""
    yield from serve_cpu_worker(tiny_model_dir)


@pytest.mark.slow
def test_a_replay_against_a_worker_process(
    recording: Recording, worker_process: str, tmp_path: Path
) -> None:
    status, data = replay(
        recording.path, tmp_path / "replay.json", "--worker", worker_process, "--check-tokens"
    )
    assert status == 0
    assert data["device"] == f"cpu at {worker_process}"
    trace = step_recorder.read_trace(recording.path)
    assert data["steps"] == len(trace.steps)
    sampled = sum(len(out.token_ids) for out in recording.outputs)
    assert data["tokens"]["equal"] == data["tokens"]["checked"] == sampled
    # the worker's own timings came over the wire
    assert data["worker_ms"]["forward_ms"] > 0
    assert np.isfinite(data["wall_s"])


def test_a_step_that_failed_when_recorded_is_in_the_trace_with_its_error(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """The recording's worker failed a step: the trace says so, a replay whose worker fails it too goes on
    (and counts it), and one whose worker runs it compares no token from there on."""
    llm = LLM(tiny_model_dir, **LLM_OPTIONS)
    path = tmp_path / "failed.msgpack"
    recorder = step_recorder.record(llm.engine, path)
    launch = llm.runner.launch
    launches = iter(range(100))

    def failing_launch(cmd: Any) -> Any:
        if next(launches) == 2:
            raise RuntimeError("the device fell over")
        return launch(cmd)

    llm.runner.launch = failing_launch
    with pytest.raises(RuntimeError, match="fell over"):
        llm.generate(PROMPTS, PARAMS)
    recorder.close()
    trace = step_recorder.read_trace(path)
    failed = [step for step, result in trace.results.items() if result.error is not None]
    assert failed and failed[0] == 2
    assert trace.results[2].error == "RuntimeError: the device fell over"

    class FailsWhereRecorded:
        """Answers each step with its recorded tokens, and fails the steps that failed when recorded."""

        def __init__(self) -> None:
            self.unread: deque[int] = deque()  # steps sent and not read back, oldest first
            self.sent = 0

        def send_step(self, cmd: Any) -> None:
            self.unread.append(self.sent)
            self.sent += 1

        def recv_step(self) -> StepResult:
            recorded = trace.results.get(self.unread.popleft())
            if recorded is None or recorded.error is not None:
                raise RuntimeError("failed again")
            return StepResult(seq_ids=recorded.seq_ids, tokens=recorded.tokens)

    replayed = replay_steps.replay_once(FailsWhereRecorded(), trace, False, True)
    assert replayed.expected_errors == len(failed)
    assert replayed.tokens_equal == replayed.tokens_checked > 0
    assert replayed.diverged_at is None
    # a worker that runs the failed step: its state is another from there (the recording's worker dropped its
    # sampled tokens), so the tokens are compared up to that step alone
    status, data = replay(path, tmp_path / "replay.json", "--check-tokens")
    assert status == 0
    assert data["expected_errors"] == 0
    assert data["steps"] == len(trace.steps)
    assert data["tokens"]["diverged_at"] == failed[0]
    before = [trace.results[step] for step in range(failed[0])]
    assert data["tokens"]["checked"] == sum(len(result.tokens) for result in before)
    assert data["tokens"]["equal"] == data["tokens"]["checked"]


def test_the_report_says_how_many_steps_the_recording_kept_in_flight(
    recording: Recording, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A trace recorded with pipeline stages kept a step in flight per stage, and the replay follows its
    order: the report said "one step in flight ahead" for every trace."""
    assert replay(recording.path, tmp_path / "one.json")[0] == 0
    assert "as recorded (one step in flight ahead)" in capsys.readouterr().out

    def three_stages(items: list[dict]) -> list[dict]:
        items[0]["pipeline_stages"] = 3  # the header
        return items

    staged = rewrite(recording.path, tmp_path / "staged.msgpack", three_stages)
    assert replay(staged, tmp_path / "three.json")[0] == 0
    assert "as recorded (3 steps in flight ahead)" in capsys.readouterr().out


def test_a_step_the_recordings_worker_refused_ends_the_steps_replayed(
    recording: Recording, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A policy that broke schedule()'s contract: its server sent a step the worker refused (a duplicate
    row, a query length of 0) and the trace holds that step with its error. The replay runs the steps
    before it and says so; before, the whole trace was refused as "a corrupt record"."""
    trace = step_recorder.read_trace(recording.path)
    bad = 3
    query_lens = trace.steps[bad].query_lens.copy()
    query_lens[0] = 0
    fields = codec.pack_arrays(replace(trace.steps[bad], query_lens=query_lens), STEP_ARRAYS)
    error = "InvalidRequest: need 1 <= query_len <= context_len"

    def refuse_step(with_error: bool) -> Callable[[list[dict]], list[dict]]:
        def edit(items: list[dict]) -> list[dict]:
            for item in items:
                if item.get("step") == bad and item["record"] == "step":
                    item["fields"] = fields
                elif item.get("step") == bad and with_error:  # its result
                    item.clear()
                    item.update(record="result", step=bad, t=0.0, error=error)
            return items

        return edit

    refused = rewrite(recording.path, tmp_path / "refused.msgpack", refuse_step(True))
    read = step_recorder.read_trace(refused)
    assert (read.refused_step, len(read.steps)) == (bad, bad)
    assert "need 1 <= query_len" in read.refused_error
    assert sorted(read.results) == list(
        range(bad)
    )  # the results read after the refused step's send
    status, data = replay(refused, tmp_path / "replay.json", "--check-tokens")
    assert status == 0
    assert (data["steps"], data["refused_step"]) == (bad, bad)
    checked = sum(len(trace.results[step].tokens) for step in range(bad))
    assert data["tokens"]["equal"] == data["tokens"]["checked"] == checked
    assert f"step {bad} is one a worker refuses, as the recording's worker did" in (
        capsys.readouterr().out
    )
    # a step a worker refuses whose recorded result is no error: the recording's worker did not refuse it
    ran = rewrite(recording.path, tmp_path / "ran.msgpack", refuse_step(False))
    message = error_of(ran, tmp_path, capsys)
    assert "a corrupt record" in message and "yet its result holds no error" in message
