"""What the power cap does to a decode step: the same step timed in a short burst from a rested GPU, then
after --heat seconds of prefill steps (as bench/latency.py's decode phase follows its prompts' prefill), stepped
back to back in windows with the SM clock and power sampled in each.

    PYTHONPATH=. python3 bench/power_soak.py [--batches 1,8,32,128,256] [--context 1088] [--seconds 6]
                                             [--heat 3]

The lent H200 is capped at 700 W. A bare step (bench/profile_step.py, the A/B scripts in bench/results/h200) is
timed for a fraction of a second; bench/latency.py and bench/throughput.py run for many seconds, and prefill
holds the GPU at its cap, where the SM clock falls (gpu_clocks.py). This script puts a number on what that
does to decode steps, for each batch: ms a step in the burst, in the first window after the prefill and in
the last, their ratios, and the clocks of each. The step is the engine's (ModelRunner with its CUDA graphs,
each step launched before the last is collected: forward.time_pipelined), the Llama-3-8B shape with dummy
bf16 weights, every sequence at one context; the prefill steps run 16 prompts of 1,024 tokens each (16,384
tokens, latency.py's token budget). Before each batch the GPU rests (--rest seconds) so that its burst starts
cool; --heat 0 steps decode alone. One JSON a run (bench/results/power_soak.json, or $BENCH_OUT)."""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import LLAMA3_8B, config_dir, device_info, write_results
from forward import step_cmd, time_pipelined
from gpu_clocks import ClockMonitor, mhz

from swiftllm.worker.model_runner import ModelRunner, WorkerConfig

PROMPTS = 16  # prompts a prefill step
PROMPT_TOKENS = 1024


def soak_summary(burst_ms: float, windows: list[dict]) -> dict:
    """The burst beside the soak's first window (right after the prefill), its last (where it settles) and
    its slowest: ms a step and the ratio of each to the burst."""
    first = windows[0]["ms"]
    last = windows[-1]["ms"]
    slowest = max(window["ms"] for window in windows)
    return {
        "burst_ms": burst_ms,
        "first_ms": first,
        "last_ms": last,
        "slowest_ms": slowest,
        "first_over_burst": first / burst_ms,
        "last_over_burst": last / burst_ms,
        "slowest_over_burst": slowest / burst_ms,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,8,32,128,256")
    ap.add_argument("--context", type=int, default=1088)
    ap.add_argument("--seconds", type=float, default=6.0, help="how long each batch is stepped")
    ap.add_argument("--window", type=float, default=0.5, help="seconds a timed window lasts")
    ap.add_argument(
        "--heat", type=float, default=3.0, help="seconds of prefill before the decode steps"
    )
    ap.add_argument(
        "--rest", type=float, default=5.0, help="idle seconds before each batch's burst"
    )
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    runner = ModelRunner(
        WorkerConfig(model=config_dir(LLAMA3_8B), load_format="dummy", dtype="bfloat16")
    )
    per_seq = -(-args.context // 16) + 2
    prompt_blocks = PROMPT_TOKENS // 16
    decode_blocks = max(batches) * per_seq
    runner.init_cache(16, decode_blocks + PROMPTS * prompt_blocks + 16, 1, 2048)
    prefill = step_cmd(
        [PROMPT_TOKENS] * PROMPTS,
        [PROMPT_TOKENS] * PROMPTS,
        [decode_blocks + i * prompt_blocks for i in range(PROMPTS)],
        LLAMA3_8B["vocab_size"],
    )
    runner.step(prefill)
    data = {**device_info(), **vars(args), "batches": []}
    for b in batches:
        cmd = step_cmd(
            [1] * b, [args.context] * b, [i * per_seq for i in range(b)], LLAMA3_8B["vocab_size"]
        )
        for _ in range(3):
            runner.step(cmd)
        time.sleep(args.rest)
        with ClockMonitor() as burst_clocks:
            burst = float(np.median([time_pipelined(runner, cmd, iters=10) for _ in range(3)]))
        iters = max(10, int(args.window * 1e3 / burst))
        heat_end = time.perf_counter() + args.heat
        with ClockMonitor() as heat_clocks:
            while time.perf_counter() < heat_end:
                runner.step(prefill)
        windows = []
        end = time.perf_counter() + args.seconds
        while time.perf_counter() < end:
            with ClockMonitor() as clocks:
                ms = time_pipelined(runner, cmd, iters=iters)
            windows.append({"ms": ms, "clocks": clocks.summary()})
        row = {"batch": b, **soak_summary(burst, windows), "burst_clocks": burst_clocks.summary()}
        row["heat_clocks"] = heat_clocks.summary()
        row["windows"] = windows
        data["batches"].append(row)
        print(
            f"N={b}: burst {burst:.2f} ms, the soak's windows "
            + " ".join(f"{w['ms']:.2f}" for w in windows),
            flush=True,
        )
    path = write_results("power_soak", data)
    print(
        f"\n{data['device']}  commit {data['commit']}  context {args.context}  "
        f"{args.heat:g} s of prefill before the decode steps  wrote {path}"
    )
    print(
        f"{'N':>4} {'burst ms':>9} {'MHz':>5} {'prefill MHz':>11} {'first ms':>9} {'MHz':>5} "
        f"{'last ms':>8} {'MHz':>5} {'W':>4} {'first/burst':>11} {'last/burst':>10}"
    )
    for row in data["batches"]:
        first_clocks = row["windows"][0]["clocks"]
        last_clocks = row["windows"][-1]["clocks"]
        watts = last_clocks["power_w_median"]
        print(
            f"{row['batch']:4d} {row['burst_ms']:9.2f} {mhz(row['burst_clocks']):>5} "
            f"{mhz(row['heat_clocks']):>11} {row['first_ms']:9.2f} {mhz(first_clocks):>5} "
            f"{row['last_ms']:8.2f} {mhz(last_clocks):>5} {watts or 0:4.0f} "
            f"{row['first_over_burst']:11.3f} {row['last_over_burst']:10.3f}"
        )


if __name__ == "__main__":
    main()
