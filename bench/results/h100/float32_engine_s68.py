"""Session 68: does `--dtype float32` serve on a GPU? The SmolLM2 shape (head dim 64) and the Llama-3-8B shape cut
to 2 layers (head dim 128), dummy weights, greedy, token-id prompts, in bfloat16 and float32, each case in a
process of its own (in one process, session 68's H100 call found 0 KV blocks for the cases after the first).
Compiled for sm_90 on a CPU (bench/results/cpu/ptx_ieee_s68/), the float32 prefill kernel at head dim 128 and the
2-64-row GEMV tiles take more shared memory than a Hopper block may have (263 KB and 245-393 KB against 227 KB),
so float32 is expected to fail there; this says how (or that it did not). One line per case."""

import subprocess
import sys

SHAPES = ("SmolLM2 shape", "Llama-3-8B shape, 2 layers")
DTYPES = ("bfloat16", "float32")


def run_case(shape: str, dtype: str) -> None:
    sys.path.insert(0, "bench")
    from common import LLAMA3_8B, SMOLLM2, config_dir

    from swiftllm import LLM, SamplingParams

    cfg = SMOLLM2 if shape == SHAPES[0] else {**LLAMA3_8B, "num_hidden_layers": 2}
    try:
        llm = LLM(config_dir(cfg), load_format="dummy", dtype=dtype, max_model_len=1024)
        prompts = [list(range(1, 1 + n)) for n in (5, 300, 17, 64)]
        outs = llm.generate(prompts, SamplingParams(max_tokens=16, temperature=0, ignore_eos=True))
        lengths = [len(out.token_ids) for out in outs]
        print(
            f"{shape} {dtype}: served, {lengths} tokens, first {outs[0].token_ids[:6]}", flush=True
        )
        llm.close()
    except Exception as error:  # noqa: BLE001 - the question is which error, if any
        print(f"{shape} {dtype}: FAILED {type(error).__name__}: {str(error).splitlines()[0][:300]}")


def main() -> None:
    if len(sys.argv) == 3:
        run_case(sys.argv[1], sys.argv[2])
        return
    for shape in SHAPES:
        for dtype in DTYPES:
            done = subprocess.run(
                [sys.executable, __file__, shape, dtype],
                capture_output=True,
                text=True,
                timeout=150,
            )
            lines = [line for line in done.stdout.splitlines() if line.startswith(shape)]
            print(
                lines[-1]
                if lines
                else f"{shape} {dtype}: no result, rc {done.returncode}: {done.stderr[-300:]}"
            )


if __name__ == "__main__":
    main()
