"""Two bench/profile_step.py results side by side: another card, another tree, PDL or not. No GPU needed.

    PYTHONPATH=. python3 bench/profile_diff.py A.json B.json [--kernels 8] [--png OUT.png]

For each step both files profiled (the same decode rows, context and prompt chunks), it prints each kind of kernel
(linears, decode attention, prefill attention, the rest) as µs a step, its roofline floor and its excess over
the floor in A and in B, then the time between kernels (the unprofiled step less the kernels' sum: launch gaps,
or with PDL the negative of the overlap) and the step against its floor. Excess in µs is the figure to set
across cards: a fixed cost (a latency-bound kernel, a launch gap) keeps its µs where a faster memory shrinks the
floor, so the same excess is a larger ratio on the faster card (session 63: the H100's and the H200's decode
steps carry the same ~0.9 ms at 8-32 rows, 1.16x and 1.23x their floors). Then the kernels whose µs a step
differ most between A and B, by name. --png draws each step's excess by kind, A beside B."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import NamedTuple

ALL = "all kernels"


class StepKey(NamedTuple):
    decode_rows: int
    context: int
    chunks: int
    chunk_tokens: int


def step_key(step: dict) -> StepKey:
    return StepKey(
        step["decode_rows"], step["context"], step.get("chunks", 0), step.get("chunk_tokens", 0)
    )


def label(key: StepKey) -> str:
    text = f"{key.decode_rows} rows at {key.context}"
    if key.chunks:
        text += f" + {key.chunks} x {key.chunk_tokens}-token chunks"
    return text


def excess_by_kind(step: dict) -> dict[str, float]:
    """µs over the floor by kind, then "between kernels" (the unprofiled step less the kernels' sum)."""
    out = {g["kind"]: g["us"] - g["floor_us"] for g in step["gap"] if g["kind"] != ALL}
    kernels = next(g["us"] for g in step["gap"] if g["kind"] == ALL)
    out["between kernels"] = step["step_ms_unprofiled"] * 1e3 - kernels
    return out


def step_ratio(step: dict) -> float:
    """The unprofiled step over the whole floor."""
    floor = next(g["floor_us"] for g in step["gap"] if g["kind"] == ALL)
    return step["step_ms_unprofiled"] * 1e3 / floor


def common_steps(a: dict, b: dict) -> list[tuple[StepKey, dict, dict]]:
    """The steps both results profiled, in A's order."""
    b_steps = {step_key(step): step for step in b["steps"]}
    return [(step_key(s), s, b_steps[step_key(s)]) for s in a["steps"] if step_key(s) in b_steps]


def kernel_changes(a_step: dict, b_step: dict, count: int) -> list[tuple[str, float, float]]:
    """The `count` kernels whose µs a step differ most between the two (a kernel only one has counts 0 in the
    other): (name, A µs, B µs)."""
    a_us = a_step.get("kernels_us", {})  # a result rebuilt from a log may hold the kinds only
    b_us = b_step.get("kernels_us", {})
    rows = [(name, a_us.get(name, 0.0), b_us.get(name, 0.0)) for name in set(a_us) | set(b_us)]
    # by name where two differ alike: the same files always print the same list
    rows.sort(key=lambda row: (-abs(row[2] - row[1]), row[0]))
    return rows[:count]


def name_of(data: dict, path: Path) -> str:
    return (
        f"{data.get('device', '?')} {data.get('commit', '?')} (PDL {data.get('pdl')}, {path.name})"
    )


def print_diff(a: dict, b: dict, a_name: str, b_name: str, kernels: int) -> None:
    print(f"A: {a_name}\nB: {b_name}")
    steps = common_steps(a, b)
    if not steps:
        print("no step profiled in both")
    for key, a_step, b_step in steps:
        print(
            f"\n{label(key)}: step {a_step['step_ms_unprofiled']:.3f} / {b_step['step_ms_unprofiled']:.3f} ms, "
            f"{step_ratio(a_step):.3f} / {step_ratio(b_step):.3f} x floor (A / B)"
        )
        gap_b = {g["kind"]: g for g in b_step["gap"]}
        excess_a = excess_by_kind(a_step)
        excess_b = excess_by_kind(b_step)
        print(
            f"{'kind':22} {'A us':>9} {'floor':>9} {'excess':>9} | {'B us':>9} {'floor':>9} {'excess':>9}"
        )
        # the kinds both profiled (a rebuilt result may lack some); "between kernels" is printed below
        for ga in a_step["gap"]:
            gb = gap_b.get(ga["kind"])
            if ga["kind"] == ALL or gb is None:
                continue
            print(
                f"{ga['kind']:22} {ga['us']:9.1f} {ga['floor_us']:9.1f} {excess_a[ga['kind']]:9.1f} | "
                f"{gb['us']:9.1f} {gb['floor_us']:9.1f} {excess_b[gb['kind']]:9.1f}"
            )
        print(
            f"{'between kernels':22} {'':>9} {'':>9} {excess_a['between kernels']:9.1f} | "
            f"{'':>9} {'':>9} {excess_b['between kernels']:9.1f}"
        )
        print(
            f"{'total excess':22} {'':>9} {'':>9} {sum(excess_a.values()):9.1f} | "
            f"{'':>9} {'':>9} {sum(excess_b.values()):9.1f}"
        )
        if kernels and not ("kernels_us" in a_step and "kernels_us" in b_step):
            print("(no kernel list: a result without its kernels, rebuilt from a log)")
        elif kernels:
            print("kernels differing most (us a step, A / B):")
            for name, a_us, b_us in kernel_changes(a_step, b_step, kernels):
                print(f"  {name[:60]:60} {a_us:9.1f} {b_us:9.1f}")


def plot(a: dict, b: dict, a_name: str, b_name: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = common_steps(a, b)
    fig, axes = plt.subplots(
        1, max(1, len(steps)), figsize=(3.8 * max(1, len(steps)), 4), squeeze=False
    )
    for ax, (key, a_step, b_step) in zip(axes[0], steps):
        for offset, name, step in ((-0.2, a_name, a_step), (0.2, b_name, b_step)):
            parts = excess_by_kind(step)
            xs = [i + offset for i in range(len(parts))]
            ax.bar(
                xs, list(parts.values()), width=0.4, label=f"{name[:40]}: {step_ratio(step):.3f}x"
            )
        ax.set_xticks(
            range(len(parts)), [kind.split(" (")[0] for kind in parts], fontsize=6, rotation=20
        )
        ax.set_title(label(key), fontsize=8)
        ax.legend(fontsize=6)
    axes[0][0].set_ylabel("µs a step over the floor")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument(
        "--kernels", type=int, default=8, help="kernels to list that differ most (0: none)"
    )
    ap.add_argument("--png", type=Path, default=None, help="draw each step's excess by kind here")
    args = ap.parse_args(argv)
    a = json.loads(args.a.read_text())
    b = json.loads(args.b.read_text())
    a_name = name_of(a, args.a)
    b_name = name_of(b, args.b)
    print_diff(a, b, a_name, b_name, args.kernels)
    if args.png is not None:
        plot(a, b, a_name, b_name, args.png)


if __name__ == "__main__":
    main()
