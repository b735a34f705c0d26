"""What an eager mixed step (a prompt above the piecewise graphs' 512 tokens, plus a few decodes) costs the
host and the GPU, for prompt lengths seen for the first time and again: the served H200's slowest first
tokens were such steps, their launch (host) as long as their GPU time.

    PYTHONPATH=. python3 bench/eager_step.py [--lengths 531,587,636,710,955] [--decodes 3]

Prints per step: the prompt length, whether that length was seen before, the host's ms in
ModelRunner.launch and the step's GPU ms (CUDA events); then the same for cuBLAS alone (F.linear at
Llama-3-8B's four shapes, new row counts and repeated ones); then the host-side profile of one new-length
step, the top operations by self CPU time. Writes results/eager_step.json."""

from __future__ import annotations

import argparse
import time

import torch
from common import LLAMA3_8B, config_dir, device_info, write_results
from forward import step_cmd

from swiftllm.worker.model_runner import ModelRunner, WorkerConfig

CONTEXT = 500  # the decodes' context


def time_step(runner: ModelRunner, prompt: int, decodes: int, per_seq: int) -> dict:
    rows = decodes + 1
    cmd = step_cmd(
        [1] * decodes + [prompt],
        [CONTEXT] * decodes + [prompt],
        [i * per_seq for i in range(rows)],
        LLAMA3_8B["vocab_size"],
    )
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    step = runner.launch(cmd)
    host = (time.perf_counter() - t0) * 1e3
    result = runner.collect(step)
    return {"prompt": prompt, "host_ms": host, "gpu_ms": result.timings["gpu_ms"]}


def time_linear(rows: int, weight: torch.Tensor) -> float:
    x = torch.randn(rows, weight.shape[1], dtype=weight.dtype, device="cuda")
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    torch.nn.functional.linear(x, weight)
    host = (time.perf_counter() - t0) * 1e3
    torch.cuda.synchronize()
    return host


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lengths", default="531,587,636,710,955")
    ap.add_argument("--decodes", type=int, default=3)
    args = ap.parse_args()
    lengths = [int(x) for x in args.lengths.split(",")]
    runner = ModelRunner(
        WorkerConfig(model=config_dir(LLAMA3_8B), load_format="dummy", dtype="bfloat16")
    )
    per_seq = -(-max(lengths + [CONTEXT]) // 16) + 2
    runner.init_cache(16, (args.decodes + 1) * per_seq + 16, 1, 131072)
    time_step(runner, 600, args.decodes, per_seq)  # compile and warm up at one eager length
    steps = []
    for seen in (False, True):
        for prompt in lengths:
            steps.append({**time_step(runner, prompt, args.decodes, per_seq), "seen": seen})
    linears = []
    layer = runner.weights.layers[0]
    shapes = {"qkv": layer.qkv, "o": layer.o_proj, "gate_up": layer.gate_up, "down": layer.down}
    for seen in (False, True):
        for rows in [n + 1 for n in lengths]:
            host = sum(time_linear(rows, w) for w in shapes.values())
            linears.append({"rows": rows, "seen": seen, "host_ms_4_linears": host})
    prof_len = 777
    activities = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=activities) as prof:
        time_step(runner, prof_len, args.decodes, per_seq)
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15)
    kernels_ms = sum(
        e.device_time_total
        for e in prof.events()
        if e.device_type == torch.autograd.DeviceType.CUDA
    )
    kernels_ms /= 1e3
    write_results(
        "eager_step",
        {
            **device_info(),
            "steps": steps,
            "linears": linears,
            "profile": table,
            "profiled_kernels_ms": kernels_ms,
        },
    )
    print(f"\nhost-side profile of one eager step, prompt {prof_len} (new), {args.decodes} decodes")
    print(table)
    print(f"its GPU kernels: {kernels_ms:.2f} ms in all")
    print("cuBLAS alone: host ms for Llama-3-8B's four linears at once (qkv, o, gate_up, down)")
    for row in linears:
        print(
            f"  rows {row['rows']:5d} {'again' if row['seen'] else 'new  '} {row['host_ms_4_linears']:8.3f}"
        )
    print(f"eager steps: a prompt plus {args.decodes} decodes at context {CONTEXT}")
    print(f"{'prompt':>7} {'seen':>5} {'host ms':>8} {'gpu ms':>8}")
    for s in steps:
        print(
            f"{s['prompt']:7d} {'again' if s['seen'] else 'new':>5} {s['host_ms']:8.2f} {s['gpu_ms']:8.2f}"
        )


if __name__ == "__main__":
    main()
