"""Shared by the GPU benchmarks: ceilings measured in the same run, dummy models, result files."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from run_info import RESULTS, git_commit, utc_now
from shapes import LLAMA3_8B, QWEN2_HEAD80, SMOLLM2  # noqa: F401 (the scripts import the shapes from here)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


# vLLM 0.24 on the lent H200, 2026-12-01, greedy, token budget 16384 (timed by the same script as ours)
VLLM_DECODE_MS = {1: 4.94, 8: 5.28, 32: 6.34, 64: 7.76, 128: 10.56, 256: 17.94}


def config_dir(cfg: dict, **overrides: object) -> str:
    path = tempfile.mkdtemp(prefix="swiftllm-bench-")
    Path(path, "config.json").write_text(json.dumps({**cfg, **overrides}))
    return path


def model_bytes(w: object) -> int:
    """Bytes of a ModelWeights' distinct tensors (a tied LM head counts once)."""
    tensors = [w.embed, w.norm, w.lm_head] + [
        t for lw in w.layers for t in vars(lw).values() if t is not None
    ]
    return sum({t.data_ptr(): t.numel() * t.element_size() for t in tensors}.values())


def device_info() -> dict:
    props = torch.cuda.get_device_properties(0)
    return {
        "device": props.name,
        "sms": props.multi_processor_count,
        "torch": torch.__version__,
        "date": utc_now(),
        "commit": git_commit(),
    }


def time_cuda(fn, warmup: int = 3, iters: int = 10) -> float:  # noqa: ANN001
    """Median milliseconds of fn() by CUDA events."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return sorted(times)[len(times) // 2]


# One measurement of each ceiling moves as much within a process as between processes. Call 3 of session 22
# (bench/results/h200/device_call_s22_ceil_var.log) took five rounds 0.3 s apart in each of three processes:
# copy 4.05-4.22 TB/s and matmul 725-767 TFLOP/s, while each process's best was 4.216-4.220 TB/s and 755-767.
# The floor is what the hardware can do, so ceilings() keeps the best round of each. A warm-up of 0.5 s of the
# ceiling's own work instead (call 2, device_call_s22_ceil.log) lowered the matmul rate to 648-679 TFLOP/s: the
# power cap, which would flatter every compute-bound roofline.
CEILING_ROUNDS = 5
CEILING_PAUSE_S = 0.3


def measure_ceilings() -> dict:
    """One round: copy bandwidth (bytes read + written per second) and the bf16 matmul rate."""
    n = 2 << 30
    buf = torch.empty(2, n, dtype=torch.uint8, device="cuda")
    buf[0].random_(0, 255)
    ms = time_cuda(lambda: buf[1].copy_(buf[0]), iters=20)
    buf = None
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    mm = time_cuda(lambda: a @ b, warmup=5, iters=20)
    return {"copy_bw_Bps": 2 * n / (ms / 1e3), "matmul_flops": 2 * 8192**3 / (mm / 1e3)}


def best_ceilings(rounds: list[dict]) -> dict:
    """Each ceiling's best (highest) value over the rounds."""
    return {key: max(one[key] for one in rounds) for key in rounds[0]}


def ceilings(rounds: int = CEILING_ROUNDS, measure: Callable[[], dict] = measure_ceilings) -> dict:
    """Copy bandwidth and the bf16 matmul rate measured now: the best of `rounds` rounds, CEILING_PAUSE_S apart."""
    results = []
    for i in range(rounds):
        if i > 0:
            time.sleep(CEILING_PAUSE_S)
        results.append(measure())
    return best_ceilings(results)


def write_results(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=1))
    return path


def time_graph(fn, reps: int = 20, iters: int = 10) -> float:  # noqa: ANN001
    """Median GPU milliseconds of one fn() call: `reps` calls captured in a CUDA graph, replayed, so that
    host launch costs (which a step's graph removes) stay out of the figure. (The warm-up outside the capture
    runs the `reps` calls too, since session 37: one capture helper, replay_ms.)"""
    ms, _ = replay_ms(lambda: [fn() for _ in range(reps)], warmup=2, iters=iters)
    return ms / reps


def replay_ms(fn, warmup: int = 2, iters: int = 10) -> tuple[float, object]:  # noqa: ANN001
    """Median ms of one replay of fn's launches captured once in a CUDA graph, and what fn returned during
    the capture (its tensors hold the replay's results, for a check against another form)."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        fn()  # compile and warm up outside the capture
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = fn()
    return time_cuda(graph.replay, warmup=warmup, iters=iters), out


def kernel_times(prof: torch.profiler.profile, steps: int) -> dict[str, tuple[float, float]]:
    """Each CUDA kernel's (and copy's) microseconds and calls per step in a torch.profiler capture of
    `steps` steps, by name (cut to 60 characters)."""
    by_kernel: dict[str, tuple[float, float]] = {}
    for e in prof.events():
        if e.device_type == torch.autograd.DeviceType.CUDA:
            name = e.name if len(e.name) < 60 else e.name[:57] + "..."
            us, calls = by_kernel.get(name, (0.0, 0.0))
            by_kernel[name] = (us + e.device_time_total / steps, calls + 1 / steps)
    return by_kernel


def print_kernel_table(by_kernel: dict[str, tuple[float, float]], limit: int = 22) -> None:
    total = sum(us for us, _ in by_kernel.values())
    print(f"{'kernel':60s} {'us/step':>8} {'calls':>6} {'us/call':>8} {'share':>6}")
    for name, (us, calls) in sorted(by_kernel.items(), key=lambda kv: -kv[1][0])[:limit]:
        print(f"{name:60s} {us:8.1f} {calls:6.0f} {us / max(calls, 1):8.2f} {us / total:6.1%}")
