"""bench/serving.py: its metrics against hand-computed values, its SSE parsing, its arrivals, and a short run
against our CPU server (the embedded SmolLM2) started the way --launch starts one."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from bench_scripts import cpu_server, load_script

serving = load_script("serving", "bench_serving")

SMOLLM2_VOCAB = 49152
LENGTHS = [[12, 4], [30, 6], [5, 3], [20, 1], [40, 5], [8, 6]]


def record(
    chunk_times: list[float], max_tokens: int, usage: int | None = None, prompt_len: int = 10
) -> serving.RequestRecord:
    return serving.RequestRecord(prompt_len, max_tokens, list(chunk_times), usage)


def stats(distribution: serving.Distribution) -> tuple[float, float, float, float]:
    return (distribution.mean, distribution.median, distribution.p90, distribution.p99)


def test_metrics_match_hand_computed_values() -> None:
    records = [
        record([0.1, 0.2, 0.4], max_tokens=3, usage=3, prompt_len=10),
        record([0.3, 0.35], max_tokens=4, prompt_len=20),  # no usage: 2 chunks = 2 tokens
        record([0.2], max_tokens=1, usage=1, prompt_len=30),  # one token: no TPOT, no ITL
        serving.RequestRecord(50, 5, [0.05], None, "HTTP 400: bad"),  # failed: left out
    ]
    result = serving.summarize(records, duration_s=2.0, rate=4.0, client_cpu_s=0.5)
    assert (result.completed, result.failed, result.incomplete) == (3, 1, 1)
    assert (result.input_tokens, result.output_tokens) == (60, 6)
    assert result.request_throughput == pytest.approx(1.5)
    assert result.output_throughput == pytest.approx(3.0)
    assert result.total_token_throughput == pytest.approx(33.0)
    assert result.client_cpu_fraction == pytest.approx(0.25)
    assert result.errors == ["HTTP 400: bad"]
    # TTFT 100, 300, 200 ms; percentiles interpolate linearly between order statistics (numpy's default)
    assert stats(result.ttft_ms) == pytest.approx((200.0, 200.0, 280.0, 298.0))
    # TPOT: (400 - 100) / 2 = 150, (350 - 300) / 1 = 50
    assert stats(result.tpot_ms) == pytest.approx((100.0, 100.0, 140.0, 149.0))
    # ITL: 100, 200, 50
    assert stats(result.itl_ms) == pytest.approx((350 / 3, 100.0, 180.0, 198.0))
    # E2E: the last chunk, 400, 350, 200
    assert stats(result.e2e_ms) == pytest.approx((950 / 3, 350.0, 390.0, 399.0))


def test_slowest_requests_to_first_token_name_what_was_sent_before_them() -> None:
    records = [
        record([0.010], max_tokens=1, prompt_len=100),  # sent at 0.00
        record([0.050], max_tokens=1, prompt_len=900),  # sent at 0.05: 100 tokens 50 ms before
        record([0.030], max_tokens=1, prompt_len=20),  # sent at 0.12: 900 tokens 70 ms before
        serving.RequestRecord(700, 5, [], None, "HTTP 500"),  # failed: never among the slowest
        record([0.020], max_tokens=1, prompt_len=40),  # sent at 1.00: nothing in the 100 ms before
    ]
    sent = [0.0, 0.05, 0.12, 0.13, 1.0]
    result = serving.summarize(records, duration_s=2.0, rate=4.0, sent_s=sent)
    assert [r.prompt_len for r in result.slowest_ttft] == [900, 20, 40]
    assert [r.ttft_ms for r in result.slowest_ttft] == pytest.approx([50.0, 30.0, 20.0])
    # the failed request (sent at 0.13) counts as queued ahead of nothing after it here
    assert [r.prompt_tokens_just_before for r in result.slowest_ttft] == [100, 900, 0]
    assert result.to_json()["slowest_ttft"][0]["sent_s"] == pytest.approx(0.05)
    assert serving.summarize(records, duration_s=2.0, rate=4.0).slowest_ttft == []


def test_no_completed_request_gives_null_metrics() -> None:
    failed = serving.RequestRecord(5, 5, [], None, "ClientConnectorError: refused")
    result = serving.summarize([failed], duration_s=1.0, rate=math.inf)
    assert (result.completed, result.failed) == (0, 1)
    as_json = result.to_json()
    assert as_json["rate"] == "inf"
    assert as_json["ttft_ms"] == {"mean": None, "median": None, "p90": None, "p99": None}
    json.dumps(as_json, allow_nan=False)  # strict JSON: no NaN


def test_sse_lines_parse_as_vllm_reads_them() -> None:
    rec = serving.RequestRecord(4, 3)
    lines_and_ends = [
        (b"", False),
        (b": keep-alive comment", False),
        (b'data: {"choices": [{"index": 0, "text": "Hi"}], "usage": null}', False),
        (b'data: {"choices": [{"index": 0, "text": ""}]}', False),  # empty text still counts
        (b'data: {"choices": [], "usage": {"completion_tokens": 3}}', False),
        (b"data: [DONE]", True),
    ]
    for at, (line, ends) in enumerate(lines_and_ends):
        assert serving.parse_chunk(rec, line, float(at)) is ends
    assert rec.chunk_times == [2.0, 3.0]
    assert (rec.usage_tokens, rec.output_tokens, rec.ok) == (3, 3, True)
    broken = serving.RequestRecord(4, 3)
    assert serving.parse_chunk(broken, b'data: {"error": {"message": "engine died"}}', 0.1)
    assert (broken.error, broken.ok) == ("engine died", False)


def test_server_counters_are_differences_of_two_scrapes() -> None:
    before = serving.parse_metrics(
        "# HELP swiftllm_step_seconds Engine step time\n"
        "swiftllm_step_seconds_count 10.0\n"
        "swiftllm_step_seconds_sum 0.5\n"
        "swiftllm_preemptions_total 2.0\n"
        'swiftllm_requests_total{finish_reason="length"} 3.0\n'
    )
    assert before['swiftllm_requests_total{finish_reason="length"}'] == 3.0
    after = {**before, "swiftllm_step_seconds_count": 30.0, "swiftllm_step_seconds_sum": 1.5}
    after["swiftllm_preemptions_total"] = 5.0
    counters = serving.server_counters(before, after)
    assert (counters.steps, counters.step_ms_mean, counters.preemptions) == (20, 50.0, 3)
    assert math.isnan(counters.controller_cpu_ms_per_step)  # not exported
    assert math.isnan(counters.gpu_idle_fraction)
    assert math.isnan(counters.prefix_cache_hit_tokens)
    cpu_and_gpu = {
        "process_cpu_seconds_total": 4.0,
        "swiftllm_worker_gpu_seconds_total": 2.0,
        "swiftllm_worker_gpu_idle_seconds_total": 0.1,
        "swiftllm_prefix_cache_hits_total": 64.0,
    }
    later = {
        **after,
        "process_cpu_seconds_total": 4.2,
        "swiftllm_worker_gpu_seconds_total": 2.95,
        "swiftllm_worker_gpu_idle_seconds_total": 0.15,
        "swiftllm_prefix_cache_hits_total": 96.0,
    }
    counters = serving.server_counters({**before, **cpu_and_gpu}, later)
    assert counters.controller_cpu_ms_per_step == pytest.approx(200 / 20)
    assert counters.gpu_idle_fraction == pytest.approx(0.05 / 1.0)
    assert counters.gpu_busy_s == pytest.approx(0.95)
    assert counters.prefix_cache_hit_tokens == 32
    assert serving.server_counters({}, after) is None  # another server: no counters


def test_arrivals_are_seeded_poisson_and_scale_with_rate() -> None:
    assert serving.arrival_offsets(4, math.inf, 1.0, seed=0) == [0.0] * 4
    at_2 = serving.arrival_offsets(20_000, 2.0, 1.0, seed=0)
    at_4 = serving.arrival_offsets(20_000, 4.0, 1.0, seed=0)
    assert at_2[0] == 0.0
    assert all(b >= a for a, b in zip(at_2, at_2[1:]))
    assert at_2 == pytest.approx([2 * t for t in at_4])  # the same pattern, twice as slow
    gaps = [b - a for a, b in zip(at_2, at_2[1:])]
    mean = sum(gaps) / len(gaps)
    std = math.sqrt(sum((g - mean) ** 2 for g in gaps) / len(gaps))
    assert mean == pytest.approx(0.5, rel=0.03)
    assert std / mean == pytest.approx(1.0, rel=0.03)  # exponential: as spread as its mean
    assert serving.arrival_offsets(50, 2.0, 1.0, seed=1) != at_2[:50]
    bursty = serving.arrival_offsets(20_000, 2.0, 0.25, seed=0)
    bursty_gaps = [b - a for a, b in zip(bursty, bursty[1:])]
    assert sum(bursty_gaps) / len(bursty_gaps) == pytest.approx(0.5, rel=0.05)


def test_each_rate_draws_its_own_prompts(tmp_path: Path) -> None:
    """Rates share lengths and arrivals, never prompts: a prefix cache must not serve one rate from another."""
    workload = tmp_path / "workload.json"
    workload.write_text(json.dumps(LENGTHS))
    config = serving.ServingConfig(base_url="", workload=workload, num_requests=6)
    draws = [serving.request_specs(config, draw) for draw in range(3)]
    assert draws[1] == serving.request_specs(config, 1)  # seeded
    for specs in draws:
        assert [(len(s.prompt_ids), s.output_len) for s in specs] == [tuple(p) for p in LENGTHS]
    prompts = [tuple(spec.prompt_ids) for specs in draws for spec in specs]
    assert len(set(prompts)) == len(prompts)


# (t, input_len, output_len): the arrival trace the replay tests send
TRACE = [(0.0, 12, 4), (0.6, 30, 3), (0.9, 5, 2), (1.6, 20, 1)]


def write_trace(path: Path, rows: list[tuple[float, int, int]]) -> Path:
    path.write_text(json.dumps([{"t": t, "input_len": n, "output_len": m} for t, n, m in rows]))
    return path


def test_a_trace_is_one_run_at_its_recorded_times_scaled(tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "trace.json", TRACE)
    config = serving.ServingConfig(base_url="", arrival_trace=trace, time_scale=0.5)
    (run,) = serving.arrival_runs(config)  # whatever request_rates says: one run
    assert run.name == "trace"
    assert run.offsets == pytest.approx([0.0, 0.3, 0.45, 0.8])
    assert [(len(s.prompt_ids), s.output_len) for s in run.specs] == [(n, m) for _, n, m in TRACE]
    assert run.rate == pytest.approx(3 / 0.8)  # three gaps over its span
    # the warm-up request's prompt (draw 0) is not the run's
    assert serving.request_specs(config, 0)[0].prompt_ids != run.specs[0].prompt_ids
    (first_two,) = serving.arrival_runs(dataclasses.replace(config, num_requests=2))
    assert first_two.offsets == pytest.approx([0.0, 0.3])
    at_once = write_trace(tmp_path / "at_once.json", [(2.0, 5, 1), (2.0, 6, 1)])
    (burst,) = serving.arrival_runs(dataclasses.replace(config, arrival_trace=at_once))
    assert (burst.offsets, burst.rate) == ([0.0, 0.0], math.inf)


def test_a_trace_runs_results_name_it() -> None:
    records = [record([0.1, 0.2], max_tokens=2)]
    result = serving.summarize(records, duration_s=1.0, rate=3.75, name="trace")
    as_json = result.to_json()
    assert (as_json["rate"], as_json["mean_rate"]) == ("trace", "3.75")
    assert "name" not in as_json
    assert serving.rate_order(as_json) == 3.75
    rate_json = serving.summarize(records, duration_s=1.0, rate=4.0, name="4").to_json()
    assert rate_json["rate"] == "4"
    assert "mean_rate" not in rate_json


def test_trace_flags_are_checked(tmp_path: Path) -> None:
    trace = str(write_trace(tmp_path / "trace.json", TRACE))
    wrong = [
        ["--arrival-trace", trace, "--request-rates", "2"],
        ["--arrival-trace", trace, "--workload", trace],
        ["--arrival-trace", trace, "--time-scale", "0"],
        ["--arrival-trace", trace, "--time-scale", "nan"],
        ["--arrival-trace", trace, "--num-requests", "0"],
        # a trace's requests arrive at their recorded times: no gamma gaps to shape (ignored before)
        ["--arrival-trace", trace, "--burstiness", "2"],
        ["--time-scale", "0.5"],  # without a trace
    ]
    for argv in wrong:
        with pytest.raises(SystemExit):
            serving.parse_args(argv)
    args = serving.parse_args(["--arrival-trace", trace, "--num-requests", "1000"])
    assert (args.num_requests, args.time_scale) == (1000, 1.0)  # no cap: the trace bounds it
    assert serving.parse_args(["--arrival-trace", trace]).num_requests is None  # all of it
    args = serving.parse_args([])
    assert (args.num_requests, args.request_rates) == (200, serving.ServingConfig.request_rates)


def test_a_trace_it_cannot_replay_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    trace = str(write_trace(tmp_path / "trace.json", TRACE))
    # refused before any request is sent: no server at this address is ever asked
    argv = ["--base-url", "http://127.0.0.1:9", "--arrival-trace", trace, "--num-requests", "5"]
    assert serving.main(argv) == 1
    assert "holds 4 requests" in capsys.readouterr().err


def test_flags_are_checked() -> None:
    with pytest.raises(SystemExit):
        serving.parse_args(["--num-requests", "401"])
    with pytest.raises(SystemExit):
        serving.parse_args(["--request-rates", "2,0"])
    args = serving.parse_args(["--request-rates", "2,inf", "--num-requests", "400"])
    assert args.request_rates == (2.0, math.inf)


def test_an_unreachable_server_is_a_clear_error(capsys: pytest.CaptureFixture) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = serving.main(["--base-url", f"http://127.0.0.1:{port}", "--num-requests", "2"])
    assert code == 1
    assert "cannot reach" in capsys.readouterr().err


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with cpu_server(tmp_path_factory.mktemp("server") / "server.log") as url:
        yield url


@pytest.mark.slow
def test_live_run_completes_every_request(server_url: str, tmp_path: Path) -> None:
    workload = tmp_path / "workload.json"
    workload.write_text(json.dumps(LENGTHS))
    out = tmp_path / "serving.json"
    argv = ["--base-url", server_url, "--workload", str(workload), "--num-requests", "6"]
    argv += ["--request-rates", "inf,4", "--vocab-size", str(SMOLLM2_VOCAB), "--label", "cpu"]
    assert serving.main([*argv, "--out", str(out)]) == 0
    assert out.with_suffix(".png").stat().st_size > 0
    data = json.loads(out.read_text())
    assert (data["label"], data["num_requests"], data["model"]) == (
        "cpu",
        6,
        "SmolLM2-135M-Instruct",
    )
    assert [row["rate"] for row in data["rates"]] == ["inf", "4"]
    # the host it ran on (run_info.host_info, taken before the first rate)
    assert data["host"]["cores"] == len(os.sched_getaffinity(0))
    assert data["host"]["python_probe_ms"] > 0
    for row in data["rates"]:
        assert (row["completed"], row["failed"], row["incomplete"]) == (6, 0, 0)
        assert row["output_tokens"] == sum(output for _, output in LENGTHS)
        assert row["input_tokens"] == sum(prompt for prompt, _ in LENGTHS)
        # each request's TTFT <= its E2E, so every order statistic and the mean are ordered too
        for stat in ("mean", "median", "p90", "p99"):
            assert 0 < row["ttft_ms"][stat] <= row["e2e_ms"][stat]
        assert row["e2e_ms"]["p99"] <= row["duration_s"] * 1e3
        assert row["tpot_ms"]["median"] > 0
        assert row["request_throughput"] == pytest.approx(6 / row["duration_s"])
        assert row["server"]["steps"] >= max(output for _, output in LENGTHS)
        assert row["server"]["step_ms_mean"] > 0
        # exported (not NaN); /proc counts CPU time in 10 ms ticks, and a short rate's controller
        # may use less than one tick, so 0 is a valid reading
        cpu_ms = row["server"]["controller_cpu_ms_per_step"]
        assert math.isfinite(cpu_ms)
        assert cpu_ms >= 0
        assert row["server"]["gpu_idle_fraction"] is None  # no CUDA events on a CPU worker
        # the GPU clocks of the rate's run (bench/gpu_clocks.py): none sampled where nvidia-smi is absent
        assert set(row["clocks"]) == {"sm_mhz_median", "sm_mhz_p10", "power_w_median", "samples"}
        # fresh prompts at every rate: the second rate finds nothing of the first's in the cache
        assert row["server"]["prefix_cache_hit_tokens"] == 0
    last_arrival = serving.arrival_offsets(6, 4.0, 1.0, seed=0)[-1]
    assert data["rates"][1]["duration_s"] >= last_arrival


def test_live_request_record(server_url: str) -> None:
    """One request's own record: chunk times in order, usage = max_tokens, TTFT <= E2E."""

    async def one() -> serving.RequestRecord:
        async with aiohttp.ClientSession() as session:
            spec = serving.RequestSpec(list(range(100, 120)), 5)
            url = f"{server_url}/v1/completions"
            return await serving.send_request(session, url, "SmolLM2-135M-Instruct", spec, 0.0)

    rec = asyncio.run(one())
    assert rec.ok, rec.error
    assert rec.usage_tokens == 5
    assert 1 <= len(rec.chunk_times) <= 5  # text held back for a split character shares a chunk
    assert rec.chunk_times == sorted(rec.chunk_times)
    assert 0 < rec.chunk_times[0] <= rec.chunk_times[-1]


