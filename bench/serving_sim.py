"""bench/serving.py's online scenario, simulated without a GPU: the real Engine, Scheduler and BlockManager over
bench/schedule_sim.py's simulated worker, with requests arriving on a simulated clock.

    PYTHONPATH=. python3 bench/serving_sim.py [--request-rates 2,4,8,16,inf] [--num-requests 200] [--seed 0]
                                              [--max-batched-tokens 16384] [--what-if fixed_ms=0.5]
                                              [--compare bench/results/h200/serving_H200_2c0a441.json]
                                              [--no-overlap]
    PYTHONPATH=. python3 bench/serving_sim.py --arrival-trace trace.json [--time-scale 0.5] [--num-requests N]
                                              [--schedule-policy longest-first] [--compare FILE] ...

The requests are serving.py's: the workload file's first N pairs, Poisson arrivals (gamma gaps) from the same
seed, ignore_eos, greedy. With --arrival-trace, serving.py's replay of a recorded trace instead
(bench/trace_requests/arrival_trace.py): one run named `trace`, each request arriving at its recorded time
times --time-scale and generating its recorded output_len; --compare takes serving.py's JSON of the same
replay. --schedule-policy takes a built-in policy or module:Class, a Scheduler subclass on PYTHONPATH (as the
server's --scheduler-policy does). The clock follows the engine loop as it runs against a GPU worker: one step stays in
flight ahead, so the step sent after step k-1 is read back holds what arrived by the end of step k-1 and runs
once step k ends; the device runs steps back to back for their modelled time (StepCostModel, fitted to the H200)
and idles while nothing is queued. A sequence's token arrives when its step ends. Per rate it prints serving.py's
metrics (vLLM's definitions, through serving.py's own `summarize`) beside vLLM's H200 figures and, with
--compare, the figures of a measured serving.py run. The host (REST, detokenizing, SSE) is left out: on the H200
it kept the device busy between steps (under 1 % idle at every rate, bench/README.md).

A research tool: what a scheduling policy or a faster kernel (--what-if) would do to TTFT and TPOT under load,
in seconds on a CPU; a GPU run of serving.py checks the answer. --no-overlap runs the engine without its step
in flight ahead (each step read back before the next is sent): since the model has no host time, what that
changes is a bound on what a request would gain if it never waited behind a step queued before it arrived."""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent))

from schedule_sim import (  # noqa: E402
    StepCostModel,
    add_what_if_flag,
    positive_int,
    simulated_engine,
    what_if_model,
)

from swiftllm.controller.scheduler import (
    SCHEDULE_POLICIES,  # noqa: E402
    scheduler_class,  # noqa: E402
)
from swiftllm.sampling_params import SamplingParams  # noqa: E402


