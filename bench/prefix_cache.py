"""Prefix caching on and off, in one run: prefill tokens computed, time to first token, total time.

    PYTHONPATH=. python3 bench/prefix_cache.py [--shared-requests 200] [--system-len 2000] [--tail-len 200]
                                               [--conversations 64] [--turns 5] [--unshared-requests 1000]
                                               [--max-batched-tokens 16384] [--max-num-seqs 512]

Llama-3-8B shape with dummy bf16 weights, random token ids (seeded), ignore_eos, greedy, 128 output tokens
(`--output-len`), every request of a round submitted at once through the engine `LLM.generate` drives.
Three workloads, each run with caching off, then on, on the same engine (a fresh scheduler per run, so
each starts with an empty cache):
- shared: `--shared-requests` prompts = one `--system-len`-token system prompt + a unique `--tail-len`-token
  tail each (the issue's target: >= 3x fewer prefill tokens, >= 2x less time with caching on);
- chat: `--conversations` chats replayed for `--turns` turns, all chats' turn t at once: turn 1 is a
  `--first-len`-token user message, each later turn re-sends the whole conversation (its prompt, the
  answer just generated, and a new `--user-len`-token message), as a chat client does;
- unshared: the first `--unshared-requests` pairs of bench/sharegpt_like_1000.json as random prompts, which
  share no prefix: what caching costs when it never hits (target: within 2% of off; 0 skips it).
Per run: prompt tokens, prompt tokens computed (prefilled), cache hits, seconds, time to first token (from
the round's submission) mean / median / p90. Writes results/prefix_cache.json; prints a table last."""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch
from common import LLAMA3_8B, SMOLLM2, config_dir, device_info, write_results
from run_info import git_commit, utc_now
from workload import DEFAULT_WORKLOAD, load_workload, random_prompts

from swiftllm.config import EngineConfig
from swiftllm.controller.scheduler import Scheduler
from swiftllm.llm import LLM
from swiftllm.sampling_params import SamplingParams

SHAPES = {"llama3-8b": LLAMA3_8B, "smollm2": SMOLLM2}  # smollm2: a quick check of the script itself


@dataclasses.dataclass
class Run:
    """One workload with caching on or off; rounds of requests submitted at once, one after another."""

    workload: str
    caching: bool
    prompt_tokens: int = 0
    prompt_tokens_computed: int = 0
    cache_hits: int = 0
    seconds: float = 0.0
    ttft_s: list[float] = dataclasses.field(default_factory=list)

    def summary(self) -> dict:
        ttft = np.array(self.ttft_s)
        return {
            "workload": self.workload,
            "caching": self.caching,
            "requests": len(self.ttft_s),
            "prompt_tokens": self.prompt_tokens,
            "prompt_tokens_computed": self.prompt_tokens_computed,
            "cache_hits": self.cache_hits,
            "seconds": self.seconds,
            "ttft_mean_s": float(ttft.mean()),
            "ttft_median_s": float(np.median(ttft)),
            "ttft_p90_s": float(np.percentile(ttft, 90)),
        }


def fresh_scheduler(llm: LLM, caching: bool) -> None:
    """Give the engine a new scheduler (empty cache, zero counters) with caching on or off. Only between
    runs: the engine must have no work."""
    assert not llm.engine.has_work
    config = dataclasses.replace(llm.engine.scheduler.cfg, enable_prefix_caching=caching)
    llm.engine.scheduler = Scheduler(config)


def run_round(llm: LLM, prompts: list[list[int]], output_len: int, run: Run) -> list[list[int]]:
    """Submit prompts at once and step to completion, noting each request's first token; the outputs."""
    engine = llm.engine
    params = SamplingParams(max_tokens=output_len, ignore_eos=True, temperature=0.0)
    start = time.perf_counter()
    seqs = [engine.add_request(prompt, params) for prompt in prompts]
    first_token_s: dict[int, float] = {}
    while engine.has_work:
        for seq in engine.step():
            first_token_s.setdefault(seq.seq_id, time.perf_counter() - start)
    run.seconds += time.perf_counter() - start
    run.ttft_s += [first_token_s[seq.seq_id] for seq in seqs]
    run.prompt_tokens += sum(map(len, prompts))
    return [seq.output_ids for seq in seqs]


def finish_run(llm: LLM, run: Run) -> dict:
    counters = llm.engine.scheduler.counters
    run.prompt_tokens_computed = counters["prompt_tokens_computed"]
    run.cache_hits = counters["prefix_cache_hits"]
    summary = run.summary()
    print(
        f"{run.workload} caching {'on' if run.caching else 'off'}: {run.seconds:.2f} s, "
        f"{run.prompt_tokens_computed} of {run.prompt_tokens} prompt tokens computed",
        flush=True,
    )
    return summary


def shared_prompts(args: argparse.Namespace) -> list[list[int]]:
    system = random_prompts([args.system_len], args.vocab_size, seed=1)[0]
    tails = random_prompts([args.tail_len] * args.shared_requests, args.vocab_size, seed=2)
    return [system + tail for tail in tails]


def run_shared(llm: LLM, args: argparse.Namespace, caching: bool) -> dict:
    fresh_scheduler(llm, caching)
    run = Run("shared", caching)
    run_round(llm, shared_prompts(args), args.output_len, run)
    return finish_run(llm, run)


