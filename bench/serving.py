"""The online scenario: one streaming HTTP client for any OpenAI-compatible server (SwiftLLM's, vLLM's), so that
both are measured by the same code. Requests arrive as a Poisson process at each request rate in turn.

    PYTHONPATH=. python3 bench/serving.py --base-url http://127.0.0.1:8000 [--model NAME]
        [--workload bench/sharegpt_like_1000.json] [--num-requests 200] [--request-rates 2,4,8,16,inf]
        [--seed 0] [--vocab-size 128000] [--label H200] [--launch "python -m swiftllm.launch.cli launch ..."]
    PYTHONPATH=. python3 bench/serving.py --base-url ... --arrival-trace trace.json [--time-scale 0.5]
        [--num-requests N] [--seed 0] [--vocab-size 128000] [--label H200] [--launch ...]

Workload: the first N [input_len, output_len] pairs of the file; each prompt is input_len random token ids
(seeded; sent as `prompt: [ids]` to /v1/completions), max_tokens = output_len, ignore_eos, temperature 0,
streamed with `stream_options: {include_usage: true}`. Arrivals: gamma-distributed gaps with shape
`--burstiness` (1: exponential, a Poisson process) and mean 1 / rate; `inf` sends all at once. The same seed
gives, scaled by 1 / rate, the same arrival pattern at every rate. Each rate draws its own prompts (from the
seed and the rate's place in the sweep): a server with prefix caching must not find one rate's prompts cached
by the rate before (until 2026-12-01 every rate re-sent the same prompts, and our server's later rates read
them from its cache); our server's prompt tokens found in its cache are reported per rate. The prompts are a
function of --seed alone, so a second run with the same seed against the same live server finds them cached
(its TTFT flattered): give each run a fresh server (--launch) or another --seed. One untimed request
first, its prompt drawn apart (connections, first-use costs); at most 400 requests per rate, so a sweep fits a
10-minute call.

--arrival-trace FILE replays a recorded trace instead (bench/trace_requests/arrival_trace.py writes one from
a live server's log; the format is in bench/workload.py): one run, named `trace` in the results, whose
requests are the trace's (its first --num-requests, all by default, with no cap: it runs as long as the trace
did, times the scale), each sent at its recorded time from the first times --time-scale (0.5: twice as fast),
with prompts of random ids of its input_len (seeded, as above) and max_tokens = its output_len, ignore_eos:
each request generates as many tokens as it did when recorded. The rate it reports is the trace's mean
(requests - 1 over its span).

Metrics, as vLLM's serving benchmark defines them (times from the moment a request is sent):
- TTFT: until the first chunk that carries a choice (its text may be empty);
- end-to-end latency (E2E): until the last such chunk;
- TPOT: (E2E - TTFT) / (output tokens - 1), per request with more than one output token;
- ITL: every gap between consecutive chunks, all requests pooled;
- output tokens: the server's usage.completion_tokens, else the number of chunks;
- request and token throughput: completed requests and tokens / the rate's duration (first send to last end).
Each is reported as mean / median / p90 / p99 (numpy's linear percentiles) over the completed requests.
The client's own CPU time is reported too: near 100% of the duration means the client, not the server, set
the pace.

--launch CMD starts a server (its output to <out>_server.log), waits for GET /health = 200 at --base-url,
runs, then stops it (SIGTERM to its process group). Writes one JSON (label, date, commit, every rate) and a PNG
of latency against rate under bench/results/ (or $BENCH_OUT, or --out); prints a table last.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import json
import math
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Coroutine, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import aiohttp
import numpy as np
from gpu_clocks import ClockMonitor, mhz
from run_info import RESULTS, git_commit, host_info, host_line, none_if_nan, utc_now
from workload import (
    DEFAULT_WORKLOAD,
    RequestLengths,
    TracedRequest,
    WorkloadError,
    load_arrival_trace,
    load_workload,
    random_prompts,
)

MAX_REQUESTS_PER_RATE = 400
DEFAULT_NUM_REQUESTS = 200  # of the workload file, as DESIGN.md's online scenario sends them
PERCENTILES = (50, 90, 99)
REQUEST_TIMEOUT_S = 3600.0
SLOWEST_REPORTED = 3  # a rate's slowest requests to their first token, kept with the results
QUEUE_WINDOW_S = 0.1  # "sent just before" a slow request
# an arrival trace's run in the results, where a sweep's runs are named by their rates
TRACE_RUN = "trace"


class PeerFigures(NamedTuple):
    median_tpot_ms: float
    p99_ttft_ms: float
    median_ttft_ms: float
    output_tokens_per_s: float


# vLLM 0.24's `vllm serve` on the H200 (2026-12-01, bench/README.md): the first 200 requests of the 1000-request
# file, seed 0, greedy, token budget 16,384, by request rate
VLLM_H200 = {
    2.0: PeerFigures(5.01, 52.7, 20.8, 414.0),
    4.0: PeerFigures(5.12, 40.8, 19.8, 818.0),
    8.0: PeerFigures(5.32, 55.6, 20.4, 1522.0),
    16.0: PeerFigures(5.73, 45.2, 21.5, 2546.0),
    math.inf: PeerFigures(11.63, 1069.0, 1054.0, 4499.0),
}
T = TypeVar("T")


class BenchmarkError(RuntimeError):
    """The benchmark cannot run (no server, a refused warm-up request); a message for the user."""


@dataclass(frozen=True)
class ServingConfig:
    base_url: str
    model: str | None = None  # None: the first model the server lists
    workload: Path = DEFAULT_WORKLOAD
    # the workload's first N pairs, or the arrival trace's first N requests; None: the workload's first
    # DEFAULT_NUM_REQUESTS, or the whole trace
    num_requests: int | None = None
    request_rates: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0, math.inf)
    seed: int = 0
    vocab_size: int = (
        128000  # prompt ids are drawn from [0, vocab_size): Llama-3's non-special tokens
    )
    burstiness: float = 1.0
    temperature: float = 0.0
    label: str = ""
    # a recorded arrival trace to replay instead of the workload at Poisson rates (request_rates,
    # burstiness and workload unused), its times multiplied by time_scale
    arrival_trace: Path | None = None
    time_scale: float = 1.0


@dataclass(frozen=True)
class RequestSpec:
    prompt_ids: list[int]
    output_len: int


@dataclass(frozen=True)
class Arrivals:
    """One run of a benchmark: its requests and when each is sent, in seconds after the run's start."""

    name: str  # in the results: a Poisson rate's ("2", "inf"), or TRACE_RUN
    rate: float  # the Poisson rate, or an arrival trace's mean rate (inf: all at once)
    specs: list[RequestSpec]
    offsets: list[float]


