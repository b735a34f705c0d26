"""Session 35's plot (s35.png) and its numbers (s35.json), from the device calls' logs in this folder:
call 2's bare decode step A/B (53dda9e, + the reduce change, + both changes = e7b5651; three rounds each),
call 5's programs-an-SM variants at 1-16 rows, and call 3's decode-attention sweep at the mixed steps' decode
shapes (tiles x splits). Run from the repository root: python3 bench/results/h200/s35_plot.py"""

import json
from pathlib import Path
from statistics import mean

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).parent


def ab_rows(log: str) -> dict[str, list[dict[str, float]]]:
    """label -> one {cell: ms} per AB line."""
    rows: dict[str, list[dict[str, float]]] = {}
    for line in (HERE / log).read_text().splitlines():
        if line.startswith("AB "):
            label, *cells = line.split()[1:]
            rows.setdefault(label, []).append(
                {c.split(":")[0]: float(c.split(":")[1]) for c in cells}
            )
    return rows


def means(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: mean(r[k] for r in rows) for k in rows[0]}


call2 = {k: means(v) for k, v in ab_rows("device_call_s35_call2.log").items()}
call5 = {k: means(v) for k, v in ab_rows("device_call_s35_call5.log").items()}
sweep = {}
for b in (72, 100, 127):
    d = json.loads((HERE / f"decode_sweep_tile_splits_{b}_s35.json").read_text())
    row = d["rows"][0]
    sweep[b] = {k: v / row["floor_us"] for k, v in row["tiles"].items()}
out = {"call2_ms": call2, "call5_ms": call5, "call3_sweep_x_floor": sweep}
(HERE / "s35.json").write_text(json.dumps(out, indent=1))

fig, ax = plt.subplots(1, 3, figsize=(16, 4.5))
cells = [c for c in call2["ab_old"] if not c.startswith("m")]
x = range(len(cells))
for label, name in (("ab_mid", "+ reduce change"), ("main", "+ reduce + RMSNorm weight (e7b5651)")):
    ax[0].plot(x, [call2[label][c] / call2["ab_old"][c] for c in cells], "o-", label=name)
ax[0].axhline(1.0, color="gray", lw=0.8)
ax[0].set_xticks(list(x), cells)
ax[0].set_xlabel("decode rows (context 1088)")
ax[0].set_ylabel("step time / 53dda9e's (mean of 3 rounds)")
ax[0].set_title("call 2: the bare decode step")
ax[0].legend(fontsize=8)
cells5 = list(call5["main"])
x5 = range(len(cells5))
for label, name in (
    ("ab_row", "154 registers (3 an SM)"),
    ("ab_st5", "64x4x5 tiles (3 an SM by smem)"),
):
    ax[1].plot(x5, [call5[label][c] / call5["main"][c] for c in cells5], "o-", label=name)
ax[1].axhline(1.0, color="gray", lw=0.8)
ax[1].set_xticks(list(x5), cells5)
ax[1].set_xlabel("decode rows (context 1088)")
ax[1].set_ylabel("step time / e7b5651's")
ax[1].set_title("call 5: 3 decode programs an SM, not 4 (not kept)")
ax[1].legend(fontsize=8)
names = list(sweep[72])
width = 0.8 / len(names)
for i, n in enumerate(names):
    ax[2].bar([j + i * width for j in range(3)], [sweep[b][n] for b in sweep], width, label=n)
ax[2].set_xticks([j + 0.4 - width / 2 for j in range(3)], [f"{b} rows" for b in sweep])
ax[2].set_ylabel("us a layer / K/V read at copy bandwidth")
ax[2].set_title("call 3: mixed steps' decode rows (sigma 0.77)")
ax[2].legend(fontsize=7)
fig.suptitle("Session 35, H200 (each panel one device call)")
fig.tight_layout()
fig.savefig(HERE / "s35.png", dpi=110)
print(json.dumps(out, indent=1))
