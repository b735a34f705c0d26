"""Session 52: a decode step's kernels at N rows, in whichever tree is first on PYTHONPATH.

On one H200 (bench/results/h200/bridge_s52_d43828a) bench/bridge.py read this tree's 256-row decode step 1.2 %
slower than 74a2896's (four pairs: 74a2896 / ours 0.979 / 1.002 / 0.987 / 0.984), where at 1-128 rows it is
3-9 % faster. This says which kernels differ: for each N it profiles LLM.generate(N prompts of 1,024 random
tokens) at max_tokens STEPS + 1 and at max_tokens 1 with torch.profiler (device time of each kernel name),
and prints (long - short) / STEPS for each name, the step's kernels one by one, largest first. Unprofiled
medians of the same two generates give the step's wall time beside it. Only LLM, SamplingParams and generate
are asked of the tree, so 74a2896 runs it too; run each tree in its own process and compare the JSONs with
`compare` (kernel names that differ between the trees are listed on their own).

    SWIFTLLM_COMMIT=X PYTHONPATH=TREE:/tmp/site python3 bench/results/h200/decode_kernels_s52.py OUT.json \\
        [--batches 256] [--steps 32] [--model DIR]
    python3 bench/results/h200/decode_kernels_s52.py compare REF.json OURS.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2]


def profile_kernels(run: object, device: str) -> dict[str, float]:
    """ms of each kernel name over one call of `run` (device time on CUDA, CPU time elsewhere: a dry run)."""
    import torch

    cuda = device == "cuda"
    activity = torch.profiler.ProfilerActivity.CUDA if cuda else torch.profiler.ProfilerActivity.CPU
    with torch.profiler.profile(activities=[activity]) as prof:
        run()
    kernels: dict[str, float] = {}
    for event in prof.key_averages():
        if cuda:
            us = getattr(event, "device_time_total", None) or getattr(event, "cuda_time_total", 0)
        else:
            us = event.self_cpu_time_total
        if us:
            kernels[event.key[:100]] = us / 1e3
    return kernels


def measure(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    import swiftllm
    from swiftllm.llm import LLM
    from swiftllm.sampling_params import SamplingParams

    sys.path.insert(1, str(BENCH))  # after the tree: bench/common.py would put this checkout first
    from common import LLAMA3_8B, config_dir

    model = args.model or config_dir(LLAMA3_8B)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    options = {"load_format": "dummy", "max_model_len": 2048, "max_num_batched_tokens": 16384}
    if device == "cuda":
        options["dtype"] = "bfloat16"
    llm = LLM(model, **options)
    vocab = json.loads((Path(model) / "config.json").read_text())["vocab_size"]
    rng = np.random.default_rng(0)
    result: dict = {
        "swiftllm": str(Path(swiftllm.__file__).parent),
        "device": device,
        "steps": args.steps,
    }
    if device == "cuda":
        result["device"] = torch.cuda.get_device_name()

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    def generate(n: int, max_tokens: int) -> float:
        prompts = [rng.integers(0, vocab, args.prompt_tokens).tolist() for _ in range(n)]
        params = SamplingParams(max_tokens=max_tokens, ignore_eos=True, temperature=0.0)
        sync()
        start = time.perf_counter()
        llm.generate(prompts, params)
        sync()
        return time.perf_counter() - start

    generate(4, 8)  # kernels compiled, graphs replayed once
    for n in [int(b) for b in args.batches.split(",")]:
        generate(n, args.steps + 1)  # first-use costs at this batch stay out
        pairs = [(generate(n, 1), generate(n, args.steps + 1)) for _ in range(args.repeats)]
        wall_ms = (
            statistics.median(long for _, long in pairs) - statistics.median(s for s, _ in pairs)
        ) / args.steps
        short = profile_kernels(lambda n=n: generate(n, 1), device)
        long = profile_kernels(lambda n=n: generate(n, args.steps + 1), device)
        per_step = {
            name: (long.get(name, 0.0) - short.get(name, 0.0)) / args.steps
            for name in set(short) | set(long)
        }
        ordered = dict(sorted(per_step.items(), key=lambda item: -item[1]))
        result[str(n)] = {"wall_ms_per_step": wall_ms * 1e3, "kernels_ms_per_step": ordered}
        total = sum(value for value in ordered.values() if value > 0)
        print(
            f"N={n}: {wall_ms * 1e3:.3f} ms a step (wall), kernels {total:.3f} ms a step",
            flush=True,
        )
        for name, ms in list(ordered.items())[:16]:
            print(f"  {ms * 1e3:9.1f} us  {name}")
    Path(args.out).write_text(json.dumps(result, indent=1))


def compare(reference_path: str, ours_path: str) -> None:
    reference = json.loads(Path(reference_path).read_text())
    ours = json.loads(Path(ours_path).read_text())
    for n in [key for key in ours if key.isdigit() and key in reference]:
        ref_kernels = reference[n]["kernels_ms_per_step"]
        our_kernels = ours[n]["kernels_ms_per_step"]
        ref_wall = reference[n]["wall_ms_per_step"]
        our_wall = ours[n]["wall_ms_per_step"]
        print(f"N={n}: wall ms a step, reference {ref_wall:.3f}, ours {our_wall:.3f}")
        print(
            f"  {'reference us':>12} {'ours us':>9} {'ours-ref':>9}  kernel (by name, in both trees)"
        )
        shared = sorted(
            set(ref_kernels) & set(our_kernels), key=lambda k: -abs(our_kernels[k] - ref_kernels[k])
        )
        for name in shared[:20]:
            ref_us = ref_kernels[name] * 1e3
            our_us = our_kernels[name] * 1e3
            print(f"  {ref_us:12.1f} {our_us:9.1f} {our_us - ref_us:9.1f}  {name}")
        for label, mine, theirs in (
            ("reference", ref_kernels, our_kernels),
            ("ours", our_kernels, ref_kernels),
        ):
            only = {name: ms for name, ms in mine.items() if name not in theirs and abs(ms) > 1e-4}
            total = sum(only.values()) * 1e3
            print(f"  only in {label}: {len(only)} names, {total:.1f} us a step")
            for name, ms in sorted(only.items(), key=lambda item: -abs(item[1]))[:10]:
                print(f"    {ms * 1e3:9.1f} us  {name}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--batches", default="256")
    ap.add_argument(
        "--steps", type=int, default=32, help="decode steps a long generate adds over a short one"
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--prompt-tokens", type=int, default=1024)
    ap.add_argument(
        "--model", default=None, help="model directory (default: the Llama-3-8B shape, dummy)"
    )
    measure(ap.parse_args())


if __name__ == "__main__":
    main()
