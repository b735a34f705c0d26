"""Session 63's decode-step profile without PDL (all_nopdl.log: the device tool returned no JSON for it, a comma
in its directory name) as profile_step_decode_nopdl.json, and a PNG setting each kind's excess over its floor
beside session 29's H200 profile of the same steps (no PDL):
PYTHONPATH=. python3 bench/results/h100/decode_profile_s63/summarize.py"""

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).parent
H200 = HERE.parents[1] / "h200" / "profile_step_decode_nopdl_c463f15_s29.json"
KINDS = ("linears", "decode attention", "the rest (no floor)")


def parse_log(text: str) -> list[dict]:
    """The decode steps' tables of profile_step.py's output (batch lines, kind rows, the unprofiled step)."""
    steps = []
    for block in re.split(r"^batch ", text, flags=re.MULTILINE)[1:]:
        head = re.match(r"(\d+), context (\d+)", block)
        if "prompt chunks" in block.splitlines()[0]:
            continue
        gap = []
        for kind in (*KINDS, "all kernels"):
            row = re.search(rf"^{re.escape(kind)}\s+([\d.]+)\s+([\d.]+)", block, re.MULTILINE)
            gap.append({"kind": kind, "us": float(row.group(1)), "floor_us": float(row.group(2))})
        step_ms = float(re.search(r"step unprofiled: ([\d.]+) ms", block).group(1))
        steps.append(
            {
                "decode_rows": int(head.group(1)),
                "context": int(head.group(2)),
                "step_ms_unprofiled": step_ms,
                "gap": gap,
            }
        )
    return steps


def excess(step: dict) -> dict[str, float]:
    """µs over the floor by kind, and the step's time between kernels (unprofiled step less the kernels)."""
    by_kind = {g["kind"]: g["us"] - g["floor_us"] for g in step["gap"]}
    kernels = next(g["us"] for g in step["gap"] if g["kind"] == "all kernels")
    out = {kind: by_kind[kind] for kind in KINDS}
    out["between kernels"] = step["step_ms_unprofiled"] * 1e3 - kernels
    return out


log = (HERE / "all_nopdl.log").read_text()
h100 = {
    "device": log.splitlines()[0],
    "commit": "3f43ceb",
    "date": "2026-12-07",
    "pdl": False,
    "steps": parse_log(log),
}
(HERE / "profile_step_decode_nopdl.json").write_text(json.dumps(h100, indent=1))
h200 = json.loads(H200.read_text())

fig, axes = plt.subplots(1, 3, figsize=(11, 4), sharey=True)
for ax, rows in zip(axes, (1, 8, 32)):
    for offset, (label, data) in zip(
        (-0.2, 0.2), (("H100, 3f43ceb", h100), ("H200, c463f15 (s29)", h200))
    ):
        step = next(s for s in data["steps"] if s["decode_rows"] == rows)
        parts = excess(step)
        floor = next(g["floor_us"] for g in step["gap"] if g["kind"] == "all kernels")
        ratio = step["step_ms_unprofiled"] * 1e3 / floor
        xs = [i + offset for i in range(len(parts))]
        ax.bar(xs, list(parts.values()), width=0.4, label=f"{label}: step {ratio:.3f}x floor")
    ax.set_xticks(range(len(parts)), ["linears", "decode attn", "the rest", "between"], fontsize=8)
    ax.set_title(f"{rows} rows at 1,088", fontsize=9)
    ax.legend(fontsize=7)
axes[0].set_ylabel("µs a step over the floor (no PDL)")
fig.suptitle(
    "the decode step's excess over its roofline, by kind: H100 (session 63) and H200 (session 29)"
)
fig.tight_layout()
fig.savefig(HERE / "decode_excess_h100_h200.png", dpi=120)
for data in (h100, h200):
    for step in data["steps"]:
        if step["decode_rows"] in (1, 8, 32):
            parts = {k: round(v) for k, v in excess(step).items()}
            print(data["device"][:20], step["decode_rows"], parts, round(sum(parts.values())))
