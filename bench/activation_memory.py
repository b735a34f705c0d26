"""activation_formula.py on the GPU: torch.cuda.max_memory_allocated over one eager step of the project's own
ModelRunner at the Llama-3-8B shape with dummy bf16 weights, above what was allocated before the step, against
activation_formula.step_peak for the same step.

    PYTHONPATH=. python3 bench/activation_memory.py                   # eager steps, ~3-5 min, ~45 GB
    PYTHONPATH=. python3 bench/activation_memory.py --graphs 131072   # also what the CUDA graphs hold

Why: the formula was checked on the CPU (tests/bench/test_activation_formula.py), where the Triton kernels'
wrappers allocate as on a GPU, but three of its terms exist only on a GPU and were read from code, not
measured: cub's sort temporaries under top-p (`sampler_peak`, gpu=True), the step's metadata copied to the
device (`step_peak`'s `const`), and decode attention's split count at 132 SMs. cuBLAS's workspaces are not
in the formula at all: the first step's lasting growth is printed apart. This measures all of them on the
H200, where ModelRunner.profile's allowance has to hold.

Steps (all eager: cuda_graphs=False, so nothing replays):
  prefill T      one prompt of T tokens, one sampled row (the forward's MLP peak alone)
  mixed T/R      R-1 decode rows (context 64, the block table --width blocks wide, so that decode attention
                 runs decode_params' split count for that width: 64 at 8,192 blocks) ahead of a T-R+1 token
                 prompt; every row sampled, greedy, then with top-p 0.9 at temperature 1 (the sort)
  decode R       R decode rows alone (T = R), greedy and top-p
Each step runs once to warm up (Triton compiles, cuBLAS workspaces), then once measured. One mixed step is also
run with Python's garbage collector off: a peak that grows then means tensors held by reference cycles.
Writes activation_memory.json to $BENCH_OUT or bench/results, stamped with device, date and commit.
"""

from __future__ import annotations

import argparse
import gc

import numpy as np
import torch
from activation_formula import Shape, forward_peak, step_peak
from common import LLAMA3_8B, config_dir, device_info, write_results

from swiftllm.kernels.decode_attention import decode_params
from swiftllm.protocol.step import StepCommand, f32, i32, u64
from swiftllm.worker.model_runner import ModelRunner, WorkerConfig

C = Shape.from_config(LLAMA3_8B)
BLOCK = 16
DECODE_CONTEXT = 64


