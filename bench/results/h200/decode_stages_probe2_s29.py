"""Session 29 probe, second call: decode attention's tiles where call 1 left them open.

1) the mixed steps' decode rows (no rotary, decode_params' one split at LONG_CHUNK): 127 rows at mean context
   438 (offline's mean mixed step) and 154 at 451, log-normal sigma 0.77 / 0.6 / 1.0, longest first;
2) uniform context 1,088 at 32 / 64 / 128 / 256 rows and one split (rotary, as decode-only steps), where call 1's
   double-buffered tiles lost to the shipped one by occupancy (72 KB: 3 programs an SM against 4).
Kernels: "ship" (the tree's), "exp" (decode_attention_exp_s29.py, the table one tile ahead: K/V get stages - 1
buffers). Prints us per layer (x the K/V read at copy bandwidth). Writes decode_stages_probe2_s29.json to $OUT.

    PYTHONPATH=.:/tmp/site python3 bench/results/h200/decode_stages_probe2_s29.py
"""

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decode_stages_probe_s29 as p1  # noqa: E402

from swiftllm.kernels.decode_attention import LONG_CHUNK, DecodeTiles  # noqa: E402

T = DecodeTiles
MIXED = [
    ("ship", T(128, 4, 2)),
    ("ship", T(64, 4, 3)),
    ("exp", T(128, 4, 2)),
    ("exp", T(64, 4, 2)),
    ("exp", T(64, 4, 3)),
    ("exp", T(64, 4, 4)),
    ("exp", T(32, 4, 3)),
    ("exp", T(32, 4, 4)),
    ("exp", T(64, 8, 3)),
]
LARGE = [
    ("ship", T(64, 4, 3)),
    ("exp", T(64, 4, 2)),
    ("exp", T(64, 4, 3)),
    ("exp", T(32, 4, 3)),
    ("exp", T(32, 4, 4)),
    ("exp", T(64, 8, 2)),
]


def spread(batch: int, mean: int, sigma: float) -> np.ndarray:
    normal = np.random.default_rng(0).standard_normal(batch)
    drawn = np.round(mean * np.exp(sigma * normal - sigma**2 / 2))
    return np.sort(np.clip(drawn, 1, p1.CAP).astype(np.int64))[::-1].copy()


def main() -> None:
    bw = p1.ceilings()["copy_bw_Bps"]
    out = {"device": torch.cuda.get_device_name(), "copy_bw_Bps": bw, "rows": []}
    cases = [
        (f"{b}x{m} s{sg}", spread(b, m, sg), MIXED, False)
        for b, m, sg in ((127, 438, 0.77), (154, 451, 0.6), (154, 451, 1.0))
    ]
    cases += [(f"{b}x1088", np.full(b, 1088), LARGE, True) for b in (32, 64, 128, 256)]
    for label, contexts, tiles, rotary in cases:
        s = p1.setup(contexts)
        floor = int(contexts.sum()) * p1.KV * p1.DIM * 4 / bw * 1e6
        row = {"case": label, "floor_us": floor, "us": {}}
        for kt in tiles:
            row["us"][p1.name(kt)] = p1.layer_us(s, 1, LONG_CHUNK, kt, rotary)
        out["rows"].append(row)
        print(
            f"{label:>16} floor {floor:6.1f}: "
            + "  ".join(f"{n} {u:.1f} ({u / floor:.3f})" for n, u in row["us"].items()),
            flush=True,
        )
        del s
        torch.cuda.empty_cache()
    path = os.path.join(os.environ.get("OUT", "/tmp"), "decode_stages_probe2_s29.json")
    json.dump(out, open(path, "w"), indent=1)


if __name__ == "__main__":
    main()
