"""Session 15 (H200, 2026-12-02): decode attention at a mixed step's decode rows by grid order, row order and
tiles (exp_order_s15.py, device_call_7776151_s15_order.log), and the offline longest-first runs' seconds by
tree (the same call, then call 4 at e7168ce), as one PNG.

    python3 bench/results/h200/order_plot_s15.py   # writes order_s15.png beside itself"""

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).parent
CELL = re.compile(r"(sq|kv) (\d+x\d+x\d+)\s+([\d.]+) \(")
RUN = re.compile(r"throughput (\S+) at (\S+) .*\n(?:.*\n)*? temperature 0\.0\s+([\d.]+)")


def attention_rows() -> list[tuple[str, float]]:
    """(variant, us per layer) at 154 of 256 rows, mean context 448, sigma 0.77."""
    rows = []
    for line in (HERE / "device_call_7776151_s15_order.log").read_text().splitlines():
        if line.startswith("154/256 rows, 448, s0.77"):
            order = line.split()[4]
            for grid, tiles, us in CELL.findall(line):
                rows.append((f"{grid}-first grid, rows {order}, {tiles}", float(us)))
    return rows


def offline_runs() -> list[tuple[str, float]]:
    """(tree, greedy seconds) of the longest-first runs, in the order they ran."""
    runs = []
    text = (HERE / "device_call_7776151_s15_order.log").read_text()
    for name, tree, seconds in RUN.findall(text):
        runs.append((f"call 2: {tree} ({name})", float(seconds)))
    final = json.loads((HERE / "throughput_lf_e7168ce.json").read_text())
    for run in final["runs"]:
        runs.append((f"call 4: e7168ce, temperature {run['temperature']}", run["seconds"]))
    return runs


def main() -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 6))
    attention = attention_rows()
    left.barh(range(len(attention)), [us for _, us in attention])
    left.set_yticks(range(len(attention)), [name for name, _ in attention])
    left.invert_yaxis()
    left.set_xlabel("decode attention, us per layer (154 rows, mean context 448, sigma 0.77)")
    left.set_title("grid order x row order x tiles (exp_order_s15.py)")
    runs = offline_runs()
    right.barh(range(len(runs)), [s for _, s in runs])
    right.set_yticks(range(len(runs)), [name for name, _ in runs])
    right.invert_yaxis()
    right.axvline(21.83, color="gray", linestyle="--", label="vLLM 0.24 greedy (21.83 s)")
    right.axvline(16.5, color="red", linestyle=":", label="issue 16 target (16.5 s)")
    right.set_xlim(15, 23)
    right.set_xlabel("seconds, 1000 requests, longest-first")
    right.legend(loc="lower right")
    fig.suptitle("H200, 2026-12-02, session 15: decode rows longest first on a KV-head-first grid")
    fig.tight_layout()
    fig.savefig(HERE / "order_s15.png", dpi=110)


if __name__ == "__main__":
    main()
