"""The host's share of serving latency, without a GPU: the same requests served twice, once by bench/serving_sim.py
(the real engine over a modelled H200, no host at all) and once by a live server on this machine (the REST
server, tokenizer, engine thread and SSE all real) attached to bench/sim_worker.py (the same modelled H200 behind
the worker protocol). What the live run adds to the model is the host's share, on this CPU.

    PYTHONPATH=. python3 bench/host_share.py [--request-rates 2,16] [--num-requests 200] [--seed 0]
                                             [--max-batched-tokens 16384] [--out DIR] [--no-trace] [--gpu]

Each rate gets a fresh server under bench/trace_requests (TRACE_REQUESTS=1), so its first tokens' server-side
time is split into stages (breakdown.py) per rate; the client is bench/serving.py's. Prints, per rate: median
and p99 TTFT, median TPOT and output tokens/s, modelled and live, and the median and p99 of each server stage.
Writes one JSON (and each rate's server log) under --out (default bench/results/cpu).

With --gpu the live server runs on this machine's GPU instead (dummy Llama-3-8B weights): the same table then
sets a real device's run, host included, against the model, stage by stage (results under bench/results/cpu
all the same: name --out for a GPU run). --no-trace serves untraced, to see what tracing costs.

Read the figures as this machine's: a host with fewer or slower cores than the GPU box's pays more, and the
client shares the cores here (its CPU share is printed). A research tool: it shows which host stage grows with
load, and a change to the controller can be measured before and after on any machine, in minutes."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "trace_requests"))

import breakdown  # noqa: E402
from make_dummy_model import make_dummy_model  # noqa: E402
from run_info import RESULTS, git_commit, none_if_nan, utc_now  # noqa: E402
from schedule_sim import StepCostModel  # noqa: E402
from serving_sim import serving, simulate_rate  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
LAUNCH_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Figures:
    """What a rate comes to, modelled or live."""

    median_ttft_ms: float
    p99_ttft_ms: float
    median_tpot_ms: float
    output_tokens_per_s: float

    @staticmethod
    def of(result: dict) -> Figures:
        """From serving.py's per-rate JSON."""
        return Figures(
            median_ttft_ms=result["ttft_ms"]["median"],
            p99_ttft_ms=result["ttft_ms"]["p99"],
            median_tpot_ms=result["tpot_ms"]["median"],
            output_tokens_per_s=result["output_throughput"],
        )


# a first token's way, from the client's send to its read: the client's two ends around the server's stages
STAGES = ("http", "handler", *breakdown.STAGES, "response")


@dataclass(frozen=True)
class RateShare:
    rate: float
    modelled: Figures
    live: Figures
    live_result: dict  # serving.py's JSON of the live run
    stages_ms: dict[str, dict[str, float]]  # stage (or "total") -> {"median": ms, "p99": ms}
    traced: int  # requests whose every stage was found (of the rate's)


@contextlib.contextmanager
def sim_worker(model_dir: Path, log_path: Path) -> Iterator[str]:
    """bench/sim_worker.py in a process of its own; yields its address."""
    command = [sys.executable, str(BENCH_DIR / "sim_worker.py"), "--model", str(model_dir)]
    with open(log_path, "w") as log:
        worker = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            line = worker.stdout.readline()
            prefix = "swiftllm worker listening on "
            if not line.startswith(prefix):
                raise serving.BenchmarkError(f"sim_worker.py did not start: {line!r}")
            yield line.removeprefix(prefix).strip()
        finally:
            worker.terminate()
            worker.wait(30)


@contextlib.contextmanager
def environment(**variables: str) -> Iterator[None]:
    """These variables set for the processes started inside (and restored after)."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass(frozen=True)
class Limits:
    """The engine's limits, the same for the model and the live server."""

    max_batched_tokens: int
    max_num_seqs: int


def modelled(config: serving.ServingConfig, limits: Limits) -> Figures:
    """serving_sim.py's figures for the config's one rate (its requests are the sweep's first draw, as the
    live run's are)."""
    rate = config.request_rates[0]
    specs = serving.request_specs(config, draw=1)
    send_times = serving.arrival_offsets(len(specs), rate, config.burstiness, config.seed)
    records, duration = simulate_rate(
        specs, send_times, limits.max_batched_tokens, limits.max_num_seqs, StepCostModel()
    )
    result = serving.summarize(records, duration, rate)
    return Figures.of(result.to_json())