@dataclass
class RequestRecord:
    """What the client saw of one request; times in seconds after it was sent."""

    prompt_len: int
    max_tokens: int
    chunk_times: list[float] = field(default_factory=list)  # each chunk that carried a choice
    usage_tokens: int | None = None  # usage.completion_tokens, if the server reported it
    error: str = ""
    # time.perf_counter() when it was sent: on one machine, the clock a server's own trace uses too
    # (bench/trace_requests), so the two line up
    sent_at: float = math.nan

    @property
    def ok(self) -> bool:
        return not self.error and bool(self.chunk_times)

    @property
    def output_tokens(self) -> int:
        if self.usage_tokens is not None:
            return self.usage_tokens
        return len(self.chunk_times)


@dataclass(frozen=True)
class SlowRequest:
    """One of a rate's slowest requests to its first token, and what was sent just before it: the queue it
    may have waited behind (p99 TTFT is set by these few requests)."""

    sent_s: float  # when it was sent, seconds after the rate's first request
    prompt_len: int
    ttft_ms: float
    # prompt tokens of the requests sent in the QUEUE_WINDOW_S before it
    prompt_tokens_just_before: int


@dataclass(frozen=True)
class Distribution:
    """Mean, median, p90 and p99 of a metric, in milliseconds (NaN when no request gave a value)."""

    mean: float
    median: float
    p90: float
    p99: float

    @staticmethod
    def of_seconds(values: list[float]) -> Distribution:
        if not values:
            return Distribution(math.nan, math.nan, math.nan, math.nan)
        ms = np.asarray(values, dtype=np.float64) * 1e3
        median, p90, p99 = np.percentile(ms, PERCENTILES)
        return Distribution(float(ms.mean()), float(median), float(p90), float(p99))


