"""Session 29 probe: decode attention's pipeline depth.

Compiled for sm_90 (Triton 3.6), the shipped decode kernel (64 keys, 4 warps, 3 stages) keeps ONE shared
buffer for K and one for V: the block-table load takes a pipeline stage of its own, so at 3 or 4 stages the
K/V copies are single-buffered and each loop iteration starts with `async_wait {num = 0}`, the full memory
latency exposed once a tile. At 5-6 stages the K/V get two buffers, at 7-8 three (TTGIR read on the CPU).
This times, over 8 layers' distinct caches in a CUDA graph (as bench/decode_sweep.py), the decode-only
kernel as steps run it (new tokens rotated and stored in the kernel) at every split count for each tile,
at context 1,088 and batches 1-256, and the mixed step's decode rows (127 at mean context 438, log-normal
sigma 0.77, no rotary, decode_params' split) at each tile. Prints us per layer and the ratio to the K/V read
at copy bandwidth, best split per tile, and decode_params' split. Writes decode_stages_probe_s29.json to $OUT.

    PYTHONPATH=.:/tmp/site python3 bench/results/h200/decode_stages_probe_s29.py
"""

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, "bench")
from common import ceilings, time_graph  # noqa: E402

from swiftllm.kernels.decode_attention import (  # noqa: E402
    LONG_CHUNK,
    MIN_CHUNK,
    DecodeTiles,
    NewTokens,
    decode_attention,
    decode_params,
)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decode_attention_exp_s29 as exp  # noqa: E402

KERNELS = {"ship": decode_attention, "exp": exp.decode_attention}
DEV = "cuda"
HEADS, KV, DIM, PAGE, LAYERS, CAP = 32, 8, 128, 16, 8, 2048
# (kernel, tiles): "ship" the tree's kernel, "exp" decode_attention_exp_s29.py (table one tile ahead)
TILES = [
    ("ship", DecodeTiles(64, 4, 3)),
    ("ship", DecodeTiles(64, 4, 5)),
    ("ship", DecodeTiles(32, 4, 7)),
    ("ship", DecodeTiles(128, 4, 2)),
    ("exp", DecodeTiles(64, 4, 3)),
    ("exp", DecodeTiles(64, 4, 4)),
    ("exp", DecodeTiles(32, 4, 3)),
    ("exp", DecodeTiles(32, 4, 5)),
    ("exp", DecodeTiles(64, 8, 3)),
    ("exp", DecodeTiles(128, 4, 3)),
]
SPLITS = {1: (8, 16, 32, 64), 4: (4, 8, 16, 32), 8: (4, 8, 16), 16: (2, 4, 8), 32: (1, 2, 4)}


def name(kt: tuple) -> str:
    kernel, t = kt
    return f"{kernel} {t.block_n}x{t.num_warps}x{t.num_stages}"


def setup(contexts: np.ndarray) -> dict:
    batch = len(contexts)
    blocks = -(-int(contexts.max()) // PAGE)
    shape = (batch * blocks, KV, PAGE, DIM)
    caches = [
        (
            torch.randn(shape, device=DEV, dtype=torch.bfloat16),
            torch.randn(shape, device=DEV, dtype=torch.bfloat16),
        )
        for _ in range(LAYERS)
    ]
    table = torch.randperm(batch * blocks, device=DEV, dtype=torch.int32).view(batch, blocks)
    table = torch.nn.functional.pad(table, (0, CAP // PAGE - blocks))
    lens = torch.tensor(contexts, device=DEV, dtype=torch.int32)
    q = torch.randn(batch, HEADS, DIM, device=DEV, dtype=torch.bfloat16)
    k = torch.randn(batch, KV, DIM, device=DEV, dtype=torch.bfloat16)
    v = torch.randn(batch, KV, DIM, device=DEV, dtype=torch.bfloat16)
    cos_sin = torch.randn(CAP, DIM, device=DEV, dtype=torch.float32)
    return dict(caches=caches, table=table, lens=lens, q=q, new=NewTokens(k, v, cos_sin))


def layer_us(s: dict, splits: int, min_chunk: int, kt: tuple, rotary: bool) -> float:
    new = s["new"] if rotary else None
    fn = KERNELS[kt[0]]
    tiles = kt[1]

    def run() -> None:
        for kc, vc in s["caches"]:
            fn(
                s["q"],
                kc,
                vc,
                s["table"],
                s["lens"],
                DIM**-0.5,
                splits,
                None,
                min_chunk,
                tiles,
                new,
            )

    try:
        return time_graph(run, reps=3) * 1e3 / LAYERS
    except Exception as e:  # noqa: BLE001 (a tile past shared memory)
        print(f"  {name(kt)} s={splits}: {type(e).__name__}", flush=True)
        return float("nan")


def main() -> None:
    bw = ceilings()["copy_bw_Bps"]
    out = {"device": torch.cuda.get_device_name(), "copy_bw_Bps": bw, "rows": []}
    for batch in (1, 4, 8, 16, 32, 64, 256):
        contexts = np.full(batch, 1088)
        s = setup(contexts)
        floor = int(contexts.sum()) * KV * DIM * 4 / bw * 1e6
        default = decode_params(batch, KV, CAP, torch.device(DEV))
        row = {"batch": batch, "floor_us": floor, "default": list(default), "tiles": {}}
        for t in TILES:
            cells = {}
            if batch in SPLITS:
                for sp in SPLITS[batch]:
                    cells[sp] = layer_us(s, sp, MIN_CHUNK, t, True)
            else:
                cells[default[0]] = layer_us(s, default[0], default[1], t, True)
            row["tiles"][name(t)] = cells
        out["rows"].append(row)
        best = {n: min(c.values()) for n, c in row["tiles"].items()}
        print(
            f"batch {batch} floor {floor:.1f} default {default}: "
            + " ".join(f"{n} {b:.1f} ({b / floor:.2f}) {row['tiles'][n]}" for n, b in best.items()),
            flush=True,
        )
        del s
        torch.cuda.empty_cache()
    normal = np.random.default_rng(0).standard_normal(127)
    drawn = np.round(438 * np.exp(0.77 * normal - 0.77**2 / 2))
    contexts = np.sort(np.clip(drawn, 1, CAP).astype(np.int64))[::-1].copy()
    s = setup(contexts)
    floor = int(contexts.sum()) * KV * DIM * 4 / bw * 1e6
    default = decode_params(127, KV, CAP, torch.device(DEV))
    mixed = {"batch": "127x438 s0.77", "floor_us": floor, "default": list(default), "tiles": {}}
    for t in TILES:
        mixed["tiles"][name(t)] = {default[0]: layer_us(s, default[0], default[1], t, False)}
    out["rows"].append(mixed)
    path = os.path.join(os.environ.get("OUT", "/tmp"), "decode_stages_probe_s29.json")
    json.dump(out, open(path, "w"), indent=1)
    print(
        f"\n{out['device']} copy {bw / 1e12:.2f} TB/s; us per layer at the best split (x floor) [best split]"
    )
    print(f"{'batch':>14} {'floor':>6} " + " ".join(f"{name(t):>17}" for t in TILES))
    for row in out["rows"]:
        cells = []
        for t in TILES:
            c = row["tiles"][name(t)]
            sp = min(c, key=lambda k: c[k] if c[k] == c[k] else 1e9)
            cells.append(f"{c[sp]:6.1f} ({c[sp] / row['floor_us']:.2f}) [{sp}]")
        print(f"{row['batch']!s:>14} {row['floor_us']:6.1f} " + " ".join(f"{x:>17}" for x in cells))
    assert LONG_CHUNK


if __name__ == "__main__":
    main()
