"""Session 16 (H200, 2026-12-02): prefill attention in a mixed graph, by grid and tiles
(exp_prefill_grid_s16.py, device_call_b1b44ad_s16_prefill_grid.log): writes prefill_grid_s16.json and
prefill_grid_s16.png beside itself from the log.

    python3 bench/results/h200/prefill_grid_plot_s16.py"""

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).parent
LOG = HERE / "device_call_b1b44ad_s16_prefill_grid.log"
VARIANTS = ["graph", "real", "st2x64", "items"]
ROW = re.compile(r"^\s*(\d+ dec \+ .+?)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s")


def main() -> None:
    lines = LOG.read_text().splitlines()
    cases = []
    for line in lines:
        match = ROW.match(line)
        if match:
            times = [float(value) for value in match.groups()[1:]]
            cases.append({"case": match.group(1), "us": dict(zip(VARIANTS, times))})
    data = {
        "device": lines[0].split(",")[0],
        "date": "2026-12-02",
        "commit": "b1b44ad",
        "cases": cases,
    }
    (HERE / "prefill_grid_s16.json").write_text(json.dumps(data, indent=1) + "\n")
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.2
    for index, variant in enumerate(VARIANTS):
        positions = [i + (index - 1.5) * width for i in range(len(cases))]
        ax.bar(positions, [case["us"][variant] for case in cases], width, label=variant)
    ax.set_xticks(range(len(cases)), [case["case"] for case in cases], fontsize=8)
    ax.set_ylabel("us a call (32 calls in a CUDA graph)")
    ax.set_title(f"{data['device']}, {data['date']}: prefill attention in a 256-token mixed graph")
    ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "prefill_grid_s16.png", dpi=110)


if __name__ == "__main__":
    main()
