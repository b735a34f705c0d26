"""Session 22 (2026-12-03, H200): the rotary fusion and the ceilings, from the logs of calls 1 and 3.
Left: the bare decode step (step_ab.py: the engine's graphs, context 1088, median of 5) of main before (fc10614)
and after (f0cc659: rotary and the KV store done by the decode attention kernel), two rounds each, interleaved in
call 1, as the change in per cent. Right: bench/common.ceilings() five times in each of three processes (call 3):
each round's copy bandwidth and matmul rate, and each process's best, the value ceilings() now keeps.

    python3 bench/results/h200/s22_plot.py   # writes s22_rotary_ceilings.png beside itself"""

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).parent


def step_ab(log: str) -> dict[str, list[dict[int, float]]]:
    """{label: [{rows: ms} per round]} from the 'AB label rows:ms ...' lines."""
    runs: dict[str, list[dict[int, float]]] = {}
    for line in log.splitlines():
        if not line.startswith("AB "):
            continue
        label, *pairs = line.split()[1:]
        runs.setdefault(label, []).append(
            {int(p.split(":")[0]): float(p.split(":")[1]) for p in pairs}
        )
    return runs


def ceiling_rounds(log: str) -> dict[str, list[tuple[float, float]]]:
    """{process: [(TB/s, TFLOP/s) per round]} from the 'CEIL pN round i' lines."""
    found: dict[str, list[tuple[float, float]]] = {}
    pattern = r"CEIL (\S+) round \d+: copy ([\d.]+) TB/s  matmul ([\d.]+) TFLOP/s"
    for process, copy, rate in re.findall(pattern, log):
        found.setdefault(process, []).append((float(copy), float(rate)))
    return found


def main() -> None:
    runs = step_ab((HERE / "device_call_s22_rotary.log").read_text())
    rounds = ceiling_rounds((HERE / "device_call_s22_ceil_var.log").read_text())
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    rows = sorted(runs["head"][0])
    for i, (before, after) in enumerate(zip(runs["head"], runs["rotary"], strict=True)):
        change = [100 * (after[r] / before[r] - 1) for r in rows]
        left.plot(range(len(rows)), change, "o-", label=f"round {i + 1}")
    left.axhline(0, color="black", lw=0.8)
    left.set_xticks(range(len(rows)), [str(r) for r in rows])
    left.set_xlabel("decode rows (context 1088)")
    left.set_ylabel("bare step, f0cc659 against fc10614 (%)")
    left.set_title("rotary + KV store in the decode kernel (call 1)")
    left.legend()
    for process, values in rounds.items():
        copies = [v[0] for v in values]
        rates = [v[1] for v in values]
        right.scatter(
            copies, rates, label=f"{process}: best {max(copies):.3f} TB/s, {max(rates):.0f} TFLOP/s"
        )
    right.set_xlabel("copy bandwidth (TB/s)")
    right.set_ylabel("bf16 matmul rate (TFLOP/s)")
    right.set_title("ceilings(): five rounds in each of three processes (call 3)")
    right.legend(fontsize=8)
    fig.suptitle("H200, session 22, 2026-12-03")
    fig.tight_layout()
    fig.savefig(HERE / "s22_rotary_ceilings.png", dpi=110)


if __name__ == "__main__":
    main()
