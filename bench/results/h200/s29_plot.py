"""Session 29's figure: left, decode attention (8 layers' caches in a CUDA graph, context 1,088, new tokens rotated
in the kernel) in us a layer over its K/V read at copy bandwidth, by batch: the shipped kernel and the experiment
(the block-table load one tile ahead, so K/V are double-buffered), each at 64x4x3 and its best split, and the
shipped one at decode_params' split (call 1, device_call_s29_call1.log; one split at 32-256 rows from call 2,
decode_stages_probe2_s29.json); middle, the decode step (step_ab, two rounds) with the experiment's kernel over
the shipped one (call 1); right, qkv / o / down GEMVs at 2-32 rows as a share of 1.048x copy bandwidth, shipped
against the best tile in 2 K parts (qkv_parts_probe_s29.json, call 3).

    python3 bench/results/h200/s29_plot.py   (writes bench/results/h200/s29.png)"""

import ast
import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

here = Path(__file__).parent
log1 = (here / "device_call_s29_call1.log").read_text()
probe2 = json.loads((here / "decode_stages_probe2_s29.json").read_text())
parts = json.loads((here / "qkv_parts_probe_s29.json").read_text())

# "batch 8 floor 8.4 default (8, 64): ship 64x4x3 16.7 (1.97) {4: 20.7, ...} exp 64x4x3 ..."
rows = {}
for line in log1.splitlines():
    head = re.match(r"batch (\d+) floor ([\d.]+) default \((\d+), \d+\): (.*)", line)
    if not head:
        continue
    batch, floor, split = int(head[1]), float(head[2]), int(head[3])
    cells = {}
    for kernel, tile, body in re.findall(
        r"(ship|exp) (\d+x\d+x\d+) [\d.]+ \([\d.]+\) (\{[^}]*\})", head[4]
    ):
        cells[f"{kernel} {tile}"] = ast.literal_eval(body)
    rows[batch] = (floor, split, cells)

fig, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 5))
batches = sorted(rows)
for name, style in (("ship 64x4x3", "o-"), ("exp 64x4x3", "s-")):
    ratio = [min(rows[b][2][name].values()) / rows[b][0] for b in batches]
    left.plot(batches, ratio, style, label=f"{name}, best split")
default = [rows[b][2]["ship 64x4x3"].get(rows[b][1], float("nan")) / rows[b][0] for b in batches]
left.plot(batches, default, "k:", marker="x", label="ship 64x4x3, decode_params' split")
one_split = [r for r in probe2["rows"] if r["case"].endswith("x1088")]
for name, style in (("ship 64x4x3", "o--"), ("exp 64x4x3", "s--"), ("exp 64x4x2", "^--")):
    xs = [int(r["case"].split("x")[0]) for r in one_split]
    left.plot(
        xs,
        [r["us"][name] / r["floor_us"] for r in one_split],
        style,
        alpha=0.6,
        label=f"{name}, 1 split (call 2)",
    )
left.set_xscale("log", base=2)
left.set_yscale("log")
left.set_xlabel("sequences (context 1,088)")
left.set_ylabel("us a layer / K/V read at copy bandwidth")
left.set_title("decode attention: K/V double-buffered (exp) or not (ship)")
left.legend(fontsize=7)

ab = {}
for label, cells in re.findall(r"^AB (\S+)\s+(.*) mixed:", log1, re.M):
    for cell in cells.split():
        rows_, ms = cell.split(":")
        ab.setdefault(label, {}).setdefault(int(rows_), []).append(float(ms))
for label, style in (("exp64x4x3", "s-"), ("exp64x4x4", "^-")):
    xs = sorted(ab["ship"])
    ys = [100 * (sum(ab[label][x]) / sum(ab["ship"][x]) - 1) for x in xs]
    middle.plot(xs, ys, style, label=label)
middle.axhline(0, color="grey", lw=0.8)
middle.set_xscale("log", base=2)
middle.set_xlabel("sequences")
middle.set_ylabel("decode step, % over the shipped kernel")
middle.set_title("the whole step (step_ab, two rounds each)")
middle.legend(fontsize=8)

for matrix, color in (("qkv", "C0"), ("o", "C1"), ("down", "C2")):
    cells = [c for c in parts["cells"] if c["matrix"] == matrix and c["us"] == c["us"]]
    xs = sorted({c["rows"] for c in cells})
    shipped_parts = 1 if matrix == "qkv" else 2  # o and down ship in 2 K parts at 2-32 rows
    ship_us = []
    for x in xs:
        same = [c for c in cells if c["rows"] == x and c["parts"] == shipped_parts]
        ship_us.append(min(c["us"] for c in same if tuple(c["tile"]) == (64, 256, 4, 4)))
    best2 = [min(c["us"] for c in cells if c["rows"] == x and c["parts"] == 2) for x in xs]
    right.plot(xs, ship_us, "o-", color=color, label=f"{matrix} shipped")
    right.plot(xs, best2, "s--", color=color, label=f"{matrix} best of 2 K parts")
right.set_xscale("log", base=2)
right.set_xlabel("rows")
right.set_ylabel("us a projection (chain of 8, CUDA graph, PDL)")
right.set_title("GEMVs at 2-32 rows (qkv_parts_probe_s28.py, call 3)")
right.legend(fontsize=7)
fig.tight_layout()
fig.savefig(here / "s29.png", dpi=110)
print("wrote", here / "s29.png")
