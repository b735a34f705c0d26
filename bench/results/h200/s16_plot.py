"""Session 16 (H200, 2026-12-02): the offline longest-first runs of calls 2-4 by variant and call (pacing
rounded to whole quanta; cuBLASLt preferred; both changes of call 3), and the decode step at N = 1, 8, 128,
256 by tree (calls 3 and 4), as one PNG. Every figure is read from the JSON beside this script.

    python3 bench/results/h200/s16_plot.py   # writes s16.png beside itself"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).parent

# (label, JSON), in run order within each call
OFFLINE = [
    ("call 2: d715674", "throughput_lf_before1_d715674_s16.json"),
    ("call 2: quantum 128", "throughput_lf_q128a_d715674_s16.json"),
    ("call 2: quantum 64", "throughput_lf_q64_d715674_s16.json"),
    ("call 2: quantum 128", "throughput_lf_q128b_d715674_s16.json"),
    ("call 2: d715674", "throughput_lf_before2_d715674_s16.json"),
    ("call 3: lt + fold", "throughput_lf_3bee563_s16.json"),
    ("call 3: d715674", "throughput_lf_d715674_s16.json"),
    ("call 4: lt", "throughput_lf_ae0c44a_s16c4.json"),
    ("call 4: d715674", "throughput_lf_d715674_s16c4.json"),
]
# (label, JSON) of latency.py runs
DECODE = [
    ("call 3: d715674", "latency_tokens16384_greedy_d715674.json"),
    ("call 3: lt + fold", "latency_tokens16384_greedy_3bee563.json"),
    ("call 4: d715674", "latency_tokens16384_greedy_N1-8_d715674.json"),
    ("call 4: fold", "latency_tokens16384_greedy_N1-8_be8f7ed.json"),
    ("call 4: lt", "latency_tokens16384_greedy_N1-8_ae0c44a.json"),
]


def greedy_seconds(name: str) -> float:
    runs = json.loads((HERE / name).read_text())["runs"]
    return next(run["seconds"] for run in runs if run["temperature"] == 0)


def main() -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    seconds = [greedy_seconds(name) for _, name in OFFLINE]
    colors = ["tab:blue" if "d715674" in label else "tab:orange" for label, _ in OFFLINE]
    left.barh(range(len(OFFLINE)), seconds, color=colors)
    left.set_yticks(range(len(OFFLINE)), [label for label, _ in OFFLINE])
    left.invert_yaxis()
    left.set_xlim(16, 18)
    left.axvline(16.5, color="gray", linestyle="--", label="issue 16's 16.5 s")
    for index, value in enumerate(seconds):
        left.text(value + 0.02, index, f"{value:.2f}", va="center")
    left.set_xlabel("seconds, offline longest-first greedy (1000 requests)")
    left.legend(loc="lower right")
    width = 0.16
    batches = [1, 8, 128, 256]
    for index, (label, name) in enumerate(DECODE):
        rows = json.loads((HERE / name).read_text())["rows"]
        by_batch = {row["batch"]: row["ms_per_step"] for row in rows}
        positions = [b + (index - 2) * width for b in range(len(batches)) if batches[b] in by_batch]
        reference = json.loads((HERE / DECODE[0 if "call 3" in label else 2][1]).read_text())[
            "rows"
        ]
        base = {row["batch"]: row["ms_per_step"] for row in reference}
        values = [by_batch[batch] / base[batch] for batch in batches if batch in by_batch]
        right.bar(positions, values, width, label=label)
    right.set_xticks(range(len(batches)), [f"N = {batch}" for batch in batches])
    right.set_ylim(0.97, 1.04)
    right.axhline(1.0, color="gray", linewidth=0.8)
    right.set_ylabel("ms a decode step / d715674's in the same call")
    right.legend(fontsize=8)
    fig.suptitle("NVIDIA H200, 2026-12-02, session 16: what was tried and reverted")
    fig.tight_layout()
    fig.savefig(HERE / "s16.png", dpi=110)


if __name__ == "__main__":
    main()
