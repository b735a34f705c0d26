"""bench/serving_sim.py: requests on a simulated clock through the real engine, timed as a client sees them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from bench_scripts import BENCH_DIR, load_script

serving_sim = load_script("serving_sim")
serving = serving_sim.serving
SCHEDULE_POLICIES = serving_sim.SCHEDULE_POLICIES

# every step takes 10 ms whatever it holds: no compute term (an unreachable matmul rate), no KV, no fixed cost
TEN_MS_A_STEP = serving_sim.StepCostModel(
    weight_read_ms=10.0, matmul_flops=1e30, overlap_loss=0.0, attention_factor=0.0, fixed_ms=0.0
)


def specs(*lengths: tuple[int, int]) -> list:
    """Requests of these (prompt, output) lengths whose prompts share no token (the prefix cache is on)."""
    return [
        serving_sim.serving.RequestSpec(list(range(1000 * i, 1000 * i + prompt_len)), output_len)
        for i, (prompt_len, output_len) in enumerate(lengths, start=1)
    ]


def test_a_lone_request_gets_a_token_a_step() -> None:
    records, duration = serving_sim.simulate_rate(
        specs((30, 4)), [0.0], budget=64, max_seqs=8, model=TEN_MS_A_STEP
    )
    # its prefill ends at 10 ms with the first token; each decode step adds one 10 ms later
    assert records[0].chunk_times == pytest.approx([0.010, 0.020, 0.030, 0.040])
    assert duration == pytest.approx(0.040)


def test_a_request_arriving_while_idle_starts_at_once_and_one_arriving_busy_waits_a_step() -> None:
    requests = specs((30, 6), (20, 2), (20, 2))
    # the second arrives while the first decodes (at 25 ms), the third long after both ended
    records, duration = serving_sim.simulate_rate(
        requests, [0.0, 0.025, 1.0], budget=64, max_seqs=8, model=TEN_MS_A_STEP
    )
    first, second, third = records
    assert first.chunk_times == pytest.approx([0.010, 0.020, 0.030, 0.040, 0.050, 0.060])
    # step 4 (30-40 ms) was scheduled at 20 ms, before it arrived; step 5 (40-50 ms), scheduled at 30 ms,
    # prefills it: its first token at 50 ms, 25 ms after it was sent; then a decode step
    assert second.chunk_times == pytest.approx([0.025, 0.035])
    # an idle engine: its prefill runs at once, from its own arrival
    assert third.chunk_times == pytest.approx([0.010, 0.020])
    assert duration == pytest.approx(1.020)


def test_without_a_step_in_flight_a_request_arriving_busy_waits_only_for_the_running_step() -> None:
    requests = specs((30, 6), (20, 2))
    # the second arrives at 25 ms, during step 3 (20-30 ms): with overlap, step 4 (30-40 ms) was already
    # scheduled at 20 ms, so its prefill is step 5 (first token at 50 ms, as above); without, step 4 is
    # scheduled when step 3 is read back at 30 ms and prefills it: its first token at 40 ms
    records, _ = serving_sim.simulate_rate(
        requests, [0.0, 0.025], budget=64, max_seqs=8, model=TEN_MS_A_STEP, overlap=False
    )
    first, second = records
    assert first.chunk_times == pytest.approx([0.010, 0.020, 0.030, 0.040, 0.050, 0.060])
    assert second.chunk_times == pytest.approx([0.015, 0.025])


def test_the_step_budget_spreads_a_burst_over_steps() -> None:
    # all at once, 40-token prompts, 64 tokens a step (chunked prefill): step 1 holds the first prompt and 24
    # tokens of the second, step 2 the second's last 16 and the third
    requests = specs((40, 1), (40, 1), (40, 1))
    records, _ = serving_sim.simulate_rate(
        requests, [0.0] * 3, budget=64, max_seqs=8, model=TEN_MS_A_STEP
    )
    assert [record.chunk_times[0] for record in records] == pytest.approx([0.010, 0.020, 0.020])
    # a 32-token budget: one prompt's chunks over two steps each, the first tokens 20 ms apart
    records, _ = serving_sim.simulate_rate(
        requests, [0.0] * 3, budget=32, max_seqs=8, model=TEN_MS_A_STEP
    )
    assert [record.chunk_times[0] for record in records] == pytest.approx([0.020, 0.030, 0.040])


def test_the_schedule_policy_reaches_the_engine() -> None:
    # the last of a burst has the most outputs: first come first served prefills it in step 2,
    # longest-first (a backlog: 120 prompt tokens against a 64-token step) in step 1
    requests = specs((40, 1), (40, 1), (40, 5))
    first_tokens = {}
    for policy in ("fcfs", "longest-first"):
        records, _ = serving_sim.simulate_rate(
            requests, [0.0] * 3, budget=64, max_seqs=8, model=TEN_MS_A_STEP, policy=policy
        )
        first_tokens[policy] = records[2].chunk_times[0]
    assert first_tokens == pytest.approx({"fcfs": 0.020, "longest-first": 0.010})


def write_trace(path: Path, rows: list[tuple[float, int, int]]) -> Path:
    path.write_text(json.dumps([{"t": t, "input_len": n, "output_len": m} for t, n, m in rows]))
    return path


def test_a_trace_replays_on_the_simulated_clock(tmp_path: Path) -> None:
    # the second arrives at 1.0 x 0.5 s, long after the first ended: an idle engine starts it at once
    trace = write_trace(tmp_path / "trace.json", [(0.0, 30, 4), (1.0, 20, 2)])
    config = serving.ServingConfig(base_url="", arrival_trace=trace, time_scale=0.5)
    (run,) = serving.arrival_runs(config)
    result = serving_sim.simulate_arrivals(run, budget=64, max_seqs=8, model=TEN_MS_A_STEP)
    first, second = result.records
    assert first.chunk_times == pytest.approx([0.010, 0.020, 0.030, 0.040])
    assert second.chunk_times == pytest.approx([0.010, 0.020])
    assert result.duration_s == pytest.approx(0.520)
    assert result.to_json()["rate"] == "trace"


@pytest.mark.parametrize("policy", SCHEDULE_POLICIES)
def test_every_request_of_a_trace_ends_with_its_recorded_output(
    tmp_path: Path, policy: str
) -> None:
    # a burst and stragglers: prompts longer than a step's budget, more sequences than it may run at once
    rng = np.random.default_rng(0)
    times = np.sort(rng.uniform(0.0, 0.2, 40)).tolist()
    rows = [(t, int(rng.integers(1, 200)), int(rng.integers(1, 30))) for t in times]
    trace = write_trace(tmp_path / "trace.json", rows)
    config = serving.ServingConfig(base_url="", arrival_trace=trace)
    (run,) = serving.arrival_runs(config)
    result = serving_sim.simulate_arrivals(
        run, budget=128, max_seqs=8, model=TEN_MS_A_STEP, policy=policy
    )
    assert [rec.output_tokens for rec in result.records] == [m for _, _, m in rows]
    assert (result.completed, result.incomplete) == (40, 0)
    # a request's first token comes after it was sent, from a step that began no earlier
    assert all(rec.chunk_times[0] >= 0.010 for rec in result.records)


def test_main_replays_a_trace_beside_its_measured_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    trace = write_trace(tmp_path / "trace.json", [(0.0, 100, 20), (0.05, 300, 10), (0.3, 30, 40)])
    measured = (
        tmp_path / "serving.json"
    )  # serving.py's JSON of the same replay, its figures made up
    row = {"rate": "trace", "output_throughput": 123.0, "tpot_ms": {"median": 4.5}}
    row["ttft_ms"] = {"p99": 30.0, "median": 20.0}
    measured.write_text(json.dumps({"rates": [row]}))
    argv = ["--arrival-trace", str(trace), "--time-scale", "2", "--compare", str(measured)]
    serving_sim.main(argv)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("3 requests of trace.json at their recorded times x 2, seed 0")
    assert lines[2].split()[:2] == ["trace", "simulated"]
    assert lines[3].split() == ["trace", "measured", "123", "4.50", "30.0", "20.0"]
    assert len(lines) == 4  # no vLLM row: a trace is not the workload its figures were measured on
    with pytest.raises(SystemExit):
        serving_sim.main(["--arrival-trace", str(trace), "--num-requests", "4"])
    assert "holds 3 requests" in capsys.readouterr().err


def test_a_trace_replays_under_a_scheduler_policy_from_outside_the_core(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(BENCH_DIR.parent / "examples"))
    # a burst whose shortest prompt comes last: fcfs prefills it with the second's last 16 tokens in step 3
    # (32-token steps: 32 of the first; its last 8 and 24 of the second; the rest); shortest prompt first
    # puts it first, in step 1
    trace = write_trace(tmp_path / "trace.json", [(0.0, 40, 1), (0.0, 40, 1), (0.0, 8, 1)])
    (run,) = serving.arrival_runs(serving.ServingConfig(base_url="", arrival_trace=trace))
    policy = "shortest_prompt_first:ShortestPromptFirst"
    first_tokens = {}
    for name in ("fcfs", policy):
        result = serving_sim.simulate_arrivals(
            run, budget=32, max_seqs=8, model=TEN_MS_A_STEP, policy=name
        )
        first_tokens[name] = result.records[2].chunk_times[0]
    assert first_tokens == pytest.approx({"fcfs": 0.030, policy: 0.010})
    serving_sim.main(["--arrival-trace", str(trace), "--schedule-policy", policy])
    assert capsys.readouterr().out.splitlines()[2].split()[:2] == ["trace", "simulated"]
    with pytest.raises(SystemExit):
        serving_sim.main(["--arrival-trace", str(trace), "--schedule-policy", "no_such:Policy"])
    assert "--schedule-policy: schedule_policy 'no_such:Policy'" in capsys.readouterr().err


def test_a_prompt_longer_than_the_context_is_a_failed_request_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A trace recorded on a longer context than the simulated model's 8,192 tokens: the engine refuses
    the longer prompts, as the server answers them with a 400, and the replay counts them failed and
    goes on (a ValueError traceback before), even when it refuses every request (an IndexError)."""
    trace = write_trace(tmp_path / "trace.json", [(0.0, 10_000, 4), (0.1, 30, 4)])
    (run,) = serving.arrival_runs(serving.ServingConfig(base_url="", arrival_trace=trace))
    result = serving_sim.simulate_arrivals(run, budget=64, max_seqs=8, model=TEN_MS_A_STEP)
    assert (result.completed, result.failed) == (1, 1)
    assert "the prompt has 10000 tokens" in result.errors[0]
    assert result.records[1].chunk_times == pytest.approx([0.010, 0.020, 0.030, 0.040])
    serving_sim.main(["--arrival-trace", str(trace), "--num-requests", "1"])
    out = capsys.readouterr().out.splitlines()
    assert out[2].startswith("1 requests refused by the engine, e.g.: the prompt has 10000 tokens")
    assert out[3].split() == ["trace", "simulated", "nan", "nan", "nan", "nan"]


