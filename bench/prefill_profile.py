"""Where a long prefill's GPU time goes, operation by operation, against the matmul rate sustained for as
long as the prefill runs.

Issue 16's prefill target: one 8,192-token prompt at >= 0.85 of the bf16 matmul rate. The H200's power cap
lowers its clocks under long work, so the rate is measured by 8192^3 matmuls run back to back for about as
long as the profiled prefills (before them and again after), not by a short burst.

    PYTHONPATH=. python3 bench/prefill_profile.py [--tokens 8192] [--steps 5]

Llama-3-8B shape, dummy bf16 weights, one sequence, eager (a prefill above 2,048 tokens runs no graph).
Prints each operation class's GPU milliseconds per prefill, its FLOPs and its rate as a share of the
matmul rate, then the whole step's; writes results/prefill_profile.json."""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from dataclasses import asdict, dataclass

import torch
from common import LLAMA3_8B, config_dir, device_info, write_results

from swiftllm.worker.model_runner import ModelRunner, WorkerConfig

# kernel-name keywords per operation class, first match wins (names lower-cased; cuBLAS's Hopper GEMMs are
# nvjet_* or sm90_xmma_*, ours are Triton's function names)
CLASSES = (
    ("attention", ("prefill_kernel", "attn", "flash", "fmha")),
    ("linear", ("gemm", "nvjet", "xmma", "cutlass", "gemv", "matmul")),
    ("rms_norm", ("rms_norm", "rmsnorm")),
    ("rotary + kv store", ("rotary",)),
    ("silu x mul", ("silu",)),
    ("sampling", ("inverse_cdf", "sample", "argmax", "softmax", "topk", "sort")),
)
OTHER = "other (embedding, copies, elementwise)"


def op_class(kernel_name: str) -> str:
    name = kernel_name.lower()
    for label, keywords in CLASSES:
        if any(keyword in name for keyword in keywords):
            return label
    return OTHER


@dataclass(frozen=True)
class PrefillFlops:
    """FLOPs of one prefill of `tokens` tokens, by the class that does them."""

    linear: float  # the projections and the MLP of every layer, and the LM head on the last row
    attention: float  # QK^T and PV over the causal triangle

    @property
    def total(self) -> float:
        return self.linear + self.attention


def prefill_flops(cfg: dict, tokens: int) -> PrefillFlops:
    hidden = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    head_dim = hidden // heads
    kv_heads = cfg["num_key_value_heads"]
    layers = cfg["num_hidden_layers"]
    per_layer = (
        hidden * heads * head_dim  # q
        + 2 * hidden * kv_heads * head_dim  # k, v
        + heads * head_dim * hidden  # o
        + 3 * hidden * cfg["intermediate_size"]  # gate, up, down
    )
    linear = 2 * tokens * per_layer * layers + 2 * hidden * cfg["vocab_size"]
    causal_pairs = tokens * (tokens + 1) / 2
    attention = 4 * heads * head_dim * causal_pairs * layers  # two matmuls, 2 FLOPs a multiply-add
    return PrefillFlops(linear, attention)


def sustained_matmul_rate(seconds: float) -> float:
    """FLOP/s of 8192^3 bf16 matmuls run back to back for about `seconds` (after a warm-up)."""
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    a @ b
    end.record()
    end.synchronize()
    reps = max(3, int(seconds * 1e3 / start.elapsed_time(end)))
    start.record()
    for _ in range(reps):
        a @ b
    end.record()
    end.synchronize()
    return 2 * 8192**3 * reps / (start.elapsed_time(end) / 1e3)


@dataclass
class OpRow:
    op: str
    ms: float  # GPU milliseconds per prefill
    kernels: int  # launches per prefill
    flops: float | None  # for the classes that do matmuls
    share_of_matmul_rate: float | None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=8192)
    ap.add_argument("--steps", type=int, default=5)
    args = ap.parse_args()
    # here, not at the top: forward.py imports the kernels, and the tests import this file for its pure
    # parts (a kernel module imported before tests/kernels sets TRITON_INTERPRET stays compiled-only)
    from forward import step_cmd

    cfg = LLAMA3_8B
    runner = ModelRunner(WorkerConfig(model=config_dir(cfg), load_format="dummy", dtype="bfloat16"))
    blocks = -(-args.tokens // 16)
    runner.init_cache(16, blocks + 16, 1, args.tokens + 16)
    cmd = step_cmd([args.tokens], [args.tokens], [0], cfg["vocab_size"])
    for _ in range(2):  # compile and warm up
        runner.step(cmd)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.steps):
        runner.step(cmd)
    step_ms = (time.perf_counter() - start) / args.steps * 1e3
    rate_before = sustained_matmul_rate(step_ms * args.steps / 1e3)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        for _ in range(args.steps):
            runner.step(cmd)
        torch.cuda.synchronize()
    rate_after = sustained_matmul_rate(step_ms * args.steps / 1e3)
    rate = (rate_before + rate_after) / 2
    ms_by_class: dict[str, float] = defaultdict(float)
    kernels_by_class: dict[str, float] = defaultdict(float)
    for event in prof.events():
        if event.device_type == torch.autograd.DeviceType.CUDA:
            label = op_class(event.name)
            ms_by_class[label] += event.device_time_total / 1e3 / args.steps
            kernels_by_class[label] += 1 / args.steps
    flops = prefill_flops(cfg, args.tokens)
    flops_by_class = {"linear": flops.linear, "attention": flops.attention}
    rows = []
    for label, ms in sorted(ms_by_class.items(), key=lambda item: -item[1]):
        class_flops = flops_by_class.get(label)
        share = None
        if class_flops is not None and ms > 0:
            share = class_flops / (ms / 1e3) / rate
        rows.append(OpRow(label, ms, round(kernels_by_class[label]), class_flops, share))
    step_share = flops.total / (step_ms / 1e3) / rate
    write_results(
        "prefill_profile",
        {
            **device_info(),
            "tokens": args.tokens,
            "step_ms": step_ms,
            "flops": flops.total,
            "matmul_rate_before": rate_before,
            "matmul_rate_after": rate_after,
            "step_share_of_matmul_rate": step_share,
            "ops": [asdict(row) for row in rows],
        },
    )
    print(
        f"\n{device_info()['device']}  commit {device_info()['commit']}  prefill 1 x {args.tokens} tokens, "
        f"Llama-3-8B shape: {step_ms:.1f} ms a step (wall), {flops.total / 1e12:.1f} TFLOP; sustained "
        f"matmul rate {rate_before / 1e12:.0f} TFLOP/s before, {rate_after / 1e12:.0f} after"
    )
    print(f"{'operation':40s} {'GPU ms':>8} {'share':>6} {'kernels':>8} {'TFLOP':>7} {'x rate':>7}")
    total_ms = sum(row.ms for row in rows)
    for row in rows:
        tflop = "-" if row.flops is None else f"{row.flops / 1e12:.1f}"
        share = "-" if row.share_of_matmul_rate is None else f"{row.share_of_matmul_rate:.2f}"
        print(
            f"{row.op:40s} {row.ms:8.2f} {row.ms / total_ms:6.1%} {row.kernels:8d} {tflop:>7} {share:>7}"
        )
    print(f"whole step: {step_share:.2f} of the matmul rate (issue 16's target: 0.85)")


if __name__ == "__main__":
    main()