def run_chat(llm: LLM, args: argparse.Namespace, caching: bool) -> dict:
    """Turn t of every conversation at once; turn t+1 re-sends each conversation with its answer."""
    fresh_scheduler(llm, caching)
    run = Run("chat", caching)
    conversations = random_prompts([args.first_len] * args.conversations, args.vocab_size, seed=3)
    for turn in range(args.turns):
        answers = run_round(llm, conversations, args.output_len, run)
        messages = random_prompts(
            [args.user_len] * args.conversations, args.vocab_size, seed=10 + turn
        )
        conversations = [
            prompt + answer + message
            for prompt, answer, message in zip(conversations, answers, messages)
        ]
    return finish_run(llm, run)


def run_unshared(llm: LLM, args: argparse.Namespace, caching: bool) -> dict:
    fresh_scheduler(llm, caching)
    requests = load_workload(DEFAULT_WORKLOAD, args.unshared_requests)
    prompts = random_prompts([request.input_len for request in requests], args.vocab_size, seed=0)
    run = Run("unshared", caching)
    engine = llm.engine
    start = time.perf_counter()
    seqs = [
        engine.add_request(prompt, SamplingParams(max_tokens=r.output_len, ignore_eos=True))
        for prompt, r in zip(prompts, requests)
    ]
    first_token_s: dict[int, float] = {}
    while engine.has_work:
        for seq in engine.step():
            first_token_s.setdefault(seq.seq_id, time.perf_counter() - start)
    run.seconds = time.perf_counter() - start
    run.ttft_s = [first_token_s[seq.seq_id] for seq in seqs]
    run.prompt_tokens = sum(map(len, prompts))
    return finish_run(llm, run)


def describe_device() -> dict:
    if torch.cuda.is_available():
        return device_info()
    return {"device": "cpu", "date": utc_now(), "commit": git_commit()}  # the smollm2 check


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--shared-requests", type=int, default=200)
    ap.add_argument("--system-len", type=int, default=2000)
    ap.add_argument("--tail-len", type=int, default=200)
    ap.add_argument("--output-len", type=int, default=128)
    ap.add_argument("--conversations", type=int, default=64)
    ap.add_argument("--turns", type=int, default=5)
    ap.add_argument("--first-len", type=int, default=500, help="chat: the first user message")
    ap.add_argument("--user-len", type=int, default=100, help="chat: each later user message")
    ap.add_argument("--unshared-requests", type=int, default=1000, help="0 skips the unshared set")
    ap.add_argument("--max-batched-tokens", type=int, default=16384)
    ap.add_argument("--max-num-seqs", type=int, default=EngineConfig().max_num_seqs)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="llama3-8b")
    args = ap.parse_args()
    args.vocab_size = SHAPES[args.shape]["vocab_size"]  # prompts are random ids below it
    return args


def main() -> None:
    args = parse_args()
    chat_len = args.first_len + (args.turns - 1) * (args.output_len + args.user_len)
    llm = LLM(
        config_dir(SHAPES[args.shape]),
        load_format="dummy",
        dtype="bfloat16",
        max_model_len=max(4096, chat_len + args.output_len),
        max_num_seqs=args.max_num_seqs,
        max_num_batched_tokens=args.max_batched_tokens,
    )
    # warm-up: the caching allocator grows and kernels compile outside the timed runs
    llm.generate(shared_prompts(args)[:64], SamplingParams(max_tokens=8, ignore_eos=True))
    data = {
        **describe_device(),
        "shape": f"{args.shape} (dummy bf16)",
        "args": vars(args),
        "num_gpu_blocks": llm.engine.scheduler.cfg.num_gpu_blocks,
        "runs": [],
    }
    workloads = [run_shared, run_chat]
    if args.unshared_requests:
        workloads.append(run_unshared)
    for run_workload in workloads:
        for caching in (False, True):
            data["runs"].append(run_workload(llm, args, caching))
    write_results("prefix_cache", data)
    print_table(data)


def print_table(data: dict) -> None:
    print(f"\n{data['device']}  commit {data['commit']}  {data['shape']}")
    print(
        f"{'workload':>9} {'caching':>7} {'prompt tok':>11} {'computed':>10} {'hits':>10} {'s':>8} "
        f"{'ttft mean':>10} {'ttft p50':>9} {'ttft p90':>9}"
    )
    by_key = {(run["workload"], run["caching"]): run for run in data["runs"]}
    for run in data["runs"]:
        print(
            f"{run['workload']:>9} {'on' if run['caching'] else 'off':>7} {run['prompt_tokens']:11d} "
            f"{run['prompt_tokens_computed']:10d} {run['cache_hits']:10d} {run['seconds']:8.2f} "
            f"{run['ttft_mean_s']:10.3f} {run['ttft_median_s']:9.3f} {run['ttft_p90_s']:9.3f}"
        )
    for workload in ("shared", "chat", "unshared"):
        if (workload, True) not in by_key:
            continue
        off = by_key[(workload, False)]
        on = by_key[(workload, True)]
        print(
            f"{workload}: prefill tokens off/on {off['prompt_tokens_computed'] / on['prompt_tokens_computed']:.2f}x, "
            f"time off/on {off['seconds'] / on['seconds']:.2f}x"
        )


if __name__ == "__main__":
    main()