@pytest.mark.parametrize("burstiness", ["0", "-1", "nan", "inf"])
def test_a_burstiness_that_shapes_no_gaps_is_a_usage_error(
    burstiness: str, capsys: pytest.CaptureFixture
) -> None:
    """serving.py's check of --burstiness, here too (a ZeroDivisionError or a numpy ValueError traceback
    before, and NaN gaps ran)."""
    with pytest.raises(SystemExit):
        serving_sim.main(
            ["--burstiness", burstiness, "--request-rates", "4", "--num-requests", "2"]
        )
    assert "--burstiness must be > 0 and finite" in capsys.readouterr().err


def test_burstiness_with_an_arrival_trace_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    trace = write_trace(tmp_path / "trace.json", [(0.0, 30, 4)])
    with pytest.raises(SystemExit):
        serving_sim.main(["--arrival-trace", str(trace), "--burstiness", "2"])
    assert "--burstiness: an --arrival-trace's requests arrive" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--max-batched-tokens", "--max-num-seqs"])
def test_a_limit_of_zero_is_a_usage_error(
    flag: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """0 lets no sequence run: the simulated clock stepped forever before."""
    trace = write_trace(tmp_path / "trace.json", [(0.0, 30, 4)])
    with pytest.raises(SystemExit):
        serving_sim.main(["--arrival-trace", str(trace), flag, "0"])
    assert f"argument {flag}: '0' is not an integer >= 1" in capsys.readouterr().err