@pytest.mark.slow
def test_live_replay_of_a_trace_sends_at_its_recorded_times(
    server_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    trace = write_trace(tmp_path / "trace.json", TRACE)
    runs: list[serving.RateResult] = []  # what the client saw of each request, with its send time
    run_rate = serving.run_rate

    async def keeping_run_rate(*args: object) -> serving.RateResult:
        result = await run_rate(*args)
        runs.append(result)
        return result

    monkeypatch.setattr(serving, "run_rate", keeping_run_rate)
    out = tmp_path / "replay.json"
    argv = ["--base-url", server_url, "--arrival-trace", str(trace), "--time-scale", "0.5"]
    argv += ["--vocab-size", str(SMOLLM2_VOCAB), "--out", str(out)]
    assert serving.main(argv) == 0
    (result,) = runs
    # sent in the trace's order at its times x 0.5 (the event loop's sleep never wakes early by more than
    # its clock's resolution; late by the client's own work); unscaled, the last would go 0.8 s later
    sent = [rec.sent_at - result.records[0].sent_at for rec in result.records]
    for at, (t, _, _) in zip(sent, TRACE, strict=True):
        assert t * 0.5 - 0.005 <= at <= t * 0.5 + 0.1
    assert [(rec.prompt_len, rec.max_tokens) for rec in result.records] == [
        (n, m) for _, n, m in TRACE
    ]
    data = json.loads(out.read_text())
    assert (data["workload"], data["num_requests"], data["arrival_trace"]) == (str(trace), 4, True)
    (row,) = data["rates"]
    assert (row["rate"], row["mean_rate"]) == ("trace", serving.rate_name(3 / 0.8))
    assert (row["completed"], row["failed"], row["incomplete"]) == (4, 0, 0)
    assert row["output_tokens"] == sum(m for _, _, m in TRACE)
    assert row["input_tokens"] == sum(n for _, n, _ in TRACE)
    assert row["duration_s"] >= TRACE[-1][0] * 0.5
    assert out.with_suffix(".png").stat().st_size > 0
    printed = capsys.readouterr().out
    assert "4 requests of trace.json at their recorded times x 0.5" in printed
    assert "vLLM" not in printed  # a trace is not the workload vLLM's figures were measured on
