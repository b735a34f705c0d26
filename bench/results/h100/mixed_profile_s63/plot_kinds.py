"""Draws profile_step.py's gap to the floor by kind of kernel (this directory's JSONs) as bars:
PYTHONPATH=. python3 bench/results/h100/mixed_profile_s63/plot_kinds.py"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).parent
fig, ax = plt.subplots(figsize=(7, 4))
LABELS = {"pdl": "PDL", "no-pdl": "PDL again (--no-pdl was a no-op then)"}
for offset, mode in ((-0.2, "pdl"), (0.2, "no-pdl")):
    data = json.loads((HERE / f"profile_step_127x438_chunks1x129_{mode}.json").read_text())
    (step,) = data["steps"]
    kinds = [kind for kind in step["gap"] if kind["kind"] != "all kernels"]
    xs = [i + offset for i in range(len(kinds))]
    ax.bar(xs, [kind["us"] for kind in kinds], width=0.4, label=LABELS[mode])
    ax.bar(xs, [kind["floor_us"] for kind in kinds], width=0.4, fill=False, hatch="//", label=None)
ax.set_xticks(range(len(kinds)), [kind["kind"] for kind in kinds], fontsize=8)
ax.set(
    ylabel="µs a step (hatched: the kind's roofline floor)",
    title=f"offline's mean mixed step (127 decodes at 438, a 129-token chunk), {data['device']}\n"
    f"step unprofiled {step['step_ms_unprofiled']:.2f} ms; commit {data['commit']}",
)
ax.title.set_fontsize(9)
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(HERE / "profile_kinds.png", dpi=120)
