"""Session 28's figure: left, read bandwidth by the number of programs streaming (one an SM up to 132), from the
read-only kernel of gemv_tiles_probe_s28.py (calls 2 and 4, two machines); middle, each projection's GEMV
(shipped tiles; down at one row in both forms) as a share of the best read-only rate measured in the same run
(read_bw_probe_s28.json, call 1; gemv_tiles_probe_s28*.json, calls 2 and 4); right, all 200 requests at once,
b10df45 and the candidate (the one-row MLP unfused) in the order they ran (device_call_s28_call{6,7}.log).

    python3 bench/results/h200/s28_plot.py   (writes bench/results/h200/s28.png)"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

here = Path(__file__).parent
call1 = json.loads((here / "read_bw_probe_s28.json").read_text())
call2 = json.loads((here / "gemv_tiles_probe_s28_call2.json").read_text())
call4 = json.loads((here / "gemv_tiles_probe_s28.json").read_text())

fig, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 5))
for label, probe in (("call 2", call2), ("call 4", call4)):
    programs = [row["programs"] for row in probe["per_sm"]]
    left.plot(programs, [row["TBps"] for row in probe["per_sm"]], "o-", label=label)
left.axvline(132, color="grey", lw=0.8)
left.axhline(call1["ceilings"]["copy_bw_Bps"] / 1e12, color="grey", ls="--", lw=0.8, label="copy")
left.set_xscale("log", base=2)
left.set_xlabel("programs streaming (132 SMs)")
left.set_ylabel("TB/s read")
left.set_title("read-only stream by programs")
left.legend()

best1 = max(row["TBps"] for row in call1["read"])
bars = []
for row in call1["gemv"]:
    if row["tile"] is None:
        bars.append((f"{row['matrix']}\n1 row", row["TBps"] / best1))
best2 = call2["best_read_TBps"]
for row in call2["down_1row"]:
    if row["form"] != "fused" and tuple(row["tile"]) == (4, 2048, 4, 2):
        bars.append(("down, 1 row\nunfused", row["TBps"] / best2))
best4 = call4["best_read_TBps"]
for row in call4["rows"]:
    if row.get("shipped"):
        bars.append((f"{row['matrix']}\n{row['rows']} rows", row["TBps"] / best4))
middle.bar(range(len(bars)), [share for _, share in bars], color="tab:blue")
middle.set_xticks(range(len(bars)), [name.replace("\n", ", ") for name, _ in bars], fontsize=7)
middle.tick_params(axis="x", rotation=70)
middle.axhline(1.0, color="grey", lw=0.8)
middle.set_ylim(0.6, 1.1)
middle.set_ylabel("share of the best read-only rate")
middle.set_title("GEMV, shipped tiles (chains under PDL)")


def inf_lines(log: str) -> list[tuple[str, float]]:
    """(tree, output tok/s) of each all-at-once run in a device call's log, in order."""
    out = []
    tree = ""
    for line in (here / log).read_text().splitlines():
        if "all at once:" in line:
            tree = line.split("all at once:")[1].strip()
        if line.startswith("  inf  200/200"):
            out.append((tree, float(line.split()[3])))
    return out


runs = inf_lines("device_call_s28_call6.log") + inf_lines("device_call_s28_call7.log")
colors = ["tab:grey" if tree == "b10df45" else "tab:green" for tree, _ in runs]
right.bar(range(len(runs)), [tok for _, tok in runs], color=colors)
right.set_xticks(range(len(runs)), [tree for tree, _ in runs], fontsize=7)
right.axhline(4499, color="tab:red", lw=0.8, label="vLLM 4,499")
right.axhline(1.2 * 4499, color="tab:red", ls="--", lw=0.8, label="1.2x vLLM")
right.set_ylim(4000, 5600)
right.set_ylabel("output tok/s")
right.set_title("all 200 at once, in run order (calls 6, 7)")
right.legend(fontsize=7)
fig.tight_layout()
fig.savefig(here / "s28.png", dpi=110)
print(f"wrote {here / 's28.png'}")
