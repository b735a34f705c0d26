"""What a mixed step (a prompt plus a few decodes) costs the host and the GPU, on mixed CUDA graphs or eager
(above the graphs' largest size), for prompt lengths seen for the first time and again. Written when the
served H200's slowest first tokens were eager steps of 529-955-token prompts, whose launch (host) took as
long as their GPU time; graphs now reach 2,048 tokens (piecewise at first, whole since session 14).

    PYTHONPATH=. python3 bench/eager_step.py [--lengths 133,300,500,531,587,636,710,955,1500] [--decodes 3]

Prints the host's ms for cuBLAS alone (F.linear at Llama-3-8B's four shapes, new row counts and repeated
ones); then per prompt length: whether a CUDA graph holds the step, the host's ms in ModelRunner.launch and
the step's GPU ms (CUDA events) the first time that length is seen and again, and the GPU kernels' own ms
(torch.profiler). When the host's ms is about the GPU's and above the kernels', the host bounds the step.
Writes results/eager_step.json."""

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
    ap.add_argument("--lengths", default="133,300,500,531,587,636,710,955,1500")
    ap.add_argument("--decodes", type=int, default=3)
    args = ap.parse_args()
    lengths = [int(x) for x in args.lengths.split(",")]
    runner = ModelRunner(
        WorkerConfig(model=config_dir(LLAMA3_8B), load_format="dummy", dtype="bfloat16")
    )
    per_seq = -(-max(lengths + [CONTEXT]) // 16) + 2
    runner.init_cache(16, (args.decodes + 1) * per_seq + 16, 1, 131072)
    time_step(runner, 600, args.decodes, per_seq)  # compile and warm up at one eager length
    time_step(runner, 200, args.decodes, per_seq)  # and one mixed-graph length
    steps = []
    for prompt in lengths:
        first = time_step(runner, prompt, args.decodes, per_seq)
        again = time_step(runner, prompt, args.decodes, per_seq)
        activities = [torch.profiler.ProfilerActivity.CUDA]
        with torch.profiler.profile(activities=activities) as prof:
            time_step(runner, prompt, args.decodes, per_seq)
        kernels_us = sum(
            e.device_time_total
            for e in prof.events()
            if e.device_type == torch.autograd.DeviceType.CUDA
        )
        steps.append(
            {
                "prompt": prompt,
                "new": first,
                "again": again,
                "kernels_ms": kernels_us / 1e3,
                "graphs": runner.graphs is not None
                and runner.graphs.can_replay(
                    step_cmd([prompt], [prompt], [0], LLAMA3_8B["vocab_size"])
                ),
            }
        )
    linears = []
    layer = runner.weights.layers[0]
    shapes = {"qkv": layer.qkv, "o": layer.o_proj, "gate_up": layer.gate_up, "down": layer.down}
    for seen in (False, True):
        for rows in [n + 1 for n in lengths]:
            host = sum(time_linear(rows, w) for w in shapes.values())
            linears.append({"rows": rows, "seen": seen, "host_ms_4_linears": host})
    write_results("eager_step", {**device_info(), "steps": steps, "linears": linears})
    print("cuBLAS alone: host ms for Llama-3-8B's four linears at once (qkv, o, gate_up, down)")
    for row in linears:
        seen = "again" if row["seen"] else "new  "
        print(f"  rows {row['rows']:5d} {seen} {row['host_ms_4_linears']:8.3f}")
    print(f"steps of one prompt plus {args.decodes} decodes at context {CONTEXT}; ms")
    print(
        f"{'prompt':>7} {'graphs':>6} {'host new':>9} {'gpu new':>8} {'host again':>10} {'gpu again':>9} {'kernels':>8}"
    )
    for s in steps:
        print(
            f"{s['prompt']:7d} {'yes' if s['graphs'] else 'no':>6} {s['new']['host_ms']:9.2f} "
            f"{s['new']['gpu_ms']:8.2f} {s['again']['host_ms']:10.2f} {s['again']['gpu_ms']:9.2f} "
            f"{s['kernels_ms']:8.2f}"
        )


if __name__ == "__main__":
    main()
