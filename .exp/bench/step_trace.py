"""Where the time of bench/latency.py's workload goes, step by step: each launch's GPU time (CUDA events
around it), what it held (decode rows, prefill tokens) and the device's idle time between steps.

    PYTHONPATH=. python3 bench/step_trace.py [--batches 64,256] [--temperature 0,1]

For each N and temperature, runs max_tokens 1 and 129 (as latency.py does, after a warm-up) and prints the
steps of the 129-token run grouped by kind, beside the 1-token run's, so the difference that vLLM's metric
(t129 - t1) / 128 measures is split into its parts. Writes results/step_trace.json."""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from common import LLAMA3_8B, config_dir, device_info, write_results

from swiftllm.llm import LLM
from swiftllm.sampling_params import SamplingParams

PROMPT = 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="64,256")
    ap.add_argument("--temperature", default="0,1")
    ap.add_argument("--max-batched-tokens", type=int, default=16384)
    args = ap.parse_args()
    llm = LLM(
        config_dir(LLAMA3_8B),
        load_format="dummy",
        dtype="bfloat16",
        max_model_len=2048,
        max_num_batched_tokens=args.max_batched_tokens,
    )
    runner = llm.runner
    launch = runner.launch
    log: list[dict] = []

    def traced_launch(cmd: object) -> object:
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        t0 = time.perf_counter()
        step = launch(cmd)
        host = time.perf_counter() - t0
        end.record()
        q = cmd.query_lens
        log.append(
            {
                "start": start,
                "end": end,
                "host_ms": host * 1e3,
                "decode": int((q == 1).sum()),
                "prefill": int(q[q > 1].sum()),
                "ctx": int(cmd.context_lens.sum()),
            }
        )
        return step

    runner.launch = traced_launch
    rng = np.random.default_rng(0)

    def run(n: int, max_tokens: int, temperature: float) -> tuple[float, list[dict]]:
        prompts = [rng.integers(0, LLAMA3_8B["vocab_size"], PROMPT).tolist() for _ in range(n)]
        params = SamplingParams(max_tokens=max_tokens, ignore_eos=True, temperature=temperature)
        log.clear()
        t0 = time.perf_counter()
        llm.generate(prompts, params)
        wall = time.perf_counter() - t0
        torch.cuda.synchronize()
        steps = []
        for i, s in enumerate(log):
            gpu = s["start"].elapsed_time(s["end"])
            idle = log[i - 1]["end"].elapsed_time(s["start"]) if i else 0.0
            steps.append(
                {k: v for k, v in s.items() if k not in ("start", "end")}
                | {"gpu_ms": gpu, "idle_ms": idle}
            )
        return wall, steps

    def summary(steps: list[dict]) -> dict:
        kinds: dict[str, list[float]] = {}
        for s in steps:
            kind = "prefill" if s["prefill"] else f"decode {s['decode']}"
            kinds.setdefault(kind, []).append(s["gpu_ms"])
        return {
            k: {"steps": len(v), "gpu_ms": sum(v), "mean_ms": sum(v) / len(v)}
            for k, v in kinds.items()
        }

    data = {**device_info(), "runs": []}
    run(4, 8, 0.0)
    for temp in (float(t) for t in args.temperature.split(",")):
        for n in (int(b) for b in args.batches.split(",")):
            run(n, 129, temp)
            w1, s1 = run(n, 1, temp)
            w129, s129 = run(n, 129, temp)
            rec = {
                "batch": n,
                "temperature": temp,
                "t1_s": w1,
                "t129_s": w129,
                "steps1": s1,
                "steps129": s129,
                "ms_per_step": (w129 - w1) / 128 * 1e3,
            }
            data["runs"].append(rec)
            print(
                f"\nN={n} temperature {temp}: t1 {w1:.3f} s, t129 {w129:.3f} s -> {rec['ms_per_step']:.2f} ms/step"
            )
            for label, steps, wall in (("t1", s1, w1), ("t129", s129, w129)):
                gpu = sum(s["gpu_ms"] for s in steps)
                idle = sum(s["idle_ms"] for s in steps)
                print(
                    f"  {label}: {len(steps)} steps, GPU {gpu:.1f} ms, idle between steps {idle:.1f} ms, "
                    f"wall {wall * 1e3:.1f} ms"
                )
                for kind, v in sorted(summary(steps).items(), key=lambda kv: -kv[1]["gpu_ms"]):
                    if v["gpu_ms"] > 5 or kind == "prefill":
                        print(
                            f"    {kind:12s} {v['steps']:4d} steps  {v['gpu_ms']:9.1f} ms  mean {v['mean_ms']:7.2f}"
                        )
            pre1 = sum(s["gpu_ms"] for s in s1 if s["prefill"])
            pre129 = sum(s["gpu_ms"] for s in s129 if s["prefill"])
            dec = [s["gpu_ms"] for s in s129 if not s["prefill"]]
            full = [s["gpu_ms"] for s in s129 if not s["prefill"] and s["decode"] == n]
            print(
                f"  prefill-carrying steps: t129 {pre129:.1f} ms vs t1 {pre1:.1f} ms (+{pre129 - pre1:.1f}); "
                f"decode-only: {len(dec)} steps {sum(dec):.1f} ms; at all {n} rows: {len(full)} steps, "
                f"median {np.median(full) if full else float('nan'):.2f} ms"
            )
    # the same decode steps outside the engine, at the decode phase's mean context: what the engine adds
    from forward import step_cmd, time_pipelined

    for n in (int(b) for b in args.batches.split(",")):
        per_seq = -(-(PROMPT + 64) // 16)
        cmd = step_cmd(
            [1] * n, [PROMPT + 64] * n, [i * per_seq for i in range(n)], LLAMA3_8B["vocab_size"]
        )
        cmd.temperature[:] = float(args.temperature.split(",")[-1])
        data.setdefault("bare_ms", {})[n] = ms = time_pipelined(runner, cmd)
        print(f"bare pipelined decode step, {n} rows at context {PROMPT + 64}: {ms:.2f} ms")
    write_results("step_trace", data)


if __name__ == "__main__":
    main()
