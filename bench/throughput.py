"""Offline throughput the way DESIGN.md's vLLM figure was taken: 1000 requests submitted at once, ignore_eos,
Llama-3-8B shape with dummy bf16 weights, 199,305 prompt + 198,953 output tokens in all.

    PYTHONPATH=. python3 bench/throughput.py [--requests 1000] [--max-batched-tokens 16384]

No ShareGPT file is reachable here, so the lengths are synthetic: log-normal (sigma 1), clipped to [4, 1024],
rescaled so that the totals equal the set vLLM ran (means ~199 prompt and ~199 output tokens per request).
Runs greedy and temperature 1.0 (vLLM's throughput benchmark samples at temperature 1.0). Writes
results/throughput.json; prints a table last, with vLLM's 25.6 s (15,564 total tokens/s) beside it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import LLAMA3_8B, ceilings, config_dir, device_info, write_results

from swiftllm.llm import LLM
from swiftllm.sampling_params import SamplingParams

PROMPT_TOKENS, OUTPUT_TOKENS, VLLM_S = 199_305, 198_953, 25.6


def lengths(rng: np.random.Generator, n: int, total: int) -> np.ndarray:
    """n log-normal lengths in [4, 1024] summing to total."""
    x = np.clip(rng.lognormal(0.0, 1.0, n), 1e-3, None)
    out = np.clip(np.round(x / x.sum() * total), 4, 1024).astype(int)
    for _ in range(100):  # clipping moved the sum: spread the difference over the unclipped lengths
        diff = total - out.sum()
        free = np.nonzero((out > 4) & (out < 1024))[0]
        if diff == 0 or not len(free):
            break
        step = np.sign(diff) * max(1, abs(diff) // len(free))
        idx = free[: min(len(free), abs(diff))]
        out[idx] = np.clip(out[idx] + step, 4, 1024)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--max-batched-tokens", type=int, default=16384)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    scale = args.requests / 1000
    p_lens = lengths(rng, args.requests, int(PROMPT_TOKENS * scale))
    o_lens = lengths(rng, args.requests, int(OUTPUT_TOKENS * scale))
    prompts = [rng.integers(0, LLAMA3_8B["vocab_size"], n).tolist() for n in p_lens]
    data = {
        **device_info(),
        "shape": "Llama-3-8B (dummy bf16)",
        "requests": args.requests,
        "prompt_tokens": int(p_lens.sum()),
        "output_tokens": int(o_lens.sum()),
        "max_num_batched_tokens": args.max_batched_tokens,
        "ceilings": ceilings(),
        "runs": [],
    }
    llm = LLM(
        config_dir(LLAMA3_8B),
        load_format="dummy",
        dtype="bfloat16",
        max_model_len=4096,
        max_num_batched_tokens=args.max_batched_tokens,
    )
    # warm-up at full steps and batches too: the caching allocator grows and the sampling kernel compiles outside
    # the timed runs (with only 8 short requests, the first timed run paid for them: 23.4 s against 21.1)
    llm.generate(prompts[:256], SamplingParams(max_tokens=8, ignore_eos=True, temperature=1.0))
    for temperature in (0.0, 1.0):
        params = [
            SamplingParams(max_tokens=int(n), ignore_eos=True, temperature=temperature, seed=i)
            for i, n in enumerate(o_lens)
        ]
        t0 = time.perf_counter()
        outs = llm.generate(prompts, params)
        elapsed = time.perf_counter() - t0
        assert sum(len(o.token_ids) for o in outs) == o_lens.sum()
        total = p_lens.sum() + o_lens.sum()
        data["runs"].append(
            {
                "temperature": temperature,
                "seconds": elapsed,
                "total_tokens_per_s": total / elapsed,
                "output_tokens_per_s": o_lens.sum() / elapsed,
            }
        )
        print(f"temperature {temperature}: {elapsed:.2f} s", flush=True)
    write_results("throughput", data)
    print(
        f"\n{data['device']}  commit {data['commit']}  {args.requests} requests, {data['prompt_tokens']} prompt + "
        f"{data['output_tokens']} output tokens, token budget {args.max_batched_tokens}"
    )
    print(f"{'run':>16} {'s':>7} {'total tok/s':>12} {'output tok/s':>13} {'vLLM s / ours':>14}")
    for r in data["runs"]:
        print(
            f"{'temperature ' + str(r['temperature']):>16} {r['seconds']:7.2f} {r['total_tokens_per_s']:12.0f} "
            f"{r['output_tokens_per_s']:13.0f} {VLLM_S * scale / r['seconds']:14.2f}"
        )
    print(f"{'vLLM 0.24':>16} {VLLM_S:7.2f} {15564:12d} {7775:13d}")


if __name__ == "__main__":
    main()
