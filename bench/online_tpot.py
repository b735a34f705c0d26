"""Why median TPOT grows with the request rate: each rate's TPOT beside the decode step at the number of rows
the server actually ran, read from two result files (no GPU needed).

    python3 bench/online_tpot.py SERVING_JSON LATENCY_JSON

SERVING_JSON is bench/serving.py's output (with the server's `steps`, from our server's /metrics), LATENCY_JSON
is bench/latency.py's from the same kind of card. For each rate it prints:
- rows: output tokens ÷ steps, the mean number of sequences a step decoded (prefill-only steps make it a
  slight underestimate);
- step: the server's mean step time over the run;
- decode@rows: latency.py's decode step at that many rows (linear between its measured batch sizes);
- TPOT ÷ step1 and TPOT ÷ decode@rows: median TPOT over the batch-1 step and over the step at the load's rows.
If TPOT ÷ decode@rows stays near 1 while TPOT ÷ step1 grows, TPOT grows with load because the decode step
grows with its rows, not because of the mixed steps that carry arriving prompts. On an H200 the same two
ratios are printed for vLLM 0.24 (its decode table and online figures, bench/README.md), its decode step read
at our rows: its concurrency at a rate is about ours, since its end-to-end latency is about ours."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
from serving_sim import load_serving

# vLLM 0.24's decode step on the H200 by latency.py's method (bench/common.py holds the same table; that
# module imports torch, which this reader does not need)
VLLM_DECODE_MS = {1: 4.94, 8: 5.28, 32: 6.34, 64: 7.76, 128: 10.56, 256: 17.94}


def step_at(rows: float, table: dict[int, float]) -> float:
    batches = sorted(table)
    return float(np.interp(rows, batches, [table[b] for b in batches]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("serving_json", type=Path)
    ap.add_argument("latency_json", type=Path)
    args = ap.parse_args()
    serving = json.loads(args.serving_json.read_text())
    latency = json.loads(args.latency_json.read_text())
    decode = {row["batch"]: row["ms_per_step"] for row in latency["rows"]}
    if len(decode) < 2 or 1 not in decode:
        raise SystemExit(
            f"{args.latency_json}: needs latency.py's steps at 1 row and at larger batches"
        )
    on_h200 = "H200" in latency["device"]
    print(f"serving: {args.serving_json} ({serving['commit']}, {serving['label']})")
    print(f"decode:  {args.latency_json} ({latency['commit']}, {latency['device']})")
    header = "rate  rows  step ms  decode@rows  median TPOT  TPOT/step1  TPOT/decode@rows"
    if on_h200:
        header += "  | vLLM TPOT  /step1  /decode@rows"
    print(header)
    for run in serving["rates"]:
        rate = float(run["rate"])
        if math.isinf(rate) or "server" not in run:
            continue
        rows = run["output_tokens"] / run["server"]["steps"]
        at_rows = step_at(rows, decode)
        tpot = run["tpot_ms"]["median"]
        line = (
            f"{rate:4g}  {rows:4.1f}  {run['server']['step_ms_mean']:7.2f}  {at_rows:11.2f}"
            f"  {tpot:11.2f}  {tpot / decode[1]:10.3f}  {tpot / at_rows:16.3f}"
        )
        peer = load_serving().VLLM_H200.get(rate)
        if on_h200 and peer is not None:
            peer_tpot = peer.median_tpot_ms
            peer_at_rows = step_at(rows, VLLM_DECODE_MS)
            line += (
                f"  | {peer_tpot:9.2f}  {peer_tpot / VLLM_DECODE_MS[1]:6.3f}"
                f"  {peer_tpot / peer_at_rows:12.3f}"
            )
        print(line)


if __name__ == "__main__":
    main()
