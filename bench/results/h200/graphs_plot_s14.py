"""Session 14's offline runs (bench/throughput.py, H200, 2026-12-02): seconds by device call and tree (mixed
steps on piecewise graphs at 48807ed, on whole mixed graphs from 877b021), and the mixed steps' device ms by
tenth of the run, as one PNG.

    python3 bench/results/h200/graphs_plot_s14.py   # writes graphs_s14.png beside itself"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).parent
# (call, what, file) in the order they ran
RUNS = [
    ("1", "48807ed lf in-process", "throughput_lf-inprocess_48807ed.json"),
    ("1", "48807ed lf worker process", "throughput_lf-process_48807ed.json"),
    ("1", "48807ed lf in-process", "throughput_lf-inprocess-second_48807ed.json"),
    ("2", "48807ed lf (piecewise)", "throughput_lf-before_48807ed.json"),
    ("2", "877b021 lf (mixed graphs)", "throughput_lf-after_877b021.json"),
    ("2", "877b021 fcfs", "throughput_fcfs-after_877b021.json"),
    ("2", "48807ed fcfs", "throughput_fcfs-before_48807ed.json"),
    ("2", "877b021 lf worker process", "throughput_lf-after-process_877b021.json"),
    ("3", "8e74457 lf", "throughput_lf_8e74457.json"),
    ("4", "8e74457 lf", "throughput_lf_asis_8e74457.json"),
    ("4", "8e74457 lf, decode split 4x512", "throughput_lf_split4_8e74457.json"),
    ("4", "8e74457 lf, decode split 2x512", "throughput_lf_split2_8e74457.json"),
]


def main() -> None:
    labels = []
    greedy = []
    temp1 = []
    for call, what, name in RUNS:
        data = json.loads((HERE / name).read_text())
        by_temperature = {run["temperature"]: run["seconds"] for run in data["runs"]}
        labels.append(f"call {call}: {what}")
        greedy.append(by_temperature.get(0.0, float("nan")))
        temp1.append(by_temperature.get(1.0, float("nan")))
    fig, (bars, tenths) = plt.subplots(1, 2, figsize=(15, 6), width_ratios=[3, 2])
    rows = range(len(labels))
    bars.barh([r - 0.2 for r in rows], greedy, height=0.4, label="greedy")
    bars.barh([r + 0.2 for r in rows], temp1, height=0.4, label="temperature 1.0")
    bars.axvline(21.83, color="gray", linestyle="--", label="vLLM 0.24 greedy (21.83 s)")
    bars.axvline(16.5, color="red", linestyle=":", label="issue 16 target (16.5 s)")
    bars.set_yticks(list(rows), labels)
    bars.invert_yaxis()
    bars.set_xlim(15, 22)
    bars.set_xlabel(
        "seconds, 1000 requests of sharegpt_like_1000.json (lf: --schedule-policy longest-first)"
    )
    bars.legend(loc="lower right")
    for name, label in (
        ("throughput_lf_8e74457.json", "8e74457, call 3"),
        ("throughput_lf_asis_8e74457.json", "8e74457, call 4"),
        ("throughput_lf_split4_8e74457.json", "decode split 4x512, call 4"),
        ("throughput_lf_split2_8e74457.json", "decode split 2x512, call 4"),
    ):
        data = json.loads((HERE / name).read_text())
        kinds = {kind["kind"]: kind for kind in data["runs"][0]["step_kinds"]}
        by_tenth = kinds["mixed, <= 512 tokens"].get("ms_by_tenth")
        if by_tenth:
            tenths.plot(range(1, 11), by_tenth, marker="o", label=label)
    tenths.set_xlabel("tenth of the run's 1,548 mixed steps")
    tenths.set_ylabel("device ms a step (worker CUDA events)")
    tenths.set_title("mixed steps of 256 tokens on mixed graphs, greedy")
    tenths.legend()
    fig.suptitle("NVIDIA H200, 2026-12-02, session 14: mixed steps on whole CUDA graphs")
    fig.tight_layout()
    fig.savefig(HERE / "graphs_s14.png", dpi=110)


if __name__ == "__main__":
    main()
