"""Session 69: does `--dtype float32` serve on a GPU, and does it give the torch backend's tokens? The SmolLM2
shape (head dim 64) and the Llama-3-8B shape cut to 2 layers (head dim 128), dummy weights, greedy, token-id
prompts (5, 300, 17 and 64 tokens: a prefill chunk and decode at 4 rows), each case in a process of its own.
Cases: bfloat16 and float32 on the Triton backend, float32 on the torch backend (the oracle: cuBLAS and torch's
attention). Session 69 made float32 keep cuBLAS above one row (its GEMV tiles need 245-295 KB of shared memory)
and take 64-key prefill tiles at head dim 128 (161 KB, from 257): compiled for sm_90 on a CPU, nothing of bf16
or fp16 changed (bench/results/cpu/float32_tiles_s69/). One line per case, then the float32 agreement.

    PYTHONPATH=$PWD python3 bench/results/h100/float32_engine_s69.py [SHAPE ...]

SHAPE: "llama" or "smollm2" to run only that shape (session 69's H100 call served the SmolLM2 shape and ran out of
time in the Llama one: a case takes ~60 s there, to load, compile and capture graphs)."""

import functools
import json
import os
import subprocess
import sys

SHAPES = ("SmolLM2 shape", "Llama-3-8B shape, 2 layers")
CASES = (("bfloat16", "auto"), ("float32", "auto"), ("float32", "torch"))


def run_case(shape: str, dtype: str, backend: str) -> None:
    sys.path.insert(0, "bench")
    from common import LLAMA3_8B, SMOLLM2, config_dir

    import swiftllm.llm
    from swiftllm import LLM, SamplingParams

    # the backend is a worker's option, not an engine's: the in-process runner's config takes it here
    swiftllm.llm.WorkerConfig = functools.partial(swiftllm.llm.WorkerConfig, backend=backend)
    cfg = SMOLLM2 if shape == SHAPES[0] else {**LLAMA3_8B, "num_hidden_layers": 2}
    name = f"{shape} {dtype} {backend}"
    try:
        llm = LLM(config_dir(cfg), load_format="dummy", dtype=dtype, max_model_len=1024, seed=0)
        prompts = [list(range(1, 1 + n)) for n in (5, 300, 17, 64)]
        outs = llm.generate(prompts, SamplingParams(max_tokens=16, temperature=0, ignore_eos=True))
        tokens = [out.token_ids for out in outs]
        print(f"{name}: served, first {tokens[0][:6]}", flush=True)
        print("TOKENS " + json.dumps(tokens), flush=True)
        llm.close()
    except Exception as error:  # noqa: BLE001 - the question is which error, if any
        print(f"{name}: FAILED {type(error).__name__}: {str(error).splitlines()[0][:300]}")


def main() -> None:
    if len(sys.argv) == 4:
        run_case(*sys.argv[1:])
        return
    wanted = [word.lower() for word in sys.argv[1:]]
    for shape in SHAPES:
        if wanted and not any(word in shape.lower() for word in wanted):
            continue
        tokens = {}
        for dtype, backend in CASES:
            done = subprocess.run(
                [sys.executable, __file__, shape, dtype, backend],
                capture_output=True,
                text=True,
                timeout=int(os.environ.get("CASE_TIMEOUT", "150")),
            )
            lines = [line for line in done.stdout.splitlines() if line.startswith(shape)]
            for line in done.stdout.splitlines():
                if line.startswith("TOKENS "):
                    tokens[dtype, backend] = json.loads(line[7:])
            if not lines:
                lines = [
                    f"{shape} {dtype} {backend}: no result, rc {done.returncode}: {done.stderr[-300:]}"
                ]
            print(lines[-1], flush=True)
        if ("float32", "auto") in tokens and ("float32", "torch") in tokens:
            ours = [t for row in tokens["float32", "auto"] for t in row]
            oracle = [t for row in tokens["float32", "torch"] for t in row]
            same = sum(a == b for a, b in zip(ours, oracle))
            print(f"{shape}: float32 triton vs torch, {same} of {len(oracle)} tokens the same")


if __name__ == "__main__":
    main()
