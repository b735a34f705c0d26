"""Session 16 (H200, 2026-12-02): Llama-3-8B's projections at 128 and 256 rows, cuBLAS (F.linear) against
bench/streamk_gemm.py's Triton kernel at its best data-parallel and best stream-K tile config
(streamk_gemm_d715674.json, device_call_d715674_s16_gemm.log), as one PNG.

    python3 bench/results/h200/gemm_plot_s16.py   # writes gemm_s16.png beside itself"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).parent


def best(cells: list[dict], rows: int, projection: str, suffix: str) -> float:
    """The fastest microseconds among the cells of one (rows, projection) whose kernel ends with suffix."""
    times = [
        cell["us"]
        for cell in cells
        if cell["rows"] == rows
        and cell["projection"] == projection
        and cell["kernel"].endswith(suffix)
    ]
    return min(times)


def main() -> None:
    data = json.loads((HERE / "streamk_gemm_d715674.json").read_text())
    cells = data["cells"]
    projections = ["qkv", "o", "gate_up", "down"]
    labels = [f"{projection}\n{rows} rows" for rows in (128, 256) for projection in projections]
    series = {"cuBLAS": "cublas", "Triton, data-parallel": " dp", "Triton, stream-K": " sk"}
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.27
    for index, (name, suffix) in enumerate(series.items()):
        values = [
            best(cells, rows, projection, suffix)
            for rows in (128, 256)
            for projection in projections
        ]
        positions = [i + (index - 1) * width for i in range(len(labels))]
        ax.bar(positions, values, width, label=name)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel("microseconds a projection (4 layers in a CUDA graph, per layer)")
    ax.set_title(
        f"{data['device']}, {data['date'][:10]}, commit {data['commit']}: best config of each kind"
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "gemm_s16.png", dpi=110)


if __name__ == "__main__":
    main()
