"""Where a decode step's GPU time goes, kernel by kernel: torch.profiler over CUDA graph replays of the
Llama-3-8B shape (dummy bf16), at the mean context of bench/latency.py's decode phase.

    PYTHONPATH=. python3 bench/profile_step.py [--batches 32,64] [--context 1088] [--scatter] [--no-pdl]

--scatter gives each sequence its KV blocks in a random order (as a long-running block pool would), instead
of one contiguous run. Prints, per batch, each kernel's GPU microseconds per step and its share, and the sum
beside the step's own time unprofiled (launched as the engine launches them, the next before the last is
collected). Under PDL a kernel starts before its predecessor ends and counts the wait as its own time, so the
sum can exceed the step; --no-pdl launches every kernel without it (set before the graphs are captured), so
that each kernel's time is its own and the step minus the sum is what the kernel boundaries cost."""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from common import LLAMA3_8B, config_dir, kernel_times, print_kernel_table
from forward import step_cmd, time_pipelined

from swiftllm.kernels import pdl
from swiftllm.worker.model_runner import ModelRunner, WorkerConfig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="32,64")
    ap.add_argument("--context", type=int, default=1088)
    ap.add_argument("--scatter", action="store_true")
    ap.add_argument("--no-pdl", action="store_true", help="every kernel launched without PDL")
    ap.add_argument(
        "--prefill-chunks",
        default="",
        help="COUNTxTOKENS: that many fresh prompt chunks join each batch (a mixed step, eager above 512 "
        "tokens); e.g. 6x200 with --batches 495 --context 263 is bench/throughput.py's mean mixed step",
    )
    args = ap.parse_args()
    num_chunks = 0
    chunk_tokens = 0
    if args.prefill_chunks:
        count, tokens = args.prefill_chunks.split("x")
        num_chunks = int(count)
        chunk_tokens = int(tokens)
    batches = [int(x) for x in args.batches.split(",")]
    if args.no_pdl:
        # the kernels read it at each launch; the graphs capture it at init_cache
        pdl.ENABLED = False
    runner = ModelRunner(
        WorkerConfig(model=config_dir(LLAMA3_8B), load_format="dummy", dtype="bfloat16")
    )
    per_seq = max(-(-args.context // 16), -(-chunk_tokens // 16)) + 2
    runner.init_cache(16, (max(batches) + num_chunks) * per_seq + 16, 1, 2048)
    for b in batches:
        rows = b + num_chunks
        cmd = step_cmd(
            [1] * b + [chunk_tokens] * num_chunks,
            [args.context] * b + [chunk_tokens] * num_chunks,
            [i * per_seq for i in range(rows)],
            LLAMA3_8B["vocab_size"],
        )
        if args.scatter:
            perm = np.random.default_rng(0).permutation(rows * per_seq).astype(np.int32)
            cmd.block_table[:] = perm[cmd.block_table]
        for _ in range(3):
            runner.step(cmd)
        step_ms = time_pipelined(runner, cmd)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        steps = 10
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
            for _ in range(steps):
                runner.step(cmd)
            torch.cuda.synchronize()
        wall = (time.perf_counter() - t0) / steps * 1e3
        by_kernel = kernel_times(prof, steps)
        total = sum(us for us, _ in by_kernel.values())
        print(
            f"\nbatch {b}, context {args.context}{' (scattered blocks)' if args.scatter else ''}"
            f"{f', + {num_chunks} prompt chunks of {chunk_tokens}' if num_chunks else ''}: "
            f"GPU kernels {total / 1e3:.2f} ms per step; the step unprofiled {step_ms:.2f} ms"
            f"{' (no PDL)' if args.no_pdl else ''}; wall {wall:.2f} ms (profiled)"
        )
        print_kernel_table(by_kernel)


if __name__ == "__main__":
    main()
