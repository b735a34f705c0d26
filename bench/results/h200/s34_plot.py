"""Session 34's figure: the o projection at 128-320 rows as cuBLAS's F.linear against the split-K bmm (call 3's
split_linear_probe_s34.py), and mixed steps of 160-384 tokens on the tree before (cf0a648) and the current one
(call 4's mixed_ab_s34.py, one machine, one call). Parses the calls' logs; writes s34_o_split.{png,json}.

    python3 bench/results/h200/s34_plot.py"""

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent
probe = {}
for line in (HERE / "device_call_s34_call3.log").read_text().splitlines():
    cells = line.split()
    if len(cells) == 5 and cells[0].isdigit() and cells[1] == "o":
        probe[int(cells[0])] = {"linear_us": float(cells[2]), "bmm2_us": float(cells[3])}
steps = {}
for line in (HERE / "device_call_s34_call4.log").read_text().splitlines():
    match = re.match(r"AB (\S+)\s+(.*)", line)
    if match:
        label = "before (cf0a648)" if match.group(1) == "ab_old" else "o split (7b658f2)"
        steps[label] = {int(k): float(v) for k, v in (c.split(":") for c in match.group(2).split())}
data = {
    "device": "NVIDIA H200",
    "date": "2026-12-04",
    "commits": {"before": "cf0a648", "after": "7b658f2 (runs labelled 1e0d06d, same swiftllm/)"},
    "o_projection_us_a_layer": probe,
    "mixed_step_ms": steps,
}
(HERE / "s34_o_split.json").write_text(json.dumps(data, indent=1))
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
rows = sorted(probe)
left.plot(rows, [probe[r]["linear_us"] for r in rows], "o-", label="F.linear (cuBLAS)")
left.plot(rows, [probe[r]["bmm2_us"] for r in rows], "s-", label="split-K bmm, 2 parts")
left.set_xlabel("rows")
left.set_ylabel("us a layer (8 layers' weights, CUDA graph)")
left.set_title("o projection (4096 x 4096), H200, call 3")
left.legend()
for label, by_tokens in steps.items():
    tokens = sorted(by_tokens)
    right.plot(tokens, [by_tokens[t] for t in tokens], "o-", label=label)
right.set_xlabel("tokens in the mixed step")
right.set_ylabel("ms a step (ModelRunner.step, median)")
right.set_title("mixed steps, Llama-3-8B shape, H200, call 4")
right.legend()
fig.tight_layout()
fig.savefig(HERE / "s34_o_split.png", dpi=110)
print(json.dumps(data["mixed_step_ms"]))
