"""The probe's figures from its logs (the call kept no JSON), as fusion_bound_s63.json and .png:
PYTHONPATH=. python3 bench/results/h100/fusion_bound_s63/summarize.py"""

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).parent
runs = []
for log in sorted(HERE.glob("run*_*.log")):
    text = log.read_text()
    steps = []
    for block in re.split(r"^batch ", text, flags=re.MULTILINE)[1:]:
        floor = re.search(r"^all kernels\s+[\d.]+\s+([\d.]+)", block, re.MULTILINE)
        steps.append(
            {
                "decode_rows": int(re.match(r"(\d+)", block).group(1)),
                "step_ms_unprofiled": float(
                    re.search(r"step unprofiled: ([\d.]+) ms", block).group(1)
                ),
                "floor_ms": float(floor.group(1)) / 1e3,
            }
        )
    runs.append({"run": int(log.stem[3]), "mode": log.stem.split("_")[1], "steps": steps})
runs.sort(key=lambda run: run["run"])
head = (HERE / "all.log").read_text().splitlines()[0]
data = {"device": head, "date": "2026-12-07", "commit": "25511f6", "context": 1088, "runs": runs}
(HERE / "fusion_bound_s63.json").write_text(json.dumps(data, indent=1))

fig, ax = plt.subplots(figsize=(6.5, 4))
rows = [step["decode_rows"] for step in runs[0]["steps"]]
for run in runs:
    label = (
        f"run {run['run']}: {'as it is' if run['mode'] == 'none' else 'no RMSNorm, no SiLU x mul'}"
    )
    style = "o-" if run["mode"] == "none" else "s--"
    ax.plot(rows, [s["step_ms_unprofiled"] for s in run["steps"]], style, label=label)
ax.plot(rows, [s["floor_ms"] for s in runs[0]["steps"]], "k:", label="roofline floor (run 1)")
ax.set(
    xscale="log",
    xticks=rows,
    xticklabels=[str(r) for r in rows],
    xlabel="decode rows (context 1,088)",
    ylabel="step ms, unprofiled (PDL)",
    title=f"the bound of fusing RMSNorm and SiLU x mul away, {head.split(',')[0]}",
)
ax.title.set_fontsize(9)
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(HERE / "fusion_bound_s63.png", dpi=120)
for run in runs:
    print(
        run["run"],
        run["mode"],
        [
            (s["decode_rows"], s["step_ms_unprofiled"], round(s["floor_ms"], 3))
            for s in run["steps"]
        ],
    )
