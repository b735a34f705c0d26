"""Session 20 (2026-12-03, H200): the two prepared fusions against the tree they apply to, from
device_call_s20_fusions.log. The bare decode step (step_ab_ef11845.py, run as is: time_pipelined, the engine's
CUDA graphs, context 1088, median of 5), two processes of each tree alternating; the bars are each tree's mean
as a ratio to main's (28c3596). "normed": the RMSNorm done by the GEMV as it loads x (branch norm-gemv);
"gated": SiLU x mul in the gate_up GEMV's epilogue (branch gated-gemv). Neither was kept.

    python3 bench/results/h200/s20_plot.py   # writes s20.png and s20_fusions.json beside itself"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from s18_plot import steps  # noqa: E402  (beside this script: its "AB" lines reader)

HERE = Path(__file__).parent
LOG = HERE / "device_call_s20_fusions.log"


def main() -> None:
    trees = steps(LOG, "")
    means = {
        tree: {rows: sum(ms) / len(ms) for rows, ms in by_rows.items()}
        for tree, by_rows in trees.items()
    }
    base = means["before"]
    row_counts = sorted(base)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / len(means)
    for index, (tree, by_rows) in enumerate(means.items()):
        xs = [i + index * width for i in range(len(row_counts))]
        ax.bar(xs, [by_rows[r] / base[r] for r in row_counts], width, label=tree)
    ax.set_xticks([i + width for i in range(len(row_counts))], [str(r) for r in row_counts])
    ax.set_ylim(0.95, 1.12)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("sequences (decode rows)")
    ax.set_ylabel("bare decode step / main's (lower is faster)")
    ax.set_title("H200, 2026-12-03: two fusions against main 28c3596 (not kept)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "s20.png", dpi=110)
    record = {
        "device": "NVIDIA H200",
        "date": "2026-12-03",
        "commit": "28c3596 (before); branches norm-gemv and gated-gemv rebased on it",
        "script": "bench/results/h200/step_ab_ef11845.py, context 1088, median of 5, two processes",
        "ms": {tree: {str(r): ms for r, ms in by_rows.items()} for tree, by_rows in trees.items()},
    }
    (HERE / "s20_fusions.json").write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
