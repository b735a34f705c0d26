"""Where a decode step's GPU time goes, kernel by kernel: torch.profiler over CUDA graph replays of the
Llama-3-8B shape (dummy bf16), at the mean context of bench/latency.py's decode phase.

    PYTHONPATH=. python3 bench/profile_step.py [--batches 32,64] [--context 1088] [--scatter] [--no-pdl]

--scatter gives each sequence its KV blocks in a random order (as a long-running block pool would), instead
of one contiguous run. Prints, per batch, each kernel's GPU microseconds per step and its share, and the sum
beside the step's own time unprofiled (launched as the engine launches them, the next before the last is
collected). Under PDL a kernel starts before its predecessor ends and counts the wait as its own time, so the
sum can exceed the step; --no-pdl launches every kernel without it (set before the graphs are captured), so
that each kernel's time is its own and the step minus the sum is what the kernel boundaries cost.

Then the gap to the floor, by kind of kernel: each kind's floor is issue 16's roofline term for its
operations, max(bytes / copy bandwidth, FLOPs / matmul rate), both measured at the start of this run
(common.ceilings): the linears their weights (each projection and the LM head on its own), decode attention
the decode rows' K/V, prefill attention each chunk's K/V or causal FLOPs. The rest (RMSNorm, rotary + KV
store, SiLU x mul, sampling, copies) moves a few MB of activations and counts as no floor: all its time is
excess. One JSON per run (bench/results/profile_step_*.json, or $BENCH_OUT) holds every kernel and the table."""

from __future__ import annotations

import argparse
import time
from typing import NamedTuple

import numpy as np
import torch
from common import (
    LLAMA3_8B,
    ceilings,
    config_dir,
    device_info,
    kernel_times,
    print_kernel_table,
    write_results,
)
from forward import step_cmd, time_pipelined

from swiftllm.kernels import pdl
from swiftllm.worker.model_runner import ModelRunner, WorkerConfig

# kinds of kernel by a piece of their name (lower case); the first that matches wins
KERNEL_KINDS = {
    "linears": ("gemv", "nvjet", "gemm", "splitkreduce", "cutlass", "xmma"),
    "decode attention": ("_decode_kernel", "_reduce_kernel"),
    "prefill attention": ("_prefill_kernel",),
}
OTHER = "the rest (no floor)"


class StepShape(NamedTuple):
    """What a profiled step computes: decode rows at one context, and fresh prompt chunks."""

    decode_rows: int
    context: int
    chunks: int
    chunk_tokens: int


def kernel_kind(name: str) -> str:
    """The KERNEL_KINDS entry a kernel's name belongs to, else OTHER."""
    for kind, pieces in KERNEL_KINDS.items():
        if any(piece in name.lower() for piece in pieces):
            return kind
    return OTHER


def floors_us(shape: StepShape, cfg: dict, ceil: dict) -> dict[str, float]:
    """Each kind's floor in microseconds a step: issue 16's roofline term of its operations (bf16)."""
    bandwidth = ceil["copy_bw_Bps"]
    rate = ceil["matmul_flops"]
    layers = cfg["num_hidden_layers"]
    hidden = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    kv_heads = cfg["num_key_value_heads"]
    head_dim = hidden // heads
    rows = shape.decode_rows + shape.chunks * shape.chunk_tokens
    sampled = shape.decode_rows + shape.chunks

    def linear_s(out_features: int, in_features: int, linear_rows: int) -> float:
        params = out_features * in_features
        return max(2 * params / bandwidth, 2 * linear_rows * params / rate)

    projections = [
        ((heads + 2 * kv_heads) * head_dim, hidden),
        (hidden, heads * head_dim),
        (2 * cfg["intermediate_size"], hidden),
        (hidden, cfg["intermediate_size"]),
    ]
    linears = layers * sum(linear_s(out_f, in_f, rows) for out_f, in_f in projections)
    linears += linear_s(cfg["vocab_size"], hidden, sampled)
    kv_token_bytes = 2 * kv_heads * head_dim * 2  # K and V of one token in one layer
    decode = layers * shape.decode_rows * shape.context * kv_token_bytes / bandwidth
    chunk_bytes = shape.chunk_tokens * kv_token_bytes
    chunk_flops = 4 * heads * head_dim * shape.chunk_tokens * shape.chunk_tokens / 2  # causal
    prefill = layers * shape.chunks * max(chunk_bytes / bandwidth, chunk_flops / rate)
    return {
        "linears": linears * 1e6,
        "decode attention": decode * 1e6,
        "prefill attention": prefill * 1e6,
        OTHER: 0.0,
    }


