"""Decode latency the way vLLM's reference numbers (bench/README.md) were taken: offline generate, Llama-3-8B shape,
dummy bf16 weights, N prompts of 1024 random tokens, ignore_eos, temperature 1.0 (vLLM's benchmark_latency
samples so); ms/step = (t(129) - t(1)) / 128, each N timed after one untimed run of the same workload, with
the medians of t(1) and t(129) over --repeats runs.

    PYTHONPATH=. python3 bench/latency.py [--batches 1,8,32,64,128,256] [--max-batched-tokens 16384]
                                          [--temperature 1.0] [--repeats 3] [--max-model-len 2048]

--max-batched-tokens is the per-step token budget; 16384 is vLLM's default for its offline LLM class on a
GPU of this size (SwiftLLM's own default, 2048, spreads the prefills over more, mixed, steps).

Writes results/latency_tokens<budget>[_greedy].json and .png; prints a table last (with vLLM's figures on an
H200 only, where they were timed, and two floors: the memory floor, (weight bytes + KV bytes read at the mean
context) / copy bandwidth, and issue 16's roofline, each operation at max(bytes / copy bandwidth, FLOPs /
matmul rate), both ceilings measured in the run).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import NamedTuple

import numpy as np
from common import (
    LLAMA3_8B,
    VLLM_DECODE_MS,
    ceilings,
    config_dir,
    device_info,
    model_bytes,
    write_results,
)
from gpu_clocks import ClockMonitor, mhz

from swiftllm.llm import LLM
from swiftllm.sampling_params import SamplingParams

PROMPT, OUT = 1024, 129


class Run(NamedTuple):
    """One LLM.generate: wall seconds; host seconds in ModelRunner.launch and the steps launched; the worker's
    device milliseconds (its CUDA events: the steps' kernels, and the idle time between back-to-back steps;
    NaN on a CPU)."""

    seconds: float
    launch_s: float
    steps: int
    gpu_ms: float
    idle_ms: float


def per_step(pairs: list[tuple[Run, Run]], field: str) -> float:
    """Median over the (t1, t129) pairs of a Run field's difference, per extra step."""
    return float(np.median([getattr(b, field) - getattr(a, field) for a, b in pairs])) / (OUT - 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,8,32,64,128,256")
    ap.add_argument("--max-batched-tokens", type=int, default=16384)
    ap.add_argument(
        "--max-model-len",
        type=int,
        default=2048,
        help="the widest block table the decode graphs are captured at (a server runs at the model's "
        "context, 131,072 for Llama-3.1); a step replays the narrowest width that holds its table",
    )
    ap.add_argument(
        "--temperature", type=float, default=1.0, help="1.0 as vLLM's benchmark_latency; 0: greedy"
    )
    ap.add_argument(
        "--repeats", type=int, default=3, help="(t1, t129) pairs per N; their medians are used"
    )
    ap.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        help="the GIL switch interval for this run (LLM's gil_switch_interval)",
    )
    args = ap.parse_args()
    # how long the engine thread may hold the GIL while the device thread waits: LLM sets it from its
    # gil_switch_interval (a sys.setswitchinterval here was undone by LLM(), session 67's help hunt)
    switch = {"gil_switch_interval": args.switch_interval} if args.switch_interval else {}
    data = {
        **device_info(),
        "shape": "Llama-3-8B (dummy bf16)",
        "prompt_tokens": PROMPT,
        "max_num_batched_tokens": args.max_batched_tokens,
        "max_model_len": args.max_model_len,
        "temperature": args.temperature,
        "rows": [],
    }
    data["ceilings"] = ceil = ceilings()
    on_h200 = "H200" in data["device"]
    llm = LLM(
        config_dir(LLAMA3_8B),
        load_format="dummy",
        dtype="bfloat16",
        max_model_len=args.max_model_len,
        max_num_batched_tokens=args.max_batched_tokens,
        **switch,
    )
    data["switch_interval"] = sys.getswitchinterval()
    w = llm.runner.weights
    weight_bytes = model_bytes(w) - w.embed.numel() * w.embed.element_size()
    kv_token_bytes = 32 * 8 * 128 * 2 * 2
    rng = np.random.default_rng(0)
    # host time spent queuing steps (ModelRunner.launch): what the device thread adds to each step; a step's
    # device time hides it when the next step is launched before the device finishes this one
    spent = {"s": 0.0, "steps": 0}
    launch = llm.runner.launch

    def timed_launch(cmd: object) -> object:
        t0 = time.perf_counter()
        try:
            return launch(cmd)
        finally:
            spent["s"] += time.perf_counter() - t0
            spent["steps"] += 1

    llm.runner.launch = timed_launch

    def run(n: int, max_tokens: int) -> Run:
        prompts = [rng.integers(0, LLAMA3_8B["vocab_size"], PROMPT).tolist() for _ in range(n)]
        params = SamplingParams(
            max_tokens=max_tokens, ignore_eos=True, temperature=args.temperature
        )
        before = dict(spent)
        device_before = dict(llm.engine.worker_ms)
        t0 = time.perf_counter()
        outs = llm.generate(prompts, params)
        elapsed = time.perf_counter() - t0
        assert all(len(o.token_ids) == max_tokens for o in outs)
        device = {
            name: llm.engine.worker_ms.get(name, math.nan) - device_before.get(name, math.nan)
            for name in ("gpu_ms", "gpu_idle_ms")
        }
        return Run(
            elapsed,
            spent["s"] - before["s"],
            spent["steps"] - before["steps"],
            device["gpu_ms"],
            device["gpu_idle_ms"],
        )

    run(4, 8)  # warm-up: kernels compiled, graphs replayed once
    for n in [int(b) for b in args.batches.split(",")]:
        run(
            n, OUT
        )  # warm-up at this batch, as vLLM's benchmark_latency does: first-use costs stay out
        # prefill steps vary by a few percent from run to run, and t129 - t1 magnifies that: medians of repeats
        with ClockMonitor() as clocks:
            pairs = [(run(n, 1), run(n, OUT)) for _ in range(args.repeats)]
        t1 = float(np.median([a.seconds for a, _ in pairs]))
        t129 = float(np.median([b.seconds for _, b in pairs]))
        ms = (t129 - t1) / (OUT - 1) * 1e3
        runner_ms = per_step(pairs, "launch_s") * 1e3
        extra_steps = pairs[0][1].steps - pairs[0][0].steps
        kv_bytes = n * (PROMPT + OUT / 2) * kv_token_bytes
        floor = (weight_bytes + kv_bytes) / ceil["copy_bw_Bps"] * 1e3
        roofline = roofline_ms(n, weight_bytes, kv_bytes, ceil)
        data["rows"].append(
            {
                "batch": n,
                "t1_s": t1,
                "t129_s": t129,
                "ms_per_step": ms,
                "floor_ms": floor,
                "roofline_ms": roofline,
                # vLLM's figures were timed on an H200: on another device there is nothing to compare
                "vllm_ms": VLLM_DECODE_MS.get(n) if on_h200 else None,
                "launch_ms_per_step": runner_ms,
                # the same difference in the worker's device time: the step's kernels, and the device's idle
                # time between steps (ms_per_step - gpu - idle: what neither accounts for, e.g. a step whose
                # predecessor's end the worker did not see)
                "gpu_ms_per_step": per_step(pairs, "gpu_ms"),
                "idle_ms_per_step": per_step(pairs, "idle_ms"),
                "extra_steps": extra_steps,
                # the clocks the timed runs ran at, prefill included (the power cap lowers them: bench/gpu_clocks.py)
                "clocks": clocks.summary(),
                "t1_runs": [a.seconds for a, _ in pairs],
                "t129_runs": [b.seconds for _, b in pairs],
            }
        )
        print(
            f"N={n}: t1 {t1:.3f} s  t129 {t129:.3f} s  -> {ms:.2f} ms/step  (t129 runs "
            + ", ".join(f"{b.seconds:.3f}" for _, b in pairs)
            + ")",
            flush=True,
        )
    path = write_results(
        f"latency_tokens{args.max_batched_tokens}" + ("" if args.temperature else "_greedy"), data
    )
    plot(data, str(path.with_suffix(".png")))
    print(
        f"\n{data['device']}  commit {data['commit']}  copy {ceil['copy_bw_Bps'] / 1e12:.2f} TB/s  "
        f"matmul {ceil['matmul_flops'] / 1e12:.0f} TFLOP/s  token budget {args.max_batched_tokens}"
    )
    print(
        f"{'N':>4} {'ms/step':>8} {'floor':>7} {'x floor':>7} {'roofline':>8} {'x roof':>6} {'vLLM':>6} "
        f"{'vLLM/ours':>9} {'t1 s':>7} {'launch':>9} {'steps':>5} {'gpu ms':>7} {'idle ms':>7} "
        f"{'SM MHz':>6}"
    )
    for r in data["rows"]:
        v = r["vllm_ms"] or float("nan")
        print(
            f"{r['batch']:4d} {r['ms_per_step']:8.2f} {r['floor_ms']:7.2f} {r['ms_per_step'] / r['floor_ms']:7.3f} "
            f"{r['roofline_ms']:8.2f} {r['ms_per_step'] / r['roofline_ms']:6.3f} "
            f"{v:6.2f} {v / r['ms_per_step']:9.2f} {r['t1_s']:7.3f} {r['launch_ms_per_step']:9.2f} "
            f"{r['extra_steps']:5d} {r['gpu_ms_per_step']:7.2f} {r['idle_ms_per_step']:7.2f} "
            f"{mhz(r['clocks']):>6}"
        )


