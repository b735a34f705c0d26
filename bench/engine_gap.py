"""Why the engine's full decode steps take longer on the GPU than the same-sized bare ones: record the
commands the engine sent in bench/latency.py's workload, then replay them outside the engine, one
difference at a time.

    PYTHONPATH=. python3 bench/engine_gap.py [--batches 128,256]

Every figure is the median GPU time of a step (CUDA events around each launch), steps launched as the engine
launches them (the next before the last is collected). Variants, each replaying the engine's decode steps at
all N rows:
- engine:      as the engine ran them (recorded during its 129-token run, right after its prefill steps);
- replayed:    the same commands (a -1 token made 0), later, with the GPU cooled down;
- contiguous:  those commands with each sequence's blocks renumbered into one run (i * per_seq + j);
- one context: the last command's tables, every context set to the decode steps' mean (about 1,088);
- bare:        bench/forward.py's step_cmd (contiguous blocks, one context, tokens -1 as in the engine);
- after prefill: the replayed commands straight after replaying the engine's prefill steps (a hot GPU).
The ceilings (copy bandwidth, matmul rate) are measured in the same run, and each variant's ratio to the
step's roofline is printed. Writes results/engine_gap.json."""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch
from common import LLAMA3_8B, ceilings, config_dir, device_info, model_bytes, write_results
from latency import roofline_ms

from swiftllm.llm import LLM
from swiftllm.protocol.step import StepCommand
from swiftllm.sampling_params import SamplingParams

PROMPT = 1024
BLOCK = 16


def with_tokens(cmd: StepCommand) -> StepCommand:
    """The command with every -1 (the token sampled by the step before) made token 0."""
    return dataclasses.replace(cmd, token_ids=np.where(cmd.token_ids < 0, 0, cmd.token_ids))


def contiguous(cmd: StepCommand, per_seq: int) -> StepCommand:
    table = np.zeros_like(cmd.block_table)
    for i, ctx in enumerate(cmd.context_lens.tolist()):
        need = -(-ctx // BLOCK)
        table[i, :need] = np.arange(i * per_seq, i * per_seq + need)
    return dataclasses.replace(cmd, block_table=table)


def one_context(cmd: StepCommand, context: int) -> StepCommand:
    contexts = np.full_like(cmd.context_lens, context)
    return dataclasses.replace(cmd, context_lens=contexts)


def replay(runner: object, cmds: list[StepCommand]) -> list[float]:
    """GPU ms of each command, launched in order, each before the one before it is collected."""
    events = []
    prev = None
    for cmd in cmds:
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        step = runner.launch(cmd)
        end.record()
        events.append((start, end))
        if prev is not None:
            runner.collect(prev)
        prev = step
    runner.collect(prev)
    torch.cuda.synchronize()
    return [a.elapsed_time(b) for a, b in events]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="128,256")
    ap.add_argument("--max-batched-tokens", type=int, default=16384)
    args = ap.parse_args()
    ceil = ceilings()
    llm = LLM(
        config_dir(LLAMA3_8B),
        load_format="dummy",
        dtype="bfloat16",
        max_model_len=2048,
        max_num_batched_tokens=args.max_batched_tokens,
    )
    rng = np.random.default_rng(0)
    params = SamplingParams(max_tokens=129, ignore_eos=True, temperature=0.0)
    llm.generate([rng.integers(0, 1000, 64).tolist() for _ in range(4)], params)
    results = [measure(llm, n, ceil, rng) for n in (int(b) for b in args.batches.split(","))]
    write_results("engine_gap", {**device_info(), "ceilings": ceil, "batches": results})


def measure(llm: LLM, n: int, ceil: dict, rng: np.random.Generator) -> dict:
    runner = llm.runner
    launch = runner.launch
    recorded: list[tuple[StepCommand, torch.cuda.Event, torch.cuda.Event]] = []

    def recording_launch(cmd: StepCommand) -> object:
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        step = launch(cmd)
        end.record()
        recorded.append((cmd, start, end))
        return step

    params = SamplingParams(max_tokens=129, ignore_eos=True, temperature=0.0)
    prompts = [rng.integers(0, LLAMA3_8B["vocab_size"], PROMPT).tolist() for _ in range(n)]
    llm.generate(prompts, params)  # warm-up at this N
    runner.launch = recording_launch
    llm.generate(prompts, params)
    runner.launch = launch
    torch.cuda.synchronize()
    timed = [(cmd, a.elapsed_time(b)) for cmd, a, b in recorded]
    full = [(cmd, ms) for cmd, ms in timed if cmd.num_seqs == n and (cmd.query_lens == 1).all()]
    prefill = [with_tokens(cmd) for cmd, _ in timed if (cmd.query_lens > 1).any()]
    decodes = [with_tokens(cmd) for cmd, _ in full]
    mean_ctx = int(round(float(np.mean([cmd.context_lens.mean() for cmd in decodes]))))
    per_seq = -(-int(max(cmd.context_lens.max() for cmd in decodes)) // BLOCK)
    last = decodes[-1]
    # imported here: forward imports the kernels, which the CPU tests must first import under TRITON_INTERPRET
    from forward import step_cmd

    bare = step_cmd(
        [1] * n, [mean_ctx] * n, [i * per_seq for i in range(n)], LLAMA3_8B["vocab_size"]
    )
    bare_ahead = dataclasses.replace(bare, token_ids=np.full_like(bare.token_ids, -1))
    # the last engine sequence ids are still known to the runner only until it forgets them
    runner.forget()
    runner.step(bare)
    variants: dict[str, list[float]] = {"engine": [ms for _, ms in full]}
    time.sleep(3)
    variants["replayed"] = replay(runner, decodes)
    variants["contiguous"] = replay(runner, [contiguous(c, per_seq) for c in decodes])
    variants["one context"] = replay(runner, [one_context(last, mean_ctx)] * len(decodes))
    variants["bare"] = replay(runner, [bare] + [bare_ahead] * (len(decodes) - 1))
    variants["replayed again"] = replay(runner, decodes)
    replay(runner, prefill)
    variants["after prefill"] = replay(runner, decodes)
    w = runner.weights
    weight_bytes = model_bytes(w) - w.embed.numel() * w.embed.element_size()
    kv_bytes = n * mean_ctx * 32 * 8 * 128 * 2 * 2
    roofline = roofline_ms(n, weight_bytes, kv_bytes, ceil)
    data = {
        "batch": n,
        "mean_context": mean_ctx,
        "roofline_ms": roofline,
        "steps": len(decodes),
        "prefill_steps": len(prefill),
        "variants": variants,
    }
    print(
        f"\n{n} rows, mean context {mean_ctx}, {len(decodes)} full decode steps; copy "
        f"{ceil['copy_bw_Bps'] / 1e12:.2f} TB/s, matmul {ceil['matmul_flops'] / 1e12:.0f} TFLOP/s, "
        f"roofline {roofline:.2f} ms"
    )
    print(f"{'variant':16s} {'median':>8} {'first10':>8} {'last10':>8} {'÷roof':>6}")
    for name, ms in variants.items():
        med = float(np.median(ms))
        print(
            f"{name:16s} {med:8.2f} {np.median(ms[:10]):8.2f} {np.median(ms[-10:]):8.2f} "
            f"{med / roofline:6.2f}"
        )
    return data


if __name__ == "__main__":
    main()