def gap_rows(by_kernel: dict[str, tuple[float, float]], floors: dict[str, float]) -> list[dict]:
    """Per kind: measured microseconds a step, its floor, and the excess; a total row last."""
    measured = dict.fromkeys(floors, 0.0)
    for name, (us, _) in by_kernel.items():
        measured[kernel_kind(name)] += us
    rows = [{"kind": kind, "us": measured[kind], "floor_us": floors[kind]} for kind in floors]
    rows.append(
        {"kind": "all kernels", "us": sum(measured.values()), "floor_us": sum(floors.values())}
    )
    for row in rows:
        row["excess_us"] = row["us"] - row["floor_us"]
    return rows


def print_gap(rows: list[dict]) -> None:
    print(f"{'kind':22s} {'us/step':>8} {'floor us':>9} {'x floor':>8} {'excess us':>10}")
    for row in rows:
        ratio = "-"
        if row["floor_us"] > 0:
            ratio = f"{row['us'] / row['floor_us']:.2f}"
        print(
            f"{row['kind']:22s} {row['us']:8.1f} {row['floor_us']:9.1f} {ratio:>8} "
            f"{row['excess_us']:10.1f}"
        )


def disable_pdl() -> None:
    """Every kernel launched without PDL from now on: the launches read pdl.LAUNCH (PDL and launch_pdl) at each
    call and the graphs capture them at init_cache, so this must run before the runner's cache. Setting
    pdl.ENABLED alone no longer did it once the launches took pdl.LAUNCH (commit 909d5ef, 2026-12-05): session
    63's first --no-pdl runs were PDL runs."""
    pdl.ENABLED = False
    pdl.LAUNCH.update(PDL=False, launch_pdl=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="32,64")
    ap.add_argument("--context", type=int, default=1088)
    ap.add_argument("--scatter", action="store_true")
    ap.add_argument("--no-pdl", action="store_true", help="every kernel launched without PDL")
    ap.add_argument(
        "--prefill-chunks",
        default="",
        help="COUNTxTOKENS: that many fresh prompt chunks join each batch (a mixed step, eager above 2,048 "
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
    ceil = ceilings()
    data = {**device_info(), "ceilings": ceil, "pdl": not args.no_pdl, "steps": []}
    if args.no_pdl:
        disable_pdl()
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
        shape = StepShape(b, args.context, num_chunks, chunk_tokens)
        gap = gap_rows(by_kernel, floors_us(shape, LLAMA3_8B, ceil))
        print(
            f"gap to the floor (copy {ceil['copy_bw_Bps'] / 1e12:.2f} TB/s, "
            f"matmul {ceil['matmul_flops'] / 1e12:.0f} TFLOP/s, measured in this run):"
        )
        print_gap(gap)
        floor_ms = gap[-1]["floor_us"] / 1e3
        print(f"the step unprofiled: {step_ms:.2f} ms, {step_ms / floor_ms:.3f}x the floor")
        data["steps"].append(
            {
                **shape._asdict(),
                "scatter": args.scatter,
                "step_ms_unprofiled": step_ms,
                "kernels_us": {name: us for name, (us, _) in by_kernel.items()},
                "gap": gap,
            }
        )
    tag = "_".join(f"{s['decode_rows']}x{s['context']}" for s in data["steps"])
    if num_chunks:
        tag += f"_chunks{num_chunks}x{chunk_tokens}"
    path = write_results(f"profile_step_{tag}", data)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