def roofline_ms(rows: int, weight_bytes: float, kv_bytes: float, ceil: dict) -> float:
    """Issue 16's decode floor: each operation at max(bytes / copy bandwidth, FLOPs / matmul rate). A linear
    does 2 FLOPs per bf16 weight (2 bytes) per row, so the linears together take the larger of their weight read
    and rows * weight_bytes FLOPs. Attention's FLOPs (4 per cached element per query head of a group: 32 times
    fewer than its K/V bytes at Llama-3-8B's GQA, about 5 GFLOP at 256 rows) stay far below its K/V read, and
    the norms and rotary are a few MB: each is its bytes."""
    linears_s = max(weight_bytes / ceil["copy_bw_Bps"], rows * weight_bytes / ceil["matmul_flops"])
    return (linears_s + kv_bytes / ceil["copy_bw_Bps"]) * 1e3


def plot(data: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = data["rows"]
    xs = [r["batch"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot(xs, [r["ms_per_step"] for r in rows], "o-", label="SwiftLLM LLM.generate")
    if "H200" in data["device"]:
        ax.plot(
            list(VLLM_DECODE_MS),
            list(VLLM_DECODE_MS.values()),
            "s-",
            label="vLLM 0.24 on the H200 (bench/README.md)",
        )
    ax.plot(xs, [r["floor_ms"] for r in rows], "k--", label="floor")
    ax.set(
        xscale="log",
        xlabel="concurrent requests (1024-token prompts)",
        ylabel="decode ms / step",
        title=f"decode latency, Llama-3-8B shape, {data['device']}",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
