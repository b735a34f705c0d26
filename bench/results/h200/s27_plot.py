"""Session 27's figure: left, the chain experiment (splitk_bmm_exp_s27.json), each split-K cuBLAS bmm variant's
time over the shipped tree's by rows; right, the decode step and offline's mean mixed step, the new tree's
time over the old one's, in every round of step_ab that the calls ran (device_call_s27_call{1,2,3}.log), and
the offline runs' mixed steps (calls 2 and 4).

    python3 bench/results/h200/s27_plot.py   (writes bench/results/h200/s27.png)"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

here = Path(__file__).parent
chain = json.loads((here / "splitk_bmm_exp_s27.json").read_text())


def step_ab_lines(log: str) -> list[tuple[str, dict[str, float]]]:
    """("AB <label> rows:ms ... mixed:ms") lines of a device call's log, in order."""
    out = []
    for line in (here / log).read_text().splitlines():
        if line.startswith("AB "):
            label, *cells = line.split()[1:]
            out.append((label, {c.split(":")[0]: float(c.split(":")[1]) for c in cells}))
    return out


fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
rows = [int(r) for r in chain["rows"]]
names = {
    ":2": "shipped",
    "down:2": "down, 2 parts",
    "both:2": "o and down, 2 parts",
    "down:4": "down, 4 parts",
}


def layer_us(cells: list[dict], variant: str) -> float:
    """The variant's best time in one row count's cells, us a layer."""
    return min(c["ms"] for c in cells if c["variant"] == variant) * 1e3 / chain["layers"]


for variant, label in names.items():
    ratio = [layer_us(r, variant) / layer_us(r, ":2") for r in chain["rows"].values()]
    left.plot(rows, ratio, "o-", label=label)
left.set_xscale("log", base=2)
left.set_xlabel("rows")
left.set_ylabel("time / shipped (its faster of two runs)")
left.set_title("8 Llama-3-8B layers without attention, H200")
left.legend()

ratios: dict[str, list[float]] = {}
for log in ("device_call_s27_call1.log", "device_call_s27_call2.log", "device_call_s27_call3.log"):
    lines = step_ab_lines(log)
    old = [cells for label, cells in lines if label == "head"]
    new = [cells for label, cells in lines if label in ("down", "final")]
    for before, after in zip(old, new):
        for key in after:
            if key in before:
                ratios.setdefault(key, []).append(after[key] / before[key])
keys = sorted(ratios, key=lambda k: (k == "mixed", int(k) if k != "mixed" else 0))
for i, key in enumerate(keys):
    right.plot([i] * len(ratios[key]), ratios[key], "o", color="C0")


def mixed_ms(name: str) -> float:
    """The greedy run's mean mixed-step ms in a throughput JSON."""
    run = [r for r in json.loads((here / name).read_text())["runs"] if r["temperature"] == 0][0]
    kind = [k for k in run["step_kinds"] if k["kind"].startswith("mixed")][0]
    return kind["gpu_s"] * 1e3 / kind["steps"]


offline = [
    ("throughput_d889046_s27_call2.json", "throughput_3abf47e_s27.json"),
    ("throughput_d889046_s27_call4.json", "throughput_8258601_s27.json"),
]
for j, (before, after) in enumerate(offline):
    label = "offline run's mixed steps" if j == 0 else None
    right.plot([len(keys)], [mixed_ms(after) / mixed_ms(before)], "s", color="C1", label=label)
right.axhline(1.0, color="k", lw=0.8)
right.set_xticks(range(len(keys) + 1), [*keys, "offline"])
right.set_xlabel("decode rows (bare step at context 1,088) / offline's mean mixed step")
right.set_ylabel("new tree / d889046")
right.set_title("down as a split-K cuBLAS bmm: each round")
right.legend()
fig.tight_layout()
fig.savefig(here / "s27.png", dpi=110)