def server_command(model_dir: Path, port: int, limits: Limits, worker_address: str | None) -> str:
    """`swiftctl launch` attached to the simulated worker at `worker_address`, or with None serving on this
    machine's GPU with dummy weights (its own worker)."""
    worker = "--load-format dummy"
    if worker_address is not None:
        worker = f"--worker-addrs {worker_address}"
    return (
        f"{sys.executable} -m swiftllm.launch.cli launch --model {model_dir} --port {port} {worker} "
        f"--max-num-batched-tokens {limits.max_batched_tokens} --max-num-seqs {limits.max_num_seqs}"
    )


def live(
    config: serving.ServingConfig,
    limits: Limits,
    worker_address: str | None,
    model_dir: Path,
    log_path: Path,
    trace: bool,
) -> serving.RateResult:
    """serving.py's run of the config's one rate against a fresh server (server_command), traced
    (bench/trace_requests) or not."""
    url = config.base_url
    command = server_command(model_dir, int(url.rsplit(":", 1)[1]), limits, worker_address)
    # the caller's path after ours: on the GPU box, pyzmq's wheel is installed apart (bench/README.md)
    inherited = os.environ.get("PYTHONPATH", "")
    python_path = os.pathsep.join([str(BENCH_DIR / "trace_requests"), str(REPO), inherited])
    trace_flag = ""
    if trace:
        trace_flag = "1"
    with environment(TRACE_REQUESTS=trace_flag, PYTHONPATH=python_path, OMP_NUM_THREADS="1"):
        with serving.launched_server(command, url, log_path, LAUNCH_TIMEOUT_S):
            _, results = serving.event_loop_run(serving.run_all(config))
    return results[0]


def aligned_stages(records: list, trace: breakdown.Trace) -> dict[str, list[float]]:
    """Each traced request's stages in ms, with the client's ends added: `http` from the client's send to the
    server's handler beginning (the client's loop, the connection, aiohttp's parsing, the server loop's
    queue), `handler` from there to the handler posting it (reading, parsing and checking the body), and
    `response` from the event loop taking the first token to the client reading it (the SSE chunk's
    formatting and write, the client's own loop). Their sum, "total", is the client's TTFT. A server event is
    matched to the client's latest request of its prompt length sent before it was posted (client and server
    share time.perf_counter's clock on one machine)."""
    unmatched = [record for record in records if record.ok]
    columns: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "total")}
    for row in breakdown.breakdowns(trace):
        posted_t = trace.posted[row.rid][0]
        candidates = [
            record
            for record in unmatched
            if record.prompt_len == row.prompt_tokens and record.sent_at <= posted_t
        ]
        if not candidates:
            continue  # the untimed warm-up request
        record = max(candidates, key=lambda candidate: candidate.sent_at)
        unmatched.remove(record)
        read_t = record.sent_at + record.chunk_times[0]
        entered_t = trace.entered[row.rid]
        stages = {
            "http": (entered_t - record.sent_at) * 1e3,
            "handler": (posted_t - entered_t) * 1e3,
            **row.stages_ms,
            "response": (read_t - trace.delivered[row.rid]) * 1e3,
        }
        for stage, ms in stages.items():
            columns[stage].append(ms)
        columns["total"].append(sum(stages.values()))
    return columns


