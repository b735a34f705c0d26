"""Session 31's all-at-once runs by the controller's GIL switch interval: output tok/s and the device's unbusy
seconds (wall less busy) of every rate, one dot each, from the JSON files beside this script.

    python3 bench/results/h200/s31_plot.py   # writes s31_switch.png beside it"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent
# file -> (call, interval in ms); the wrapper of call 1 and the trees of call 2 set it as labelled
RUNS = {
    "allatonce_s31_call1_default.json": ("call 1", 5.0),
    "allatonce_s31_call1_switch05ms.json": ("call 1", 0.5),
    "allatonce_s31_call1_default_again.json": ("call 1", 5.0),
    "allatonce_s31_call2_7f33607.json": ("call 2", 5.0),
    "allatonce_s31_call2_9410c20.json": ("call 2", 0.5),
    "allatonce_s31_call4_switch_a.json": ("calls 4-5", 0.5),
    "allatonce_s31_call4_switch_b.json": ("calls 4-5", 5.0),
    "allatonce_s31_call4_switch_c.json": ("calls 4-5", 0.1),
    "allatonce_s31_call4_switch_d.json": ("calls 4-5", 0.5),
    "allatonce_s31_call5_switch_e.json": ("calls 4-5", 0.1),
    "allatonce_s31_call5_switch_f.json": ("calls 4-5", 0.5),
    "allatonce_s31_call5_switch_g.json": ("calls 4-5", 0.1),
}
CALLS = ("call 1", "call 2", "calls 4-5")
INTERVALS = (0.1, 0.5, 5.0)


def main() -> None:
    fig, (rate_ax, host_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, (call, interval_ms) in RUNS.items():
        data = json.loads((HERE / name).read_text())
        x = CALLS.index(call) * 4 + INTERVALS.index(interval_ms)
        for rate in data["rates"]:
            unbusy = rate["duration_s"] - rate["server"]["gpu_busy_s"]
            color = {0.1: "tab:green", 0.5: "tab:blue", 5.0: "tab:red"}[interval_ms]
            rate_ax.plot(x, rate["output_throughput"], "o", color=color, alpha=0.7)
            host_ax.plot(x, unbusy, "o", color=color, alpha=0.7)
    ticks = [c * 4 + i for c in range(len(CALLS)) for i in range(len(INTERVALS))]
    labels = [f"{call}\n{ms:g} ms" for call in CALLS for ms in INTERVALS]
    for ax in (rate_ax, host_ax):
        ax.set_xticks(ticks, labels, fontsize=7)
        ax.grid(alpha=0.3)
    rate_ax.axhline(4499 * 1.2, color="gray", ls="--", lw=1, label="1.2x vLLM 0.24 (issue 16)")
    rate_ax.axhline(4499, color="black", ls=":", lw=1, label="vLLM 0.24")
    rate_ax.set_ylabel("output tok/s, all 200 at once")
    rate_ax.legend(fontsize=8, loc="lower right")
    host_ax.set_ylabel("wall - device busy (s)")
    fig.suptitle(
        "H200, session 31: the controller's GIL switch interval (one dot a rate)", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(HERE / "s31_switch.png", dpi=110)


if __name__ == "__main__":
    main()
