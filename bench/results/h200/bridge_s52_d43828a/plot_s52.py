"""Session 52's H200 bridge runs, drawn: each tree's decode ms a step by batch (every run), the bridged
vLLM / ours against issue 16's 1.1x, and the offline seconds of each call.

    python3 bench/results/h200/bridge_s52_d43828a/plot_s52.py   # writes bridge_s52.png beside this file
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parents[2]))  # bench/, for bridge.py's reference figures
from bridge import REFERENCE_DECODE_MS, bridged_ratio  # noqa: E402
from common import VLLM_DECODE_MS  # noqa: E402


def rows(pattern: str) -> list[tuple[str, int, float]]:
    """(call and run, N, ms) of every decode file matching; the run is the file's suffix (big, small, 256),
    so that each of ours pairs with the reference run of the same call, run and N, as compare_pairs did."""
    found = []
    for path in sorted(HERE.glob(pattern)):
        run = path.parent.name + "/" + path.stem.split("_")[-1]
        for row in json.loads(path.read_text())["rows"]:
            found.append((run, row["batch"], row["ms_per_step"]))
    return found


def main() -> None:
    ref = rows("call*/decode_ref_*.json")
    ours = rows("call*/decode_new_*.json")
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 4.8))
    for label, data, marker in (("74a2896", ref, "o"), ("d43828a (ours)", ours, "x")):
        left.scatter([n for _, n, _ in data], [ms for _, _, ms in data], marker=marker, label=label)
    left.set_xscale("log", base=2)
    left.set_xlabel("decode rows N")
    left.set_ylabel("ms a step, (t129 - t1) / 128")
    left.set_title("bridge.py decode, one H200 (calls 1, 2, 4)")
    left.legend()
    # bridged vLLM / ours, pairing each of ours with the reference run of the same call and N
    ref_by = {(call, n): ms for call, n, ms in ref}
    pairs = [(n, ms, ref_by.get((call, n))) for call, n, ms in ours]
    bridged = [
        (n, bridged_ratio(VLLM_DECODE_MS[n], REFERENCE_DECODE_MS[n], r, o))
        for n, o, r in pairs
        if r
    ]
    middle.scatter([n for n, _ in bridged], [b for _, b in bridged], color="C2")
    middle.axhline(1.1, color="grey", linestyle="--", label="issue 16: 1.1x vLLM")
    middle.set_xscale("log", base=2)
    middle.set_xlabel("decode rows N")
    middle.set_ylabel("vLLM / ours, bridged")
    middle.set_title("(vLLM / 74a2896 there) x (74a2896 / ours here)")
    middle.legend()
    offline = []
    for call in sorted(HERE.glob("call*")):
        pair = [call / "offline_ref.json", call / "offline_new_lf.json"]
        if all(p.exists() for p in pair):
            secs = [json.loads(p.read_text())["offline"]["seconds"] for p in pair]
            offline.append((call.name, *secs))
    xs = range(len(offline))
    right.bar([x - 0.2 for x in xs], [r for _, r, _ in offline], 0.4, label="74a2896, fcfs")
    right.bar([x + 0.2 for x in xs], [o for _, _, o in offline], 0.4, label="ours, longest-first")
    right.axhline(16.5, color="grey", linestyle="--", label="issue 16: 16.5 s")
    right.set_xticks(list(xs), [name for name, _, _ in offline])
    right.set_ylabel("offline seconds, 1000 requests, greedy")
    right.set_title("offline (call 1's 74a2896: first run on the machine)")
    right.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(HERE / "bridge_s52.png", dpi=110)


if __name__ == "__main__":
    main()
