"""Session 17 (H200, 2026-12-02): the offline longest-first runs of calls 1 and 2 (prefill attention beside
decode attention in mixed graphs, at the side stream's default priority and at -1), and the decode step at 24
and 32 sequences by commit (call 4's bisection) and by grid (call 5), as one PNG. The offline figures are
read from the JSON beside this script, the decode ones from the calls' logs (call 5 kept no JSON; its "head"
is the swiftllm/ of 173970b, "grid3" that of ed8d24b).

    python3 bench/results/h200/s17_plot.py   # writes s17.png beside itself"""

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).parent

# (label, JSON, temperature), in run order
OFFLINE = [
    ("call 1: 4497559", "throughput_lf_4497559_r1_s17.json", 0.0),
    ("call 1: side stream", "throughput_lf_4497559-overlap_r1_s17.json", 0.0),
    ("call 1: side stream, priority -1", "throughput_lf_4497559-overlap-prio_r1_s17.json", 0.0),
    ("call 1: 4497559", "throughput_lf_4497559_r2_s17.json", 0.0),
    ("call 1: side stream", "throughput_lf_4497559-overlap_r2_s17.json", 0.0),
    ("call 2: 173970b (= priority -1)", "throughput_lf_173970b.json", 0.0),
    ("call 2: 173970b, temperature 1.0", "throughput_lf_173970b.json", 1.0),
]
LOGS = ["device_call_s17_bisect_n32.log", "device_call_s17_grid3.log"]


def seconds(name: str, temperature: float) -> float:
    runs = json.loads((HERE / name).read_text())["runs"]
    return next(run["seconds"] for run in runs if run["temperature"] == temperature)


def decode_runs() -> list[tuple[str, float, float | None]]:
    """(label, ms at 32, ms at 24 or None) of each latency.py run in the two logs, in order."""
    found = []
    for call, log in zip(("call 4", "call 5"), LOGS):
        label = ""
        by_batch: dict[int, float] = {}
        for line in (HERE / log).read_text().splitlines():
            start = re.search(r"batches [\d,]+ at (\S+) \(run (\d)\)", line)
            row = re.match(r"\s+(\d+)\s+([\d.]+)\s+[\d.]+\s+[\d.]+", line)
            if start:
                label = f"{call}: {start.group(1)}"
                by_batch = {}
            elif row:
                by_batch[int(row.group(1))] = float(row.group(2))
                if int(row.group(1)) == 32:
                    found.append((label, by_batch[32], by_batch.get(24)))
    return found


def main() -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5))
    values = [seconds(name, temperature) for _, name, temperature in OFFLINE]
    colors = ["tab:blue" if "4497559" == label[-7:] else "tab:orange" for label, _, _ in OFFLINE]
    left.barh(range(len(OFFLINE)), values, color=colors)
    left.set_yticks(range(len(OFFLINE)), [label for label, _, _ in OFFLINE])
    left.invert_yaxis()
    left.set_xlim(16, 17.8)
    left.axvline(16.5, color="gray", linestyle="--", label="issue 16's 16.5 s")
    for index, value in enumerate(values):
        left.text(value + 0.02, index, f"{value:.2f}", va="center")
    left.set_xlabel("seconds, offline longest-first (1000 requests; greedy unless marked)")
    left.legend(loc="lower right")
    runs = decode_runs()
    positions = range(len(runs))
    right.bar([p - 0.2 for p in positions], [ms32 for _, ms32, _ in runs], 0.4, label="N = 32")
    with_24 = [(p, ms24) for p, (_, _, ms24) in zip(positions, runs) if ms24 is not None]
    right.bar([p + 0.2 for p, _ in with_24], [ms for _, ms in with_24], 0.4, label="N = 24")
    right.set_xticks(list(positions), [label for label, _, _ in runs], rotation=40, ha="right")
    right.set_ylim(5.0, 6.3)
    right.axhline(6.34 / 1.1, color="gray", linestyle="--", label="1.1x vLLM's 6.34 ms at 32")
    right.set_ylabel("ms a decode step (latency.py, greedy)")
    right.legend(fontsize=8)
    fig.suptitle(
        "NVIDIA H200, 2026-12-02, session 17: mixed-graph attention overlap; the N = 32 grid"
    )
    fig.tight_layout()
    fig.savefig(HERE / "s17.png", dpi=110)


if __name__ == "__main__":
    main()