@dataclass(frozen=True)
class ServerCounters:
    """Our server's engine steps during one rate (the difference of two /metrics scrapes): the mean step
    (schedule + worker + update) beside TPOT shows what the HTTP path adds to each token.

    controller_cpu_ms_per_step: the server process's CPU time (process_cpu_seconds_total: the REST event
    loop, tokenizing, detokenizing, SSE and the engine loop; the workers are other processes) per step.
    gpu_idle_fraction: of the device time spanned by steps sent back to back (each launched while the one
    before was still in flight), the share the device sat idle between them (the worker's CUDA events:
    gpu_idle_ms / (gpu_ms + gpu_idle_ms)). NaN where the server does not export them.
    gpu_busy_s: the device's time on the steps, summed (gpu_ms): beside the rate's duration it shows how
    long the device waited for the host in all, between steps that were not sent back to back too."""

    steps: int
    step_ms_mean: float
    preemptions: int
    controller_cpu_ms_per_step: float = math.nan
    gpu_idle_fraction: float = math.nan
    gpu_busy_s: float = math.nan
    prefix_cache_hit_tokens: float = (
        math.nan
    )  # prompt tokens found in the prefix cache (0 expected)


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text format: sample name (labels included) -> value."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def server_counters(before: dict[str, float], after: dict[str, float]) -> ServerCounters | None:
    names = (
        "swiftllm_step_seconds_count",
        "swiftllm_step_seconds_sum",
        "swiftllm_preemptions_total",
    )
    if not all(name in before and name in after for name in names):
        return None  # not our server, or its metrics were renamed

    def delta(name: str) -> float:
        return after.get(name, math.nan) - before.get(name, math.nan)

    steps = int(delta(names[0]))
    step_ms_mean = math.nan
    cpu_ms_per_step = math.nan
    if steps:
        step_ms_mean = delta(names[1]) / steps * 1e3
        cpu_ms_per_step = delta("process_cpu_seconds_total") / steps * 1e3
    busy = delta("swiftllm_worker_gpu_seconds_total")
    idle = delta("swiftllm_worker_gpu_idle_seconds_total")
    idle_fraction = math.nan
    if busy + idle > 0:
        idle_fraction = idle / (busy + idle)
    return ServerCounters(
        steps=steps,
        step_ms_mean=step_ms_mean,
        preemptions=int(delta(names[2])),
        controller_cpu_ms_per_step=cpu_ms_per_step,
        gpu_idle_fraction=idle_fraction,
        gpu_busy_s=busy,
        prefix_cache_hit_tokens=delta("swiftllm_prefix_cache_hits_total"),
    )


@dataclass(frozen=True)
class RateResult:
    rate: float
    duration_s: float
    completed: int
    failed: int
    # completed with fewer or more output tokens than max_tokens (ignore_eos asks for exactly that many)
    incomplete: int
    input_tokens: int
    output_tokens: int
    request_throughput: float  # completed requests / s
    output_throughput: float  # output tokens / s
    total_token_throughput: float  # (prompt + output tokens) / s
    ttft_ms: Distribution
    tpot_ms: Distribution
    itl_ms: Distribution
    e2e_ms: Distribution
    client_cpu_fraction: float  # the client's CPU seconds / duration
    errors: list[str]  # the first few failures' messages
    server: ServerCounters | None = None  # from our server's /metrics; None for other servers
    # this machine's GPU while the rate ran (bench/gpu_clocks.py; None figures without nvidia-smi)
    clocks: dict | None = None
    # the slowest first, when sent times are known
    slowest_ttft: list[SlowRequest] = field(default_factory=list)
    # its name in the results: rate_name(rate) for a rate of a sweep (also where ""), TRACE_RUN for a trace's
    name: str = ""
    # what the client saw of each request (left out of the JSON)
    records: list[RequestRecord] = field(default_factory=list, repr=False)

    def to_json(self) -> dict:
        """A dict for json.dumps: the rate as a string ("inf"), a missing value (NaN) as null."""
        data = asdict(dataclasses.replace(self, records=[]))  # asdict would deep-copy every record
        del data["records"]
        del data["name"]
        data["rate"] = self.name or rate_name(self.rate)
        if self.name == TRACE_RUN:  # "rate" names the run; its mean rate goes beside
            data["mean_rate"] = rate_name(self.rate)
        for key in ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"):
            data[key] = {k: none_if_nan(v) for k, v in data[key].items()}
        if self.server is not None:
            data["server"] = {k: none_if_nan(v) for k, v in data["server"].items()}
        return data


def rate_name(rate: float) -> str:
    return "inf" if math.isinf(rate) else f"{rate:g}"


def slowest_to_first_token(records: list[RequestRecord], sent_s: list[float]) -> list[SlowRequest]:
    """The SLOWEST_REPORTED completed requests with the longest TTFT, slowest first."""
    slow = []
    for record, sent in zip(records, sent_s):
        if not record.ok:
            continue
        just_before = sum(
            other.prompt_len
            for other, other_sent in zip(records, sent_s)
            if sent - QUEUE_WINDOW_S <= other_sent < sent
        )
        ttft_ms = record.chunk_times[0] * 1e3
        slow.append(SlowRequest(sent, record.prompt_len, ttft_ms, just_before))
    slow.sort(key=lambda request: -request.ttft_ms)
    return slow[:SLOWEST_REPORTED]


