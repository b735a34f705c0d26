"""Session 13's offline runs (bench/throughput.py, H200): seconds by schedule policy and device call, and the
step time by kind of the first longest-first run against first come first served, as one PNG.

    python3 bench/results/h200/policy_plot_s13.py   # writes policy_s13.png beside itself"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).parent
# (call, file) in the order they ran; the floor-128/384/512 runs are the policy with another floor
RUNS = [
    ("1", "throughput_fcfs_7e5b0f9.json"),
    ("1", "throughput_longest-first_7e5b0f9.json"),
    ("1", "throughput_longest-first-floor256_7e5b0f9.json"),
    ("1", "throughput_fcfs-again_7e5b0f9.json"),
    ("2", "throughput_longest-first_a641d69.json"),
    ("2", "throughput_longest-first-floor384_a641d69.json"),
    ("2", "throughput_longest-first-floor512_a641d69.json"),
    ("3", "throughput_fcfs_3e1800f.json"),
    ("3", "throughput_longest-first_3e1800f.json"),
    ("3", "throughput_fcfs-second_3e1800f.json"),
    ("3", "throughput_longest-first-second_3e1800f.json"),
    ("4", "throughput_longest-first_caa6c97.json"),
    ("4", "throughput_fcfs_caa6c97.json"),
    ("4", "throughput_longest-first-second_caa6c97.json"),
]
FLOORS = {"7e5b0f9": 128, "a641d69": 256, "3e1800f": 256, "caa6c97": 256}


def label(call: str, name: str) -> str:
    stem = name.removeprefix("throughput_").removesuffix(".json")
    policy, _, commit = stem.rpartition("_")
    if policy == "longest-first" and commit in FLOORS:
        policy += f"-floor{FLOORS[commit]}"
    return f"call {call}: {policy}"


def main() -> None:
    labels = []
    greedy = []
    temp1 = []
    for call, name in RUNS:
        data = json.loads((HERE / name).read_text())
        by_temperature = {run["temperature"]: run["seconds"] for run in data["runs"]}
        labels.append(label(call, name))
        greedy.append(by_temperature.get(0.0, float("nan")))
        temp1.append(by_temperature.get(1.0, float("nan")))
    fig, ax = plt.subplots(figsize=(10, 6))
    rows = range(len(labels))
    ax.barh([r - 0.2 for r in rows], greedy, height=0.4, label="greedy")
    ax.barh([r + 0.2 for r in rows], temp1, height=0.4, label="temperature 1.0")
    ax.axvline(21.83, color="gray", linestyle="--", label="vLLM 0.24 greedy (21.83 s)")
    ax.axvline(16.5, color="red", linestyle=":", label="issue 16 target (16.5 s)")
    ax.set_yticks(list(rows), labels)
    ax.invert_yaxis()
    ax.set_xlabel("seconds, 1000 requests of sharegpt_like_1000.json (Llama-3-8B shape, H200)")
    ax.set_title("Offline throughput by schedule policy, session 13 (2026-12-02)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=4)
    fig.tight_layout()
    fig.savefig(HERE / "policy_s13.png", dpi=120)


if __name__ == "__main__":
    main()
