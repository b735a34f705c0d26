"""Session 68: does `--dtype float32` serve on a GPU? The SmolLM2 shape (head dim 64) and the Llama-3-8B shape cut
to 2 layers (head dim 128), dummy weights, greedy, token-id prompts, in bfloat16 and float32. Compiled for sm_90
on a CPU (bench/results/cpu/ptx_ieee_s68/), the float32 prefill kernel at head dim 128 and the 2-64-row GEMV
tiles take more shared memory than a Hopper block may have (263 KB and 245-393 KB against 227 KB), so float32 is
expected to fail there; this says how (or that it did not)."""

import sys
import traceback

sys.path.insert(0, "bench")
from common import LLAMA3_8B, SMOLLM2, config_dir  # noqa: E402

from swiftllm import LLM, SamplingParams  # noqa: E402

for name, cfg in (
    ("SmolLM2 shape", SMOLLM2),
    ("Llama-3-8B shape, 2 layers", {**LLAMA3_8B, "num_hidden_layers": 2}),
):
    for dtype in ("bfloat16", "float32"):
        try:
            llm = LLM(config_dir(cfg), load_format="dummy", dtype=dtype, max_model_len=1024)
            prompts = [list(range(1, 1 + n)) for n in (5, 300, 17, 64)]
            outs = llm.generate(
                prompts, SamplingParams(max_tokens=16, temperature=0, ignore_eos=True)
            )
            print(
                f"{name} {dtype}: served, {[len(o.token_ids) for o in outs]} tokens, {outs[0].token_ids[:6]}"
            )
            llm.close()
        except Exception as e:  # noqa: BLE001
            print(f"{name} {dtype}: FAILED {type(e).__name__}: {str(e).splitlines()[0][:300]}")
            traceback.print_exc(limit=3)
