"""Session 27's probe: would splitting qkv's K in two (gemv parts=2) pay at 2-32 rows, before any work on decode
attention summing the parts? Times, in a CUDA graph under PDL, a chain of LAYERS Llama-3-8B layers' input norm
and qkv GEMV (distinct weights per layer), with qkv whole (parts=1) and in two parts, each variant twice in
alternation, and prints us per layer and the weights' read time at copy bandwidth.
Run from a tree's root: PYTHONPATH=.:/tmp/site python3 bench/results/h200/qkv_parts_exp_s27.py"""

import argparse
import json
import sys

import torch

sys.path.insert(0, "bench")

from swiftllm.kernels.gemv import gemv  # noqa: E402
from swiftllm.kernels.rmsnorm import rms_norm  # noqa: E402


def main() -> None:
    from common import ceilings, device_info, time_graph

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="2,8,16,32")
    parser.add_argument("--layers", type=int, default=16)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.manual_seed(0)
    hidden, qkv = 4096, 6144
    weights = [
        (torch.randn(qkv, hidden, device="cuda") / 64).to(torch.bfloat16)
        for _ in range(args.layers)
    ]
    norm = (torch.rand(hidden, device="cuda") + 0.5).to(torch.bfloat16)
    ceil = ceilings()
    read_us = qkv * hidden * 2 / ceil["copy_bw_Bps"] * 1e6
    print(f"copy {ceil['copy_bw_Bps'] / 1e12:.2f} TB/s: qkv's weights read in {read_us:.2f} us")
    results = {"device": device_info(), "ceilings": ceil, "read_us": read_us, "rows": {}}
    for rows in [int(r) for r in args.rows.split(",")]:
        h = torch.randn(rows, hidden, device="cuda").to(torch.bfloat16)

        def chain(parts: int) -> None:
            for w in weights:
                x, _ = rms_norm(h, norm, 1e-5)
                gemv(x, w, parts=parts)

        cells = []
        for parts in (1, 2, 1, 2):
            us = time_graph(lambda: chain(parts), reps=10) * 1e3 / args.layers
            results["rows"].setdefault(str(rows), []).append({"parts": parts, "us_per_layer": us})
            cells.append(f"parts {parts}: {us:.2f}")
        print(f"rows {rows:3d} (norm + qkv, us a layer): " + " | ".join(cells), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