def make_step(decodes: int, prompt: int, width: int, top_p: float) -> StepCommand:
    """`decodes` rows of context DECODE_CONTEXT (sharing blocks 0-3), then one fresh prompt of `prompt`
    tokens in blocks 4...; the block table `width` blocks wide (padded with block 0), since decode
    attention's split count, and so its partials, follow the table's width."""
    query_lens = [1] * decodes + ([prompt] if prompt else [])
    context_lens = [DECODE_CONTEXT] * decodes + ([prompt] if prompt else [])
    n = len(query_lens)
    prompt_blocks = -(-prompt // BLOCK)
    width = max(width, 4 + prompt_blocks)
    table = np.zeros((n, width), np.int32)
    table[:decodes, :4] = np.arange(4)
    if prompt:
        table[decodes, :prompt_blocks] = 4 + np.arange(prompt_blocks)
    return sampled_step(query_lens, context_lens, table, C.vocab, top_p)


def sampled_step(
    query_lens: list[int], context_lens: list[int], table: np.ndarray, vocab: int, top_p: float
) -> StepCommand:
    """A step of random tokens whose every row is sampled: greedy, or top_p at temperature 1 (the sort);
    no penalties, no logprobs. tests/bench/test_activation_formula.py builds its steps with it too."""
    n = len(query_lens)
    rng = np.random.default_rng(0)
    return StepCommand(
        seq_ids=i32(range(n)),
        query_lens=i32(query_lens),
        context_lens=i32(context_lens),
        token_ids=i32(rng.integers(0, vocab, sum(query_lens))),
        block_table=table,
        sample=i32([1] * n),
        temperature=f32([1.0 if top_p < 1 else 0.0] * n),
        top_p=f32([top_p] * n),
        top_k=i32([0] * n),
        seed=u64(range(n)),
        presence_penalty=f32([0.0] * n),
        frequency_penalty=f32([0.0] * n),
        repetition_penalty=f32([1.0] * n),
        min_p=f32([0.0] * n),
        penalty_lens=i32([0] * n),
        num_logprobs=i32([-1] * n),
    )


def measure(runner: ModelRunner, cmd: StepCommand, gc_off: bool = False) -> dict:
    """Peak allocated and reserved bytes over one step above those before it, and the bytes it left."""
    runner.forget()
    gc.collect()
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    allocated, reserved = torch.cuda.memory_allocated(), torch.cuda.memory_reserved()
    torch.cuda.reset_peak_memory_stats()
    if gc_off:
        gc.disable()
    try:
        runner.step(cmd)  # collect() waits for the device
    finally:
        gc.enable()
    torch.cuda.synchronize()
    return {
        "peak": torch.cuda.max_memory_allocated() - allocated,
        "reserved_peak": torch.cuda.max_memory_reserved() - reserved,
        "left": torch.cuda.memory_allocated() - allocated,
    }


def graphs_held(model: str, max_model_len: int) -> dict:
    """GraphRunner.nbytes at max_model_len beside an estimate: the mixed graphs' peak (2,048 tokens) plus the
    decode graphs' (512 rows, or their logits), both with decode attention's split partials over 512 rows, plus
    the logits, hidden and residual buffers and the staging arrays. (Until session 39 the estimate took the
    larger of the two peaks, as if one pool held both: 826 MiB against the 1,378 measured on the H200.)"""
    runner = ModelRunner(WorkerConfig(model=model, load_format="dummy", dtype="bfloat16"))
    runner.init_cache(BLOCK, 4096, 0, max_model_len)
    splits = decode_params(512, C.kv_heads, max_model_len, runner.device)[0]
    decode_pool = max(
        forward_peak(C, 512, 512, splits)[0], 512 * C.vocab * C.b + 6 * 512 * C.hidden * C.b
    )
    pool = forward_peak(C, 2048, 512, splits)[0] + decode_pool
    buffers = 512 * C.vocab * C.b + 2 * 2048 * C.hidden * C.b
    staging = 4 * ((2048 + 16) * 6 + 16 + (2048 + 16) * -(-max_model_len // BLOCK))
    held = {
        "max_model_len": max_model_len,
        "nbytes": runner.graphs.nbytes,
        "pool_estimate": pool,
        "buffers": buffers,
        "staging": staging,
    }
    print(
        f"CUDA graphs at max_model_len {max_model_len}: GraphRunner.nbytes "
        f"{held['nbytes'] / 2**20:.0f} MiB; estimate: pool {pool / 2**20:.0f} + logits/hidden/residual "
        f"{buffers / 2**20:.0f} + staging {staging / 2**20:.0f} MiB"
    )
    del runner
    gc.collect()
    torch.cuda.empty_cache()
    return held


def cases(
    runner: ModelRunner, tokens: list[int], rows: list[int], width: int
) -> list[tuple[str, StepCommand, dict]]:
    """(name, step, step_peak's arguments) of every measured step."""
    out = []
    for t in tokens:
        out.append((f"prefill T={t}", make_step(0, t, 0, 1.0), dict(T=t, R=1, seqs=1)))
    for t in tokens:
        for r in rows:
            for top_p in (1.0, 0.9):
                cmd = make_step(r - 1, t - (r - 1), width, top_p)
                table_width = cmd.block_table.shape[1]
                s = decode_params(r - 1, C.kv_heads, table_width * BLOCK, runner.device)[0]
                kw = dict(T=t, R=r, decode_rows=r - 1, splits=s, seqs=r, table_width=table_width)
                kw["truncated"] = r if top_p < 1 else 0
                kind = "top-p" if top_p < 1 else "greedy"
                out.append((f"mixed T={t} R={r} {kind} s={s}", cmd, kw))
    for r in rows:
        for top_p in (1.0, 0.9):
            cmd = make_step(r, 0, width, top_p)
            table_width = cmd.block_table.shape[1]
            s = decode_params(r, C.kv_heads, table_width * BLOCK, runner.device)[0]
            kw = dict(T=r, R=r, decode_rows=r, splits=s, seqs=r, table_width=table_width)
            kw["truncated"] = r if top_p < 1 else 0
            kind = "top-p" if top_p < 1 else "greedy"
            out.append((f"decode R={r} {kind} s={s}", cmd, kw))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", default="2048,16384,65536", help="tokens of each step")
    ap.add_argument("--rows", default="256,512", help="sampled rows of the mixed and decode steps")
    ap.add_argument(
        "--width", type=int, default=8192, help="block-table width of mixed/decode steps"
    )
    ap.add_argument(
        "--graphs", type=int, default=0, help="max_model_len: report GraphRunner.nbytes"
    )
    args = ap.parse_args()
    tokens = [int(t) for t in args.tokens.split(",")]
    rows = [int(r) for r in args.rows.split(",")]
    model = config_dir(LLAMA3_8B)
    result: dict = {**device_info(), "shape": "llama3-8b", "width": args.width, "steps": []}
    if args.graphs:
        result["graphs"] = graphs_held(model, args.graphs)

    runner = ModelRunner(
        WorkerConfig(model=model, load_format="dummy", dtype="bfloat16", cuda_graphs=False)
    )
    num_blocks = 4 + -(-max(tokens + [2048]) // BLOCK) + 16
    runner.init_cache(BLOCK, num_blocks, 0, 131072)
    before = torch.cuda.memory_allocated()
    # the first step: lasting growth (cuBLAS workspaces, ...), which the formula leaves out
    runner.step(make_step(0, 2048, 0, 1.0))
    runner.forget()
    torch.cuda.synchronize()
    result["first_step_lasting_bytes"] = torch.cuda.memory_allocated() - before
    lasting = result["first_step_lasting_bytes"]
    print(f"lasting growth over the first step: {lasting / 2**20:.1f} MiB")

    steps = cases(runner, tokens, rows, args.width)
    print(
        f"{'step':40s} {'measured MiB':>12} {'formula MiB':>11} {'ratio':>6} {'reserved MiB':>12}"
        "  formula's phase"
    )
    for name, cmd, kw in steps:
        measure(runner, cmd)  # warm up: compiles, workspaces
        got = measure(runner, cmd)
        want = step_peak(C, **kw)
        print(
            f"{name:40s} {got['peak'] / 2**20:12.1f} {want['peak'] / 2**20:11.1f} "
            f"{got['peak'] / want['peak']:6.3f} {got['reserved_peak'] / 2**20:12.1f}  {want['where']}"
        )
        result["steps"].append({"name": name, **got, "formula": want, "args": kw})
    # the first mixed step with gc off: tensors held by reference cycles would raise its peak
    name, cmd, _ = steps[len(tokens)]
    got = measure(runner, cmd, gc_off=True)
    gc_on = result["steps"][len(tokens)]["peak"]
    print(f"{name} with gc off: {got['peak'] / 2**20:.1f} MiB (gc on: {gc_on / 2**20:.1f})")
    result["gc_off"] = {"name": name, **got}
    print(f"wrote {write_results('activation_memory', result)}")


if __name__ == "__main__":
    main()