def summarize(
    records: list[RequestRecord],
    duration_s: float,
    rate: float,
    client_cpu_s: float = 0.0,
    sent_s: list[float] | None = None,
    name: str = "",
) -> RateResult:
    """vLLM's serving metrics over the requests that completed (see the module docstring); sent_s, each
    request's send time, adds its slowest requests to the first token; name: RateResult.name."""
    done = [r for r in records if r.ok]
    slowest = []
    if sent_s is not None:
        slowest = slowest_to_first_token(records, sent_s)
    ttfts = [r.chunk_times[0] for r in done]
    e2es = [r.chunk_times[-1] for r in done]
    tpots = [
        (r.chunk_times[-1] - r.chunk_times[0]) / (r.output_tokens - 1)
        for r in done
        if r.output_tokens > 1
    ]
    itls = [later - earlier for r in done for earlier, later in itertools.pairwise(r.chunk_times)]
    input_tokens = sum(r.prompt_len for r in done)
    output_tokens = sum(r.output_tokens for r in done)
    return RateResult(
        rate=rate,
        duration_s=duration_s,
        completed=len(done),
        failed=len(records) - len(done),
        incomplete=sum(r.output_tokens != r.max_tokens for r in done),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        request_throughput=len(done) / duration_s,
        output_throughput=output_tokens / duration_s,
        total_token_throughput=(input_tokens + output_tokens) / duration_s,
        ttft_ms=Distribution.of_seconds(ttfts),
        tpot_ms=Distribution.of_seconds(tpots),
        itl_ms=Distribution.of_seconds(itls),
        e2e_ms=Distribution.of_seconds(e2es),
        client_cpu_fraction=client_cpu_s / duration_s,
        errors=[r.error for r in records if r.error][:5],
        slowest_ttft=slowest,
        name=name,
    )


def arrival_offsets(num_requests: int, rate: float, burstiness: float, seed: int) -> list[float]:
    """Send times in seconds from the start: 0 first, then gamma gaps (shape burstiness, mean 1 / rate)."""
    if math.isinf(rate):
        return [0.0] * num_requests
    rng = np.random.default_rng(seed)
    gaps = rng.gamma(shape=burstiness, scale=1.0 / (rate * burstiness), size=num_requests - 1)
    return [0.0, *np.cumsum(gaps).tolist()]


def mean_rate(offsets: list[float]) -> float:
    """Requests per second of sorted send times: their gaps' count over their span (inf: all at once)."""
    span = offsets[-1] - offsets[0]
    if span <= 0:
        return math.inf
    return (len(offsets) - 1) / span


def parse_chunk(record: RequestRecord, line: bytes, elapsed_s: float) -> bool:
    """Apply one SSE line to the record; True when the stream is over ([DONE] or an error)."""
    if not line.startswith(b"data:"):
        return False  # blank separators, comments, other SSE fields
    payload = line[len(b"data:") :].strip()
    if payload == b"[DONE]":
        return True
    chunk = json.loads(payload)
    if "error" in chunk:  # a server that fails mid-stream reports it in the stream
        error = chunk["error"]
        record.error = str(error.get("message", error) if isinstance(error, dict) else error)
        return True
    if chunk.get("choices"):
        record.chunk_times.append(elapsed_s)
    usage = chunk.get("usage")
    if usage:
        record.usage_tokens = usage.get("completion_tokens")
    return False


