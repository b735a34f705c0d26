"""Session 52: bench/latency.py with one of the 256-row suspects switched off in this process, for an A/B
against the tree as shipped in the same device call (each a fresh process, alternated).

On one H200 this tree's 256-row decode step ran 1.2 % behind 74a2896's (bench/results/h200/bridge_s52_d43828a);
the split-K bmm is not the cause (call 3 there: 0.7-1.0 % faster with it). The patches, each applied before
the LLM is built (so its CUDA graphs capture the patched path):
- `rotary_unfused_from=R`: decode-only steps of R or more rows rotate and store K/V with rotary_store_kv and
  then run decode attention, as 74a2896 did, instead of the decode kernel doing both (session 22's fusion:
  timed level at 128-256 rows, one run each);
- `torch_argmax`: greedy tokens by torch.argmax, as 74a2896 did, instead of kernels/sample.greedy_tokens;
- `none`: the tree as shipped.

    PYTHONPATH=.:/tmp/site python3 bench/results/h200/patched_latency_s52.py PATCH [latency.py's flags]
e.g. `... rotary_unfused_from=129 --temperature 0 --batches 128,256`.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parents[2]


def patch_rotary(rows: int) -> None:
    import swiftllm.worker.backend_triton as backend

    fused = backend.rotary_attention

    def rotary_attention(q, k, v, meta, cos_sin, k_cache, v_cache, scale, attend=None):  # noqa: ANN001, ANN202
        if attend is None and q.shape[0] >= rows:
            attend = backend.attention  # given attend, rotary_attention never fuses
        return fused(q, k, v, meta, cos_sin, k_cache, v_cache, scale, attend)

    backend.rotary_attention = rotary_attention


def patch_argmax() -> None:
    import swiftllm.kernels.sample as sample

    sample.greedy_tokens = lambda logits: torch.argmax(logits, -1)


def main() -> None:
    patch = sys.argv[1]
    if patch.startswith("rotary_unfused_from="):
        patch_rotary(int(patch.split("=")[1]))
    elif patch == "torch_argmax":
        patch_argmax()
    elif patch != "none":
        sys.exit(f"unknown patch {patch!r}: rotary_unfused_from=R, torch_argmax or none")
    print(f"patch: {patch}", flush=True)
    sys.argv = ["latency.py", *sys.argv[2:]]
    sys.path.insert(0, str(BENCH))
    runpy.run_path(str(BENCH / "latency.py"), run_name="__main__")


if __name__ == "__main__":
    main()
