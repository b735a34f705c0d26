"""Session 51: where a prefill's time goes, kernel by kernel, in whichever tree is first on PYTHONPATH.

bench/bridge.py found this tree's t(1) (N prompts of 1,024 tokens, max_tokens 1: almost all prefill) 2.4-6.6 %
slower than 74a2896's at every N on one H100 (bench/results/h100/bridge_s51_764ae15). This times
LLM.generate(8 or 16 prompts of 1,024 random tokens, max_tokens=1) unprofiled (median of 5), then profiles
3 of them with torch.profiler and prints the device time of each kernel name a generate, largest first.
Only LLM, SamplingParams and generate are asked of the tree, so 74a2896 runs it too.

    SWIFTLLM_COMMIT=X PYTHONPATH=TREE:/tmp/site python3 bench/results/h100/prefill_kernels_s51.py OUT.json
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

import swiftllm
from swiftllm.llm import LLM
from swiftllm.sampling_params import SamplingParams

BENCH = Path(__file__).resolve().parents[2]
sys.path.insert(
    1, str(BENCH)
)  # after the tree: bench/common.py puts its own checkout first, too late now
from common import LLAMA3_8B, config_dir  # noqa: E402


def main() -> None:
    out = Path(sys.argv[1])
    llm = LLM(
        config_dir(LLAMA3_8B),
        load_format="dummy",
        dtype="bfloat16",
        max_model_len=2048,
        max_num_batched_tokens=16384,
    )
    rng = np.random.default_rng(0)
    params = SamplingParams(max_tokens=1, ignore_eos=True, temperature=0.0)
    result = {
        "swiftllm": str(Path(swiftllm.__file__).parent),
        "device": torch.cuda.get_device_name(),
    }
    for n in (8, 16):

        def generate(n: int = n) -> float:
            prompts = [rng.integers(0, 128256, 1024).tolist() for _ in range(n)]
            torch.cuda.synchronize()
            start = time.perf_counter()
            llm.generate(prompts, params)
            torch.cuda.synchronize()
            return time.perf_counter() - start

        for _ in range(2):
            generate()
        seconds = [generate() for _ in range(5)]
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
            for _ in range(3):
                generate()
        kernels = {}
        for event in prof.key_averages():
            us = getattr(event, "device_time_total", None) or getattr(event, "cuda_time_total", 0)
            if us:
                kernels[event.key[:90]] = us / 3 / 1e3  # ms a generate
        ordered = dict(sorted(kernels.items(), key=lambda item: -item[1]))
        total = sum(ordered.values())
        median = statistics.median(seconds)
        result[str(n)] = {"seconds": seconds, "kernels_ms": ordered, "kernels_total_ms": total}
        print(f"N={n}: generate median {median * 1e3:.1f} ms, kernels {total:.1f} ms a generate")
        for name, ms in list(ordered.items())[:14]:
            print(f"  {ms:8.2f} ms  {name}")
    out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