def load_serving() -> ModuleType:
    """bench/serving.py, by its path: the bare name `serving` may be another module where this one is
    imported (the REST tests' helper in tests/controller)."""
    name = "bench_serving"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("serving.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before running it: its dataclasses look themselves up
        spec.loader.exec_module(module)
    return sys.modules[name]


serving = load_serving()


def simulate_rate(
    specs: list,
    send_times_s: list[float],
    budget: int,
    max_seqs: int,
    model: StepCostModel,
    overlap: bool = True,
    policy: str = "fcfs",
) -> tuple[list, float]:
    """The records a streaming client would keep of these requests (serving.RequestRecord, times after each
    request's send) and the run's duration in seconds, from the first send to the last token. overlap:
    the engine keeps one step in flight ahead (as it serves), or reads each back before sending the next."""
    engine, worker = simulated_engine(budget, max_seqs, model, policy)
    engine.overlap = overlap
    records = [serving.RequestRecord(len(spec.prompt_ids), spec.output_len) for spec in specs]
    request_of_seq: dict[int, int] = {}
    arrived = 0
    now_ms = 0.0  # the controller's clock: when its next call to engine.step happens
    while arrived < len(specs) or engine.has_work:
        while arrived < len(specs) and send_times_s[arrived] * 1e3 <= now_ms:
            spec = specs[arrived]
            params = SamplingParams(max_tokens=spec.output_len, ignore_eos=True, temperature=0.0)
            try:
                seq = engine.add_request(spec.prompt_ids, params)
            except ValueError as e:  # more than the context holds: the server answers it with a 400
                records[arrived].error = str(e)
            else:
                request_of_seq[seq.seq_id] = arrived
            arrived += 1
        if not engine.has_work:  # idle until the next request arrives (none left: all refused)
            if arrived < len(specs):
                now_ms = send_times_s[arrived] * 1e3
            continue
        # a step sent now starts when the device is free, or now if it idles
        worker.clock_ms = max(worker.clock_ms, now_ms)
        for seq in engine.step():
            index = request_of_seq[seq.seq_id]
            records[index].chunk_times.append(worker.read_step_end_ms / 1e3 - send_times_s[index])
        # engine.step returned once the previous step was read back, that is once it ended
        now_ms = max(now_ms, worker.read_step_end_ms)
    last_token_s = max(
        (
            send + record.chunk_times[-1]
            for send, record in zip(send_times_s, records)
            if record.chunk_times
        ),
        default=math.nan,  # every request refused: no token, no rate
    )
    return records, last_token_s


def simulate_arrivals(
    arrivals: serving.Arrivals,
    budget: int,
    max_seqs: int,
    model: StepCostModel,
    overlap: bool = True,
    policy: str = "fcfs",
) -> serving.RateResult:
    """One of serving.py's runs (a rate of its sweep, or an arrival trace's replay), simulated: its metrics,
    named as serving.py names the run, with each request's record."""
    records, duration = simulate_rate(
        arrivals.specs, arrivals.offsets, budget, max_seqs, model, overlap, policy
    )
    result = serving.summarize(records, duration, arrivals.rate, name=arrivals.name)
    return replace(result, records=records)


def measured_rates(path: Path | None) -> dict[str, dict]:
    """A serving.py JSON's per-rate results by rate name ({} without one)."""
    if path is None:
        return {}
    data = json.loads(path.read_text())
    return {str(result["rate"]): result for result in data["rates"]}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--num-requests",
        type=int,
        default=None,
        help="the workload file's first N (default 200), or the trace's first N (default all)",
    )
    ap.add_argument("--request-rates", type=serving.parse_rates, default=None)
    ap.add_argument(
        "--arrival-trace", type=Path, default=None, help="replay this trace (see the docstring)"
    )
    ap.add_argument("--time-scale", type=float, default=None, help="with --arrival-trace")
    ap.add_argument(
        "--seed", type=int, default=0, help="prompts and arrival times, as serving.py's"
    )
    ap.add_argument("--burstiness", type=float, default=None, help="gamma shape; 1: Poisson")
    ap.add_argument("--max-batched-tokens", type=positive_int, default=16384)
    ap.add_argument("--max-num-seqs", type=positive_int, default=512)
    add_what_if_flag(ap)
    ap.add_argument(
        "--schedule-policy",
        default="fcfs",
        help=f"{', '.join(SCHEDULE_POLICIES)}, or module:Class (a Scheduler subclass on PYTHONPATH)",
    )
    ap.add_argument("--compare", type=Path, help="a serving.py JSON to print beside the simulation")
    ap.add_argument(
        "--no-overlap", action="store_true", help="no step in flight ahead (see the docstring)"
    )
    args = ap.parse_args(argv)
    # serving.py's own checks and defaults: the same flags mean the same requests
    if args.arrival_trace is None:
        serving.check_sweep_args(ap, args, max_requests=None)
    else:
        serving.check_trace_args(ap, args)
    try:
        scheduler_class(args.schedule_policy)  # a built-in policy, or module:Class
    except ValueError as e:
        ap.error(f"--schedule-policy: {e}")
    model = what_if_model(ap, args.what_if)
    config = serving.ServingConfig(
        base_url="",
        num_requests=args.num_requests,
        request_rates=args.request_rates,
        seed=args.seed,
        burstiness=args.burstiness,
        arrival_trace=args.arrival_trace,
        time_scale=args.time_scale or serving.ServingConfig.time_scale,
    )
    try:
        num_requests = len(serving.request_lengths(config))
    except serving.WorkloadError as e:
        ap.error(str(e))
    measured = measured_rates(args.compare)
    steps_ahead = "no step in flight ahead" if args.no_overlap else "one step in flight ahead"
    requests = f"{num_requests} requests"
    if args.arrival_trace is not None:
        requests += f" of {args.arrival_trace.name} at their recorded times x {config.time_scale:g}"
    print(f"{requests}, seed {args.seed}, simulated ({model}; {steps_ahead})")
    print(
        f"{'rate':>5} {'source':>9} {'out tok/s':>10} {'med TPOT':>9} {'p99 TTFT':>9} {'med TTFT':>9}"
    )
    # serving.py's runs: the same prompts and send times, rate by rate
    for arrivals in serving.arrival_runs(config):
        result = simulate_arrivals(
            arrivals,
            args.max_batched_tokens,
            args.max_num_seqs,
            model,
            not args.no_overlap,
            args.schedule_policy,
        )
        rows = [
            (
                "simulated",
                result.output_throughput,
                result.tpot_ms.median,
                result.ttft_ms.p99,
                result.ttft_ms.median,
            )
        ]
        if result.failed:  # a trace recorded on a longer context than the simulated model's 8,192
            print(f"{result.failed} requests refused by the engine, e.g.: {result.errors[0]}")
        name = arrivals.name
        if name in measured:
            run = measured[name]
            rows.append(
                (
                    "measured",
                    run["output_throughput"],
                    run["tpot_ms"]["median"],
                    run["ttft_ms"]["p99"],
                    run["ttft_ms"]["median"],
                )
            )
        peer = serving.VLLM_H200.get(arrivals.rate)
        is_design_run = args.arrival_trace is None and num_requests == 200 and args.seed == 0
        if peer is not None and is_design_run:
            rows.append(
                (
                    "vLLM",
                    peer.output_tokens_per_s,
                    peer.median_tpot_ms,
                    peer.p99_ttft_ms,
                    peer.median_ttft_ms,
                )
            )
        for source, tokens_per_s, tpot, p99_ttft, median_ttft in rows:
            print(
                f"{name:>5} {source:>9} {tokens_per_s:10.0f} {tpot:9.2f} {p99_ttft:9.1f} "
                f"{median_ttft:9.1f}"
            )


if __name__ == "__main__":
    main()
