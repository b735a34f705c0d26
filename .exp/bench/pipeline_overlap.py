"""Do pipeline stages overlap? Runs the same greedy batch on P=2 stages with the engine keeping one step of
each sequence group in flight, then with one step at a time, and prints wall time and each stage's busy
fraction (its process's CPU time over wall time; one torch thread per worker).

    python bench/pipeline_overlap.py --model DIR [--requests 32] [--max-tokens 24]

On CPU, a busy fraction near 1 per stage (and a wall time well under the serial run's) means the stages
work at the same time; on a shared machine the CPU times measure what the OS gave, so read the wall ratio."""

import argparse
import os
import time

from swiftllm.llm import LLM
from swiftllm.sampling_params import SamplingParams


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=24)
    args = parser.parse_args()
    prompts = [list(range(1 + index, 20 + index)) for index in range(args.requests)]
    params = SamplingParams(max_tokens=args.max_tokens, temperature=0, ignore_eos=True)
    llm = LLM(args.model, pipeline_parallel_size=2, threads=1, max_model_len=256, device="cpu")
    try:
        llm.generate(prompts[:2], SamplingParams(max_tokens=4))  # warm up
        pids = [process.pid for process in llm.workers.processes]
        for overlap in (True, False):
            llm.engine.overlap = overlap
            before = [cpu_seconds(pid) for pid in pids]
            start = time.perf_counter()
            llm.generate(prompts, params)
            wall = time.perf_counter() - start
            busy = [(cpu_seconds(pid) - used) / wall for pid, used in zip(pids, before)]
            shown = ", ".join(
                f"stage {stage} {fraction:.2f}" for stage, fraction in enumerate(busy)
            )
            print(f"overlap={overlap}: wall {wall:.2f} s, busy {shown}", flush=True)
    finally:
        llm.close()


if __name__ == "__main__":
    main()