async def send_request(
    session: aiohttp.ClientSession, url: str, model: str, spec: RequestSpec, temperature: float
) -> RequestRecord:
    body = {
        "model": model,
        "prompt": spec.prompt_ids,
        "max_tokens": spec.output_len,
        "temperature": temperature,
        "ignore_eos": True,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    record = RequestRecord(len(spec.prompt_ids), spec.output_len)
    start = time.perf_counter()
    record.sent_at = start
    try:
        async with session.post(url, json=body) as response:
            if response.status != 200:
                text = await response.text()
                record.error = f"HTTP {response.status}: {text[:300]}"
                return record
            async for line in response.content:
                if parse_chunk(record, line.strip(), time.perf_counter() - start):
                    break
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as e:
        record.error = f"{type(e).__name__}: {e}"
    if not record.error and not record.chunk_times:
        record.error = "the stream ended without a chunk carrying a choice"
    return record


async def run_rate(
    session: aiohttp.ClientSession,
    url: str,
    model: str,
    arrivals: Arrivals,
    config: ServingConfig,
) -> RateResult:
    metrics_before = await scrape_metrics(session, config.base_url)
    cpu_start = time.process_time()
    start = time.perf_counter()

    async def send_at(spec: RequestSpec, offset: float) -> RequestRecord:
        delay = start + offset - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        return await send_request(session, url, model, spec, config.temperature)

    sends = (send_at(spec, offset) for spec, offset in zip(arrivals.specs, arrivals.offsets))
    records = await asyncio.gather(*sends)
    duration = time.perf_counter() - start
    client_cpu_s = time.process_time() - cpu_start
    result = summarize(
        list(records), duration, arrivals.rate, client_cpu_s, arrivals.offsets, arrivals.name
    )
    counters = server_counters(metrics_before, await scrape_metrics(session, config.base_url))
    return dataclasses.replace(result, server=counters, records=list(records))


async def scrape_metrics(session: aiohttp.ClientSession, base_url: str) -> dict[str, float]:
    """GET /metrics parsed; empty where the server has none (or another format)."""
    try:
        async with session.get(f"{base_url.rstrip('/')}/metrics") as response:
            if response.status != 200:
                return {}
            return parse_metrics(await response.text())
    except (aiohttp.ClientError, ValueError):
        return {}


async def first_model(session: aiohttp.ClientSession, base_url: str) -> str:
    async with session.get(f"{base_url}/v1/models") as response:
        if response.status != 200:
            raise BenchmarkError(f"GET {base_url}/v1/models answered {response.status}")
        listing = await response.json()
    try:
        return listing["data"][0]["id"]
    except (KeyError, IndexError, TypeError):
        raise BenchmarkError(
            f"GET {base_url}/v1/models listed no model: {listing!r:.200}"
        ) from None


async def run_all(config: ServingConfig) -> tuple[str, list[RateResult]]:
    base_url = config.base_url.rstrip("/")
    url = f"{base_url}/v1/completions"
    connector = aiohttp.TCPConnector(limit=0)  # no client-side cap on concurrent streams
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        try:
            model = config.model or await first_model(session, base_url)
        except aiohttp.ClientError as e:
            raise BenchmarkError(f"cannot reach {base_url}: {e}") from None
        first = request_specs(config, draw=0)[0]
        warmup_spec = RequestSpec(first.prompt_ids, min(first.output_len, 16))
        warmup = await send_request(session, url, model, warmup_spec, config.temperature)
        if not warmup.ok:
            raise BenchmarkError(f"the warm-up request to {url} failed: {warmup.error}")
        results = []
        for arrivals in arrival_runs(config):
            with ClockMonitor() as clocks:
                result = await run_rate(session, url, model, arrivals, config)
            result = dataclasses.replace(result, clocks=clocks.summary())
            print(
                f"rate {arrivals.name}: {result.completed}/{len(arrivals.specs)} completed in "
                f"{result.duration_s:.1f} s, {result.output_throughput:.0f} output tok/s, "
                f"this machine's GPU at a median {mhz(result.clocks)} MHz",
                flush=True,
            )
            results.append(result)
    return model, results


def request_lengths(config: ServingConfig) -> list[RequestLengths] | list[TracedRequest]:
    """The lengths of the requests each run sends: the workload file's first pairs, or the arrival
    trace's requests in order of arrival."""
    if config.arrival_trace is not None:
        return load_arrival_trace(config.arrival_trace, config.num_requests)
    return load_workload(config.workload, sweep_size(config))


def sweep_size(config: ServingConfig) -> int:
    """How many of the workload's pairs each rate of a sweep sends."""
    if config.num_requests is None:
        return DEFAULT_NUM_REQUESTS
    return config.num_requests


def request_specs(config: ServingConfig, draw: int) -> list[RequestSpec]:
    """The requests' lengths with prompts of random ids from (seed, draw): draw 0 for the warm-up request,
    k for the k-th rate of the sweep (1 for an arrival trace's run), so that no rate re-sends another's
    prompts."""
    lengths = request_lengths(config)
    prompts = random_prompts([r.input_len for r in lengths], config.vocab_size, (config.seed, draw))
    return [RequestSpec(prompt, r.output_len) for prompt, r in zip(prompts, lengths)]


def arrival_runs(config: ServingConfig) -> Iterator[Arrivals]:
    """Each run in turn: one per rate of the sweep, with Poisson (gamma) send times, or an arrival trace's
    one run, its requests sent at their recorded times multiplied by time_scale."""
    if config.arrival_trace is not None:
        trace = load_arrival_trace(config.arrival_trace, config.num_requests)
        offsets = [request.t * config.time_scale for request in trace]
        yield Arrivals(TRACE_RUN, mean_rate(offsets), request_specs(config, draw=1), offsets)
        return
    for draw, rate in enumerate(config.request_rates, start=1):
        specs = request_specs(config, draw)
        offsets = arrival_offsets(len(specs), rate, config.burstiness, config.seed)
        yield Arrivals(rate_name(rate), rate, specs, offsets)


def run_benchmark(config: ServingConfig) -> dict:
    """Every rate in turn (or the arrival trace's one run) against the server at config.base_url; the run
    as a JSON-ready dict."""
    is_sweep = config.arrival_trace is None
    if is_sweep and not 1 <= sweep_size(config) <= MAX_REQUESTS_PER_RATE:
        raise BenchmarkError(f"--num-requests must be in [1, {MAX_REQUESTS_PER_RATE}]")
    # a file it cannot replay fails here, before any request
    num_requests = len(request_lengths(config))
    workload = config.workload
    if not is_sweep:
        workload = config.arrival_trace
    host = host_info()
    model, results = event_loop_run(run_all(config))
    return {
        "label": config.label,
        "date": utc_now(),
        "commit": git_commit(),
        "host": host,
        "base_url": config.base_url,
        "model": model,
        "workload": str(workload),
        "num_requests": num_requests,
        "seed": config.seed,
        "vocab_size": config.vocab_size,
        "burstiness": config.burstiness,
        "temperature": config.temperature,
        "arrival_trace": not is_sweep,  # "workload" then names the trace
        "time_scale": config.time_scale,
        "rates": [result.to_json() for result in results],
    }


def event_loop_run(coroutine: Coroutine[Any, Any, T]) -> T:
    """uvloop where installed (as our server uses): the client's own per-chunk cost stays small."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def wait_healthy(base_url: str, server: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchmarkError(f"the launched server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url.rstrip('/')}/health", timeout=5) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass  # not listening yet, or not healthy yet
        time.sleep(0.5)
    raise BenchmarkError(
        f"the launched server was not healthy at {base_url} within {timeout_s:g} s"
    )


def stop_server(server: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (its workers too), SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@contextlib.contextmanager
def launched_server(
    command: str, base_url: str, log_path: Path, timeout_s: float
) -> Iterator[subprocess.Popen]:
    """Start `command` in a process group of its own, wait until it is healthy, stop it on exit."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            shlex.split(command), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_healthy(base_url, server, timeout_s)
            yield server
        except BenchmarkError as e:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise BenchmarkError(f"{e}; the end of {log_path}:\n{tail}") from None
        finally:
            stop_server(server)


def rate_order(row: dict) -> float:
    """A run's place on the plot's axis: its rate ("inf" last), a trace's run its mean rate."""
    return float(row.get("mean_rate", row["rate"]))


def requests_sent(data: dict) -> str:
    """What each run sent, for a title: "200 requests of sharegpt_like_1000.json"."""
    text = f"{data['num_requests']} requests of {Path(data['workload']).name}"
    if data.get("arrival_trace"):  # absent from results written before traces
        text += f" at their recorded times x {data['time_scale']:g}"
    return text


def write_plot(data: dict, path: Path) -> None:
    """Median and p99 of each latency metric against the request rate ("inf" last)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(data["rates"], key=rate_order)
    rates = [row["rate"] for row in rows]
    positions = list(range(len(rates)))
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    metrics = (
        ("ttft_ms", "TTFT ms"),
        ("tpot_ms", "TPOT ms"),
        ("itl_ms", "ITL ms"),
        ("e2e_ms", "E2E ms"),
    )
    for ax, (key, title) in zip(axes.flat, metrics):
        ax.plot(positions, [row[key]["median"] for row in rows], "o-", label="median")
        ax.plot(positions, [row[key]["p99"] for row in rows], "s--", label="p99")
        ax.set(title=title, xlabel="request rate (req/s)", xticks=positions, xticklabels=rates)
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.suptitle(
        f"{data['model']} {data['label']}  {requests_sent(data)}  commit {data['commit']}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def print_vllm_comparison(data: dict) -> None:
    """Ours / vLLM 0.24 on the H200 where this is the reference workload (bench/README.md) (below 1: ours is lower)."""
    print("\nvs vLLM 0.24 on the H200 (bench/README.md): ours / vLLM")
    print(f"{'rate':>5} {'med TPOT':>9} {'p99 TTFT':>9} {'med TTFT':>9} {'out tok/s':>10}")
    for row in data["rates"]:
        reference = VLLM_H200.get(float(row["rate"]))
        if reference is None or not row["completed"]:
            continue
        print(
            f"{row['rate']:>5} {row['tpot_ms']['median'] / reference.median_tpot_ms:9.2f} "
            f"{row['ttft_ms']['p99'] / reference.p99_ttft_ms:9.2f} "
            f"{row['ttft_ms']['median'] / reference.median_ttft_ms:9.2f} "
            f"{row['output_throughput'] / reference.output_tokens_per_s:10.2f}"
        )


def milliseconds(value: float | None) -> str:
    return f"{'-':>7}" if value is None else f"{value:7.1f}"


def print_table(data: dict) -> None:
    print(
        f"\n{data['label'] or 'serving'}  commit {data['commit']}  model {data['model']}  "
        f"{requests_sent(data)}, seed {data['seed']}, "
        f"temperature {data['temperature']:g}; latencies in ms: mean / median / p90 / p99"
    )
    print(host_line(data["host"]))
    spread = f"{'mean':>7} {'med':>7} {'p90':>7} {'p99':>7}"
    print(
        f"{'':>5} {'':>8} {'':>6} {'':>9} {'':>4} {'server':^34} | {'TTFT':^31} | {'TPOT':^31} | "
        f"{'ITL':^31} | {'E2E':^31}"
    )
    print(
        f"{'rate':>5} {'done':>8} {'req/s':>6} {'out tok/s':>9} {'cpu%':>4} {'steps':>6} "
        f"{'step':>6} {'ctl cpu':>7} {'idle%':>6} {'unbusy':>6} {'cached':>6} | {spread} | {spread} | "
        f"{spread} | {spread}"
    )
    for row in data["rates"]:
        cells = []
        for key in ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"):
            values = row[key]
            cells.append(
                " ".join(milliseconds(values[k]) for k in ("mean", "median", "p90", "p99"))
            )
        done = f"{row['completed']}/{row['completed'] + row['failed']}"
        server = row["server"] or {}
        steps = server.get("steps", "-")
        step_ms = milliseconds(server.get("step_ms_mean"))[1:]
        cpu_ms = milliseconds(server.get("controller_cpu_ms_per_step"))
        idle = server.get("gpu_idle_fraction")
        idle_percent = f"{'-':>6}"
        if idle is not None:
            idle_percent = f"{idle * 100:6.2f}"
        busy = server.get("gpu_busy_s")
        unbusy = f"{'-':>6}"
        if busy is not None:
            unbusy = f"{row['duration_s'] - busy:6.2f}"
        cached = server.get("prefix_cache_hit_tokens")
        cached_tokens = f"{'-':>6}"
        if cached is not None:
            cached_tokens = f"{cached:6.0f}"
        print(
            f"{row['rate']:>5} {done:>8} {row['request_throughput']:6.2f} "
            f"{row['output_throughput']:9.0f} {row['client_cpu_fraction'] * 100:4.0f} "
            f"{steps:>6} {step_ms} {cpu_ms} {idle_percent} {unbusy} {cached_tokens} | "
            + " | ".join(cells)
        )
    print(
        "cpu%: the client's CPU time / the rate's duration; server steps and mean step ms: our "
        "engine's (schedule + worker + update) from /metrics; ctl cpu: the server process's CPU ms "
        "per step; idle%: the device's idle share between back-to-back steps (worker CUDA events); "
        "unbusy: the rate's seconds less the device's busy seconds (all at once: the host's share); "
        "cached: prompt tokens our server found in its prefix cache (each rate draws fresh prompts: 0, "
        "unless this server already served a run with this --seed)"
    )
    for row in data["rates"]:
        if row["failed"] or row["incomplete"]:
            print(
                f"rate {row['rate']}: {row['failed']} failed, {row['incomplete']} with output tokens "
                f"!= max_tokens; first errors: {row['errors']}"
            )
    for row in data["rates"]:
        slowest = row.get("slowest_ttft") or []
        described = [
            f"{r['ttft_ms']:.1f} ms (prompt {r['prompt_len']}, sent at {r['sent_s']:.2f} s, "
            f"{r['prompt_tokens_just_before']} prompt tokens sent in the {QUEUE_WINDOW_S * 1e3:.0f} ms "
            "before)"
            for r in slowest
        ]
        if described:
            print(f"rate {row['rate']}: slowest TTFT " + "; ".join(described))


def parse_rates(text: str) -> tuple[float, ...]:
    rates = tuple(float(part) for part in text.split(","))
    if any(not rate > 0 for rate in rates):  # also NaN
        raise argparse.ArgumentTypeError(f"request rates must be > 0 (or inf): {text!r}")
    return rates


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--base-url", default="http://127.0.0.1:8000", help="the server, without /v1")
    ap.add_argument(
        "--model", default=None, help="model name to send (default: the server's first)"
    )
    requests = ap.add_mutually_exclusive_group()
    requests.add_argument("--workload", type=Path, default=DEFAULT_WORKLOAD)
    requests.add_argument(
        "--arrival-trace",
        type=Path,
        default=None,
        help="replay this trace's arrivals and lengths (see the docstring) instead of a sweep",
    )
    ap.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help="with --arrival-trace: multiply its times by this (0.5: twice as fast; default 1)",
    )
    ap.add_argument(
        "--num-requests",
        type=int,
        default=None,
        help="the workload's first N pairs (default 200), or the trace's first N (default all)",
    )
    ap.add_argument(
        "--request-rates",
        type=parse_rates,
        default=None,
        help=f"default {','.join(map(rate_name, ServingConfig.request_rates))}",
    )
    ap.add_argument("--seed", type=int, default=0, help="prompts and arrival times")
    ap.add_argument("--vocab-size", type=int, default=ServingConfig.vocab_size)
    ap.add_argument("--burstiness", type=float, default=None, help="gamma shape; 1: Poisson")
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument("--label", default="", help="the device or setup, recorded in the results")
    ap.add_argument("--launch", default=None, help="command that starts the server (stopped after)")
    ap.add_argument("--launch-timeout", type=float, default=900.0, help="seconds to become healthy")
    ap.add_argument("--out", type=Path, default=None, help="JSON path (the PNG goes beside it)")
    args = ap.parse_args(argv)
    if args.arrival_trace is None:
        check_sweep_args(ap, args)
    else:
        check_trace_args(ap, args)
    return args


def check_sweep_args(
    ap: argparse.ArgumentParser,
    args: argparse.Namespace,
    max_requests: int | None = MAX_REQUESTS_PER_RATE,
) -> None:
    """A sweep's flags, checked, their defaults filled in where absent; max_requests None: no cap but the
    workload file's length (serving_sim.py, which runs no device call)."""
    if args.time_scale is not None:
        ap.error("--time-scale scales an --arrival-trace's times")
    if args.num_requests is None:
        args.num_requests = DEFAULT_NUM_REQUESTS
    if args.num_requests < 1:
        ap.error("--num-requests must be >= 1")
    if max_requests is not None and args.num_requests > max_requests:
        ap.error(f"--num-requests must be in [1, {max_requests}]")
    if args.request_rates is None:
        args.request_rates = ServingConfig.request_rates
    if args.burstiness is None:
        args.burstiness = ServingConfig.burstiness
    if not 0 < args.burstiness < math.inf:  # also NaN
        ap.error("--burstiness must be > 0 and finite")


def check_trace_args(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """An arrival trace's flags, time_scale's default filled in where absent (the trace's own length
    bounds --num-requests: load_arrival_trace checks it)."""
    if args.request_rates is not None:
        ap.error("--request-rates: an --arrival-trace's requests arrive at their recorded times")
    if args.burstiness is not None:
        ap.error("--burstiness: an --arrival-trace's requests arrive at their recorded times")
    args.burstiness = ServingConfig.burstiness  # unused
    if args.num_requests is not None and args.num_requests < 1:
        ap.error("--num-requests must be >= 1")
    if args.time_scale is None:
        args.time_scale = ServingConfig.time_scale
    if not 0 < args.time_scale < math.inf:  # also NaN
        ap.error("--time-scale must be > 0 and finite")


def output_path(args: argparse.Namespace) -> Path:
    if args.out is not None:
        return args.out
    label = "".join(c if c.isalnum() or c in "-." else "_" for c in args.label)
    stem = f"serving_{label}_{git_commit()}" if label else f"serving_{git_commit()}"
    if args.arrival_trace is not None:  # never over a sweep's results of the same commit
        stem += "_trace"
    return RESULTS / f"{stem}.json"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = ServingConfig(
        base_url=args.base_url,
        model=args.model,
        workload=args.workload,
        num_requests=args.num_requests,
        request_rates=args.request_rates,
        seed=args.seed,
        vocab_size=args.vocab_size,
        burstiness=args.burstiness,
        temperature=args.temperature,
        label=args.label,
        arrival_trace=args.arrival_trace,
        time_scale=args.time_scale or ServingConfig.time_scale,
    )
    json_path = output_path(args)
    try:
        request_lengths(config)  # a file it cannot replay fails before a server is launched for it
        if args.launch:
            log_path = json_path.with_name(json_path.stem + "_server.log")
            with launched_server(args.launch, args.base_url, log_path, args.launch_timeout):
                data = run_benchmark(config)
        else:
            data = run_benchmark(config)
    except (BenchmarkError, WorkloadError) as e:
        print(f"serving.py: error: {e}", file=sys.stderr)
        return 1
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(data, indent=1) + "\n")
    write_plot(data, json_path.with_suffix(".png"))
    print(f"wrote {json_path} and {json_path.with_suffix('.png').name}")
    is_design_workload = (
        config.arrival_trace is None
        and config.workload.resolve() == DEFAULT_WORKLOAD.resolve()
        and config.num_requests == DEFAULT_NUM_REQUESTS
    )
    # vLLM's reference figures were timed on an H200: a run labelled as another device is not compared
    if is_design_workload and "H200" in config.label.upper():
        print_vllm_comparison(data)
    elif is_design_workload:
        print(
            f"\nnot compared with vLLM's H200 figures: this run's --label is {config.label!r}, not an H200"
        )
    print_table(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
