"""Session 32's all-at-once runs (the first 200 requests of the 1000 at once) by schedule policy: output tok/s
of every run, one dot each, over HTTP (serving.py JSONs) and through the engine alone (throughput.py logs),
read from the files beside this script; vLLM 0.24's 4,499 and issue 16's 1.2x of it as lines.

    python3 bench/results/h200/s32_plot.py   # writes s32_allatonce.png and s32_allatonce.json beside it"""

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent
VLLM = 4499.0
# (label on the x axis, file); HTTP files are serving.py JSONs (their "inf" rates), the rest throughput.py logs
HTTP = [
    ("call 1\nfcfs", "serving_s32_call1_inf_fcfs.json"),
    ("call 1\nLF 160\ngated", "serving_s32_call1_inf_longest-first_160.json"),
    ("call 2\nLF 128\ngated", "serving_s32_call2_inf_longest-first_128.json"),
    ("call 3\nfcfs", "serving_s32_call3_inf_fcfs.json"),
    ("call 3\nLF gated\n+ order, slack", "serving_s32_call3_inf_longest-first.json"),
    ("call 4\nLF gated, order,\nslack + held budget", "serving_s32_call4_longest-first_sweep.json"),
]
ALONE = [
    ("call 2\nfcfs", "s32_call2_alone_fcfs_256.log"),
    ("call 2\nLF 256", "s32_call2_alone_longest-first_256.log"),
    ("call 2\nLF 160", "s32_call2_alone_longest-first_160.log"),
    ("call 2\nLF 128", "s32_call2_alone_longest-first_128.log"),
    ("call 3\nfcfs", "s32_call3_alone_s32new_fcfs.log"),
    ("call 3\nLF 256 (old)", "s32_call3_alone_8c72f88_longest-first.log"),
    ("call 3\nLF gated\n+ order, slack", "s32_call3_alone_s32new_longest-first.log"),
]
ROW = re.compile(r"^ temperature 0\.0\s+([\d.]+)\s+\d+\s+(\d+)", re.M)


def http_rates(name: str) -> list[float]:
    data = json.loads((HERE / name).read_text())
    return [r["output_throughput"] for r in data["rates"] if r["rate"] == "inf"]


def alone_rates(name: str) -> list[float]:
    return [float(m.group(2)) for m in ROW.finditer((HERE / name).read_text())]


def main() -> None:
    table = {
        "device": "NVIDIA H200",
        "vllm": VLLM,
        "http": {label.replace("\n", " "): http_rates(f) for label, f in HTTP},
        "engine_alone": {label.replace("\n", " "): alone_rates(f) for label, f in ALONE},
    }
    (HERE / "s32_allatonce.json").write_text(json.dumps(table, indent=1))
    fig, axes = plt.subplots(1, 2, figsize=(15, 5.5), sharey=True)
    for ax, (title, runs) in zip(axes, (("over HTTP (serving.py)", HTTP), ("engine alone", ALONE))):
        read = http_rates if runs is HTTP else alone_rates
        for x, (label, name) in enumerate(runs):
            values = read(name)
            color = "tab:gray" if "fcfs" in label else "tab:blue"
            ax.plot([x] * len(values), values, "o", color=color, alpha=0.8)
        ax.set_xticks(range(len(runs)), [label for label, _ in runs], fontsize=7)
        ax.axhline(VLLM, color="tab:red", ls=":", label="vLLM 0.24 (4,499)")
        ax.axhline(1.2 * VLLM, color="tab:green", ls="--", label="1.2x vLLM (5,399)")
        ax.set_title(f"all 200 at once, {title}")
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("output tokens/s")
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(
        "Session 32 (H200, 2026-12-04): longest-first pacing; calls 1-2 one machine, 3 and 4 others"
    )
    fig.tight_layout()
    fig.savefig(HERE / "s32_allatonce.png", dpi=110)


if __name__ == "__main__":
    main()
