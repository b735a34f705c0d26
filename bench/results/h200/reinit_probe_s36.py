"""Session 36's probe of a second controller on one worker (prepared; run it on a GPU, it was not run in session 36):
the first controller profiles and allocates the cache, CUDA graphs are captured and a decode step runs; then a
second controller does the same on the same ModelRunner, as `hello` -> profile -> init_cache over the worker socket
would. Before session 36's fixes the second profile counted the first cache as used (a tiny second cache) and
init_cache held the old cache and graphs while allocating the new one. Prints, for each round: profile's blocks,
memory reserved before and after init_cache, and one decode step's tokens, which must agree across rounds. At
--max-model-len 131072 the growth of reserved memory over the cache shows the graphs' share (the audit's reading:
the mixed graphs' decode partials alone take 2 GiB there, the whole allowance profile keeps).
Usage (repository root): PYTHONPATH=.:/tmp/site python3 bench/results/h200/reinit_probe_s36.py [--model DIR]"""

import argparse
import sys

import torch

sys.path.insert(0, "bench")
from common import LLAMA3_8B, config_dir  # noqa: E402
from forward import step_cmd  # noqa: E402

from swiftllm.worker.model_runner import ModelRunner, WorkerConfig  # noqa: E402

GIB = 2**30


def reserved_gib(runner: ModelRunner) -> float:
    if runner.device.type != "cuda":
        return 0.0
    torch.cuda.synchronize()
    return torch.cuda.memory_reserved(runner.device) / GIB


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--model", default=None, help="a model directory (default: Llama-3-8B shape, dummy)"
    )
    ap.add_argument("--max-model-len", type=int, default=2048)
    args = ap.parse_args()
    longest = max(args.max_model_len, LLAMA3_8B["max_position_embeddings"])
    model = args.model or config_dir(LLAMA3_8B, max_position_embeddings=longest)
    runner = ModelRunner(WorkerConfig(model=model, load_format="dummy"))
    vocab = runner.model_config.vocab_size
    tokens = []
    profiled = []
    for controller in (1, 2):
        blocks = runner.profile(16)
        before = reserved_gib(runner)
        runner.forget()  # a hello drops the sampled tokens
        runner.init_cache(16, blocks, 1, args.max_model_len)
        after = reserved_gib(runner)
        per_seq = -(-1088 // 16) + 2
        cmd = step_cmd([1] * 8, [1088] * 8, [i * per_seq for i in range(8)], vocab)
        result = runner.step(cmd)
        tokens.append(result.tokens.tolist())
        graphs = 0.0
        if runner.graphs is not None:
            graphs = runner.graphs.nbytes / GIB
        profiled.append(blocks)
        print(
            f"controller {controller}: profile {blocks} blocks, reserved {before:.2f} -> {after:.2f} GiB "
            f"(init_cache; graphs {graphs:.2f} GiB), step tokens {tokens[-1]}",
            flush=True,
        )
    print("same tokens" if tokens[0] == tokens[1] else "TOKENS DIFFER", flush=True)
    # session 37: the old graphs count as free too, so the second controller is offered what the first was
    # (to a few blocks: the allocator's rounding)
    print(f"second profile - first: {profiled[1] - profiled[0]} blocks", flush=True)


if __name__ == "__main__":
    main()
