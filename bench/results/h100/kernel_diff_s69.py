"""Session 69: which kernels make this tree's 256-row decode step slower than 74a2896's? (session 68's H100 bridge:
19.74 ms for 74a2896, 19.90 for ours; session 52's H200 bridge: ours 1.2 % behind at 256 rows.)

    PYTHONPATH=TREE python3 bench/results/h100/kernel_diff_s69.py profile --model DIR --out FILE [--batch 256]
    python3 bench/results/h100/kernel_diff_s69.py compare A.json B.json

profile: the bridge's decode method at one batch (random 1024-token prompts, greedy, ignore_eos, the tree's own
defaults, token budget 16,384), under torch.profiler: one generate of 1 token and one of 33, after an untimed
run of each; each kernel's GPU µs in the second less the first, over 32, is its µs a decode step (kernels
inside CUDA graph replays are recorded by CUPTI as any other). Written with the total and the wall ms a step.
compare: both files' kernels by µs a step, the sum, and the kernels whose time differs most."""

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

STEPS = 32


def kernel_us(prof) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for event in prof.events():
        if event.device_type.name == "CUDA":
            totals[event.name] += event.device_time
    return totals


def profile(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    import swiftllm
    from swiftllm.llm import LLM
    from swiftllm.sampling_params import SamplingParams

    options = {"load_format": "dummy", "dtype": "bfloat16", "max_num_batched_tokens": 16384}
    llm = LLM(args.model, max_model_len=2048, **options)
    config = json.loads((Path(args.model) / "config.json").read_text())
    rng = np.random.default_rng(0)

    def run(tokens: int) -> float:
        prompts = [rng.integers(0, config["vocab_size"], 1024).tolist() for _ in range(args.batch)]
        params = SamplingParams(max_tokens=tokens, ignore_eos=True, temperature=0.0)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        llm.generate(prompts, params)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter() - start

    run(1)
    run(STEPS + 1)
    activities = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    measured = {}
    for tokens in (1, STEPS + 1):
        with torch.profiler.profile(activities=activities) as prof:
            seconds = run(tokens)
        measured[tokens] = (seconds, kernel_us(prof))
    short_s, short = measured[1]
    long_s, long = measured[STEPS + 1]
    per_step = {name: (long[name] - short.get(name, 0.0)) / STEPS for name in long}
    data = {
        "swiftllm": str(Path(swiftllm.__file__).parent),
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "batch": args.batch,
        "wall_ms_per_step_profiled": (long_s - short_s) / STEPS * 1e3,
        "kernel_us_per_step": dict(sorted(per_step.items(), key=lambda item: -item[1])),
    }
    data["sum_us_per_step"] = sum(per_step.values())
    Path(args.out).write_text(json.dumps(data, indent=1))
    print(
        f"{data['swiftllm']}: {data['sum_us_per_step']:.0f} us of kernels a step, "
        f"wall {data['wall_ms_per_step_profiled']:.3f} ms (profiled)"
    )
    for name, us in list(data["kernel_us_per_step"].items())[:12]:
        print(f"  {us:9.1f} us  {name[:110]}")


def compare(a_path: str, b_path: str) -> None:
    a = json.loads(Path(a_path).read_text())
    b = json.loads(Path(b_path).read_text())
    print(
        f"A {a['swiftllm']}: {a['sum_us_per_step']:.0f} us a step, wall {a['wall_ms_per_step_profiled']:.3f} ms"
    )
    print(
        f"B {b['swiftllm']}: {b['sum_us_per_step']:.0f} us a step, wall {b['wall_ms_per_step_profiled']:.3f} ms"
    )
    ak, bk = a["kernel_us_per_step"], b["kernel_us_per_step"]
    names = set(ak) | set(bk)
    diffs = sorted(names, key=lambda name: -abs(bk.get(name, 0.0) - ak.get(name, 0.0)))
    print(f"{'A us':>9} {'B us':>9} {'B-A':>8}  kernel (the 15 that differ most)")
    for name in diffs[:15]:
        print(
            f"{ak.get(name, 0.0):9.1f} {bk.get(name, 0.0):9.1f} "
            f"{bk.get(name, 0.0) - ak.get(name, 0.0):8.1f}  {name[:100]}"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("profile", "compare"))
    ap.add_argument("files", nargs="*")
    ap.add_argument("--model")
    ap.add_argument("--out")
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args()
    if args.mode == "compare":
        compare(*args.files)
    else:
        profile(args)


if __name__ == "__main__":
    sys.exit(main())
