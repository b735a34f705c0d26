"""Session 21 (2026-12-03, H200): where the decode and mixed steps' time goes against their floor, from
bench/profile_step.py's JSON at f1aa7b6 (call 5, device_call_f1aa7b6_s21_soak.log): each kind of kernel's
microseconds a step (torch.profiler, without PDL, so each kernel's time is its own) beside its floor (issue 16's
roofline term: max(bytes / copy bandwidth, FLOPs / matmul rate), both measured in that run). Bars: the floor
(hatched) and the excess above it, per kind; the mixed step is offline's mean (127 decodes at context 438 and a
129-token prompt chunk). Right: bench/power_soak.py in the same call, each batch's decode steps in half-second
windows right after 3 s of prefill, as a ratio to the same step timed in a burst on a rested GPU.

    python3 bench/results/h200/s21_plot.py   # writes s21_gap.png beside itself"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).parent
RUNS = ["profile_step_decode_nopdl_f1aa7b6_s21b.json", "profile_step_mixed_nopdl_f1aa7b6_s21b.json"]
SOAK = "power_soak_heat3_f1aa7b6_s21.json"
COLORS = {
    "linears": "tab:blue",
    "decode attention": "tab:orange",
    "prefill attention": "tab:green",
    "the rest (no floor)": "tab:gray",
}


def main() -> None:
    steps = []
    for name in RUNS:
        steps.extend(json.loads((HERE / name).read_text())["steps"])
    fig, (ax, soak_ax) = plt.subplots(1, 2, figsize=(15, 5), width_ratios=[2, 1])
    labels = []
    for index, step in enumerate(steps):
        label = f"{step['decode_rows']} row" + ("s" if step["decode_rows"] > 1 else "")
        if step["chunks"]:
            label = f"mixed: {step['decode_rows']}\n+ {step['chunks']}x{step['chunk_tokens']}"
        labels.append(label)
        bottom = 0.0
        total_floor = 0.0
        for row in step["gap"][:-1]:
            floor_ms = min(row["floor_us"], row["us"]) / 1e3
            excess_ms = max(row["us"] - row["floor_us"], 0.0) / 1e3
            color = COLORS[row["kind"]]
            ax.bar(index, floor_ms, bottom=bottom, color=color, hatch="//", alpha=0.5)
            ax.bar(index, excess_ms, bottom=bottom + floor_ms, color=color)
            bottom += floor_ms + excess_ms
            total_floor += row["floor_us"] / 1e3
        ax.plot([index - 0.4, index + 0.4], [total_floor] * 2, color="black", linewidth=1.5)
        ax.text(index, bottom, f"{bottom / total_floor:.2f}x", ha="center", va="bottom", fontsize=8)
    for kind, color in COLORS.items():
        ax.bar(0, 0, color=color, label=kind)
    ax.bar(0, 0, color="white", edgecolor="black", hatch="//", label="within the floor (hatched)")
    ax.plot([], [], color="black", label="the step's floor")
    ax.set_xticks(range(len(steps)), labels)
    ax.set_ylabel("GPU ms a step, kernels summed (no PDL)")
    ax.set_title("H200, f1aa7b6: each kind of kernel against its floor (decode at context 1088)")
    ax.legend(fontsize=8)
    soak = json.loads((HERE / SOAK).read_text())
    for row in soak["batches"]:
        ratios = [window["ms"] / row["burst_ms"] for window in row["windows"]]
        times = [soak["window"] * (i + 0.5) for i in range(len(ratios))]
        soak_ax.plot(times, ratios, marker="o", markersize=3, label=f"{row['batch']} rows")
    soak_ax.axhline(1.0, color="black", linewidth=0.8)
    soak_ax.set_ylim(0.9, 1.1)
    soak_ax.set_xlabel("seconds after 3 s of prefill (the SM clock at 1,500-1,515 MHz)")
    soak_ax.set_ylabel("decode step / the same step from a rested GPU")
    soak_ax.set_title("power_soak.py: decode right after prefill", fontsize=10)
    soak_ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(HERE / "s21_gap.png", dpi=120)


if __name__ == "__main__":
    main()