def percentiles(columns: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    result = {}
    for stage, values in columns.items():
        median, p99 = np.percentile(values, [50, 99])
        result[stage] = {"median": float(median), "p99": float(p99)}
    return result


def measure(args: argparse.Namespace, work_dir: Path, out_dir: Path) -> list[RateShare]:
    model_dir = make_dummy_model(work_dir / "llama3-8b-dummy", "llama3-8b")
    limits = Limits(args.max_batched_tokens, args.max_num_seqs)
    shares = []
    worker = sim_worker(model_dir, out_dir / "sim_worker.log")
    if args.gpu:
        worker = contextlib.nullcontext(None)
    with worker as address:
        for rate in args.request_rates:
            config = serving.ServingConfig(
                base_url=f"http://127.0.0.1:{free_port()}",
                num_requests=args.num_requests,
                request_rates=(rate,),
                seed=args.seed,
                label="host share",
            )
            log_path = out_dir / f"host_share_server_{serving.rate_name(rate)}.log"
            result = live(config, limits, address, model_dir, log_path, not args.no_trace)
            columns = {}
            if not args.no_trace:
                trace = breakdown.parse(log_path.read_text(errors="replace").splitlines())
                columns = aligned_stages(result.records, trace)
            summary = result.to_json()
            shares.append(
                RateShare(
                    rate=rate,
                    modelled=modelled(config, limits),
                    live=Figures.of(summary),
                    live_result=summary,
                    stages_ms=percentiles(columns),
                    traced=len(columns.get("total", [])),
                )
            )
            print(f"rate {serving.rate_name(rate)}: done", flush=True)
    return shares


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def print_table(shares: list[RateShare]) -> None:
    print(
        f"{'rate':>5} {'':>8} {'med TTFT':>9} {'p99 TTFT':>9} {'med TPOT':>9} {'out tok/s':>10}"
        f" {'ctl cpu':>8} {'client cpu%':>11}"
    )
    for share in shares:
        name = serving.rate_name(share.rate)
        server = share.live_result.get("server") or {}
        cpu_ms = server.get("controller_cpu_ms_per_step") or math.nan
        client = share.live_result["client_cpu_fraction"] * 100
        rows = [
            ("modelled", share.modelled, ""),
            ("live", share.live, f"{cpu_ms:8.2f} {client:11.0f}"),
        ]
        for source, figures, extra in rows:
            print(
                f"{name:>5} {source:>8} {figures.median_ttft_ms:9.1f} {figures.p99_ttft_ms:9.1f} "
                f"{figures.median_tpot_ms:9.2f} {figures.output_tokens_per_s:10.0f} {extra}"
            )
    print(
        "modelled: serving_sim.py (no host); live: a server on this CPU attached to sim_worker.py; "
        "ctl cpu: the server's CPU ms per step; client cpu%: the client's share of the duration"
    )
    if not shares[0].stages_ms:
        print("(--no-trace: no stages)")
        return
    print(
        "\nthe live run's first tokens by stage, ms median / p99 (http: the client's send to the REST "
        "handler; handler: to its post; response: the event loop to the client's read; the rest: "
        "bench/trace_requests/breakdown.py's)"
    )
    print(f"{'rate':>5} " + " ".join(f"{stage:>15}" for stage in shares[0].stages_ms))
    for share in shares:
        cells = [
            f"{stage['median']:7.2f}/{stage['p99']:7.2f}" for stage in share.stages_ms.values()
        ]
        print(f"{serving.rate_name(share.rate):>5} " + " ".join(f"{cell:>15}" for cell in cells))


def to_json(shares: list[RateShare], args: argparse.Namespace) -> dict:
    def clean(figures: Figures) -> dict:
        return {name: none_if_nan(value) for name, value in vars(figures).items()}

    return {
        "date": utc_now(),
        "commit": git_commit(),
        "host": os.uname().nodename,
        "cpus": os.cpu_count(),
        "num_requests": args.num_requests,
        "seed": args.seed,
        "max_batched_tokens": args.max_batched_tokens,
        "rates": [
            {
                "rate": serving.rate_name(share.rate),
                "modelled": clean(share.modelled),
                "live": clean(share.live),
                "stages_ms": share.stages_ms,
                "traced": share.traced,
                "live_result": share.live_result,
            }
            for share in shares
        ],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--request-rates", type=serving.parse_rates, default=(2.0, 16.0))
    ap.add_argument("--num-requests", type=int, default=200, help="the workload file's first N")
    ap.add_argument("--seed", type=int, default=0, help="prompts and arrival times")
    ap.add_argument("--max-batched-tokens", type=int, default=16384)
    ap.add_argument("--max-num-seqs", type=int, default=512)
    ap.add_argument(
        "--gpu",
        action="store_true",
        help="serve live on this machine's GPU (dummy weights) instead of sim_worker.py: the same split "
        "of a real device's run against the model",
    )
    ap.add_argument(
        "--no-trace",
        action="store_true",
        help="serve untraced (no stages): what tracing itself costs, by comparison",
    )
    ap.add_argument("--out", type=Path, default=RESULTS / "cpu", help="directory for the results")
    args = ap.parse_args(argv)
    if not 1 <= args.num_requests <= serving.MAX_REQUESTS_PER_RATE:
        ap.error(f"--num-requests must be in [1, {serving.MAX_REQUESTS_PER_RATE}]")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="host-share-") as work_dir:
        shares = measure(args, Path(work_dir), args.out)
    path = args.out / f"host_share_{git_commit()}.json"
    path.write_text(json.dumps(to_json(shares, args), indent=1))
    print(f"wrote {path}")
    print_table(shares)
    return 0


if __name__ == "__main__":
    sys.exit(main())
