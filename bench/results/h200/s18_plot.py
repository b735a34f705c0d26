"""Session 18 (2026-12-02): the bare decode step (step_ab_ef11845.py beside this script, run as is:
time_pipelined, context 1088) by tree and row count, from the device logs, as one PNG.
Left: the H100 of call 3 (HEAD 7c2c335; the GEMV loading its first weight tile before the PDL wait at one
row plus the decode reduce launching its successor early, "wf1+red" = 97aad57; the reduce change alone,
"red"). Right: the H200 of call 5 (173970b, session 17's timed tree; 97aad57; the multiply-add of 2-8 rows,
"fma", not kept). Two processes of each tree, alternating; the bars are their mean.

    python3 bench/results/h200/s18_plot.py   # writes s18.png beside itself"""

import re
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).parent
# (title, log, the part of the log to read: the text after this marker, or all)
PANELS = [
    ("H100, call 3", HERE.parent / "h100" / "device_call_s18_wfirst.log", "# call 3"),
    ("H200, call 5", HERE / "device_call_s18_fma_steps.log", ""),
]


def steps(log: Path, marker: str) -> dict[str, dict[int, list[float]]]:
    """{tree: {rows: [ms, ...]}} of the "AB" lines after the marker."""
    text = log.read_text()
    text = text[text.index(marker) :] if marker else text
    found: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for line in text.splitlines():
        match = re.match(r"AB (\S+)\s+(.*)", line)
        if not match:
            continue
        for pair in match.group(2).split():
            rows, ms = pair.split(":")
            found[match.group(1)][int(rows)].append(float(ms))
    return found


def main() -> None:
    fig, axes = plt.subplots(1, 2, figsize=(14, 5))
    for ax, (title, log, marker) in zip(axes, PANELS):
        trees = steps(log, marker)
        baseline = next(iter(trees.values()))
        row_counts = sorted(baseline)
        width = 0.8 / len(trees)
        for index, (tree, by_rows) in enumerate(trees.items()):
            ratios = [
                sum(by_rows[r]) / len(by_rows[r]) / (sum(baseline[r]) / len(baseline[r]))
                for r in row_counts
            ]
            xs = [i + (index - (len(trees) - 1) / 2) * width for i in range(len(row_counts))]
            ax.bar(xs, ratios, width, label=tree)
            for x, ratio in zip(xs, ratios):
                if ratio > 1.1:  # off the axis: its value written at the top
                    ax.text(
                        x, 1.095, f"{ratio:.2f}", ha="center", va="top", fontsize=7, rotation=90
                    )
        ax.set_xticks(range(len(row_counts)), [str(r) for r in row_counts])
        ax.set_xlabel("sequences in the decode step (context 1088)")
        ax.set_ylabel(f"bare step time / the first tree's ({next(iter(trees))})")
        ax.set_ylim(0.9, 1.1)
        ax.axhline(1.0, color="gray", linewidth=0.8)
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.suptitle(
        "Session 18: the GEMV's first weight tile before the PDL wait (bars below 1 are faster)"
    )
    fig.tight_layout()
    fig.savefig(HERE / "s18.png", dpi=110)


if __name__ == "__main__":
    main()
