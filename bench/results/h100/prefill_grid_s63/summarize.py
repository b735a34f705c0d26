"""The A/B's figures from its logs (the device tool returned no JSON: its file count), as prefill_grid_s63.json
and .png: PYTHONPATH=. python3 bench/results/h100/prefill_grid_s63/summarize.py"""

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Patch

HERE = Path(__file__).parent
LABELS = {
    "A": "this tree (grid tiles x chunks x KV heads)",
    "B": "grid tiles x KV heads x chunks",
    "C": "this tree, CHUNKS = 1",
    "D": "the 127 decodes alone",
}


def kernel_us(text: str, name: str) -> float | None:
    match = re.search(rf"^{name}\s+([\d.]+)", text, re.MULTILINE)
    return float(match.group(1)) if match else None


runs = []
for log in sorted(HERE.glob("run*_*.log")):
    text = log.read_text()
    variant = log.stem.split("_")[1]
    runs.append(
        {
            "run": int(log.stem[3 : log.stem.index("_")]),
            "variant": variant,
            "what": LABELS[variant],
            "step_ms_unprofiled": float(re.search(r"step unprofiled: ([\d.]+) ms", text).group(1)),
            "kernels_ms": float(re.search(r"GPU kernels ([\d.]+) ms", text).group(1)),
            "prefill_kernel_us": kernel_us(text, "_prefill_kernel"),
            "decode_kernel_us": kernel_us(text, "_decode_kernel"),
        }
    )
runs.sort(key=lambda run: run["run"])
head = (HERE / "all.log").read_text().splitlines()[0]
data = {"device": head, "date": "2026-12-07", "commit": "9e72840", "runs": runs}
(HERE / "prefill_grid_s63.json").write_text(json.dumps(data, indent=1))

fig, ax = plt.subplots(figsize=(7, 4))
colors = {"A": "C0", "B": "C1", "C": "C2", "D": "C7"}
for run in runs:
    ax.bar(run["run"], run["step_ms_unprofiled"], color=colors[run["variant"]])
    ax.text(
        run["run"], run["step_ms_unprofiled"] + 0.1, f"{run['step_ms_unprofiled']:.2f}", ha="center"
    )
handles = [Patch(color=colors[v], label=f"{v}: {label}") for v, label in LABELS.items()]
ax.set(
    xlabel="run, in order (each a fresh process)",
    ylabel="step ms, unprofiled",
    ylim=(0, 12.5),
    title=f"offline's mean mixed step (127 decodes at 438 + a 129-token chunk), {head.split(',')[0]}",
)
ax.title.set_fontsize(9)
ax.legend(handles=handles, fontsize=7, loc="lower right")
fig.tight_layout()
fig.savefig(HERE / "prefill_grid_s63.png", dpi=120)
