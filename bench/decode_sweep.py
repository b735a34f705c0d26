"""Split sweep of paged decode attention (swiftllm/kernels/decode_attention.py) on this GPU, against copy bandwidth.

    PYTHONPATH=. python3 bench/decode_sweep.py [--batches 1,8,16,32,64,128,256] [--context 1088]
                                               [--spread 0.8] [--tiles 64x4x3,32x4x3,32x4x2]
                                               [--tile-splits 1,2,4]

decode_params picks a kernel's split count from static shapes (H100 measurements). For each batch size this
times, in a CUDA graph, decode attention over LAYERS layers' distinct caches (so the K/V stream from memory
as in a step, not from the L2) at every split count, each sequence at the same context length (or --spread),
Llama-3-8B's heads (32 query heads over 8 KV heads, head dim 128). Prints each split count's microseconds per layer and
its ratio to the layer's K/V read at copy bandwidth, beside decode_params' choice; writes
results/decode_sweep.json.

--spread SIGMA draws the contexts log-normal around --context instead (seeded; clipped to the table's 2,048
tokens), as a real step's decode rows are: in bench/throughput.py's longest-first run (--profile-steps) decode
attention read its K/V at 0.70 of copy bandwidth against 0.84 at one uniform context. --tiles then also times
decode_params' split choice at each BLOCK_NxWARPSxSTAGES (keys a tile, warps, pipeline stages; the kernel's
default is 64x4x3), or with --tile-splits each tile at each of those split counts (chunks of at least
MIN_CHUNK). Compiled for sm_90 (bench/sm90_resources.py), the default tile takes 38 KB of shared memory and
107–123 registers a thread with splits, so registers hold an SM to 4 programs; the mixed steps' 128x4x2 takes 72 KB
and 168 registers, 3 programs. Short contexts (a few tiles each) may leave them latency-bound."""

from __future__ import annotations

import argparse

import numpy as np
import torch
from common import ceilings, device_info, time_graph, write_results

from swiftllm.kernels.decode_attention import (
    DEFAULT_TILES,
    MIN_CHUNK,
    DecodeTiles,
    decode_attention,
    decode_params,
)

DEV = "cuda"
HEADS = 32
KV_HEADS = 8
HEAD_DIM = 128
PAGE = 16
LAYERS = 8
SPLITS = (1, 2, 4, 8, 16, 32)
CAPACITY = 2048  # the block table's width in tokens (bench/latency.py's max_model_len); decode_params reads it


def layer_us(
    caches: list[tuple[torch.Tensor, torch.Tensor]],
    q: torch.Tensor,
    table: torch.Tensor,
    lens: torch.Tensor,
    splits: int,
    min_chunk: int = MIN_CHUNK,
    tiles: DecodeTiles = DEFAULT_TILES,
) -> float:
    """GPU microseconds of one layer's decode attention at this split count and tiles, averaged over the
    layers."""

    def run() -> None:
        for k_cache, v_cache in caches:
            decode_attention(
                q, k_cache, v_cache, table, lens, HEAD_DIM**-0.5, splits, None, min_chunk, tiles
            )

    return time_graph(run, reps=3) * 1e3 / LAYERS


def parse_tiles(text: str) -> list[DecodeTiles]:
    """ "64x4x3,32x4x2" -> the (keys a tile, warps, stages) to time."""
    tiles = []
    for part in text.split(","):
        block_n, num_warps, num_stages = (int(x) for x in part.split("x"))
        tiles.append(DecodeTiles(block_n, num_warps, num_stages))
    return tiles


def context_lengths(batch: int, context: int, spread: float) -> np.ndarray:
    """`batch` contexts: all `context`, or log-normal of that mean (sigma `spread`) within [1, CAPACITY],
    longest first, as the scheduler lays decode rows out (scheduler.Batch.order_rows; session 15's runs of this
    script drew them in random order)."""
    if spread == 0:
        return np.full(batch, context)
    normal = np.random.default_rng(0).standard_normal(batch)
    drawn = np.round(context * np.exp(spread * normal - spread**2 / 2))
    longest_first = np.sort(np.clip(drawn, 1, CAPACITY).astype(np.int64))[::-1]
    return longest_first.copy()  # torch.tensor refuses a negative stride


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,8,16,32,64,128,256")
    ap.add_argument("--context", type=int, default=1088)
    ap.add_argument("--spread", type=float, default=0.0, help="log-normal sigma of the contexts")
    ap.add_argument("--tiles", type=parse_tiles, default=[], help="BLOCK_NxWARPSxSTAGES,...")
    ap.add_argument(
        "--tile-splits",
        default="",
        help="split counts to time each of --tiles at (MIN_CHUNK), instead of decode_params' choice",
    )
    args = ap.parse_args()
    bandwidth = ceilings()["copy_bw_Bps"]
    context = args.context
    data = {
        **device_info(),
        "copy_bw_Bps": bandwidth,
        "context": context,
        "spread": args.spread,
        "rows": [],
    }
    for batch in (int(b) for b in args.batches.split(",")):
        contexts = context_lengths(batch, context, args.spread)
        blocks = -(-int(contexts.max()) // PAGE)
        shape = (batch * blocks, KV_HEADS, PAGE, HEAD_DIM)
        caches = [
            (
                torch.randn(shape, device=DEV, dtype=torch.bfloat16),
                torch.randn(shape, device=DEV, dtype=torch.bfloat16),
            )
            for _ in range(LAYERS)
        ]
        table = torch.randperm(batch * blocks, device=DEV, dtype=torch.int32).view(batch, blocks)
        width = CAPACITY // PAGE
        table = torch.nn.functional.pad(table, (0, width - blocks))
        lens = torch.tensor(contexts, device=DEV, dtype=torch.int32)
        q = torch.randn(batch, HEADS, HEAD_DIM, device=DEV, dtype=torch.bfloat16)
        floor_us = int(contexts.sum()) * KV_HEADS * HEAD_DIM * 2 * 2 / bandwidth * 1e6
        default = decode_params(batch, KV_HEADS, CAPACITY, torch.device(DEV))
        row = {
            "batch": batch,
            "floor_us": floor_us,
            "default": list(default),
            "us": {},
            "tiles": {},
        }
        for splits in SPLITS:
            row["us"][splits] = layer_us(caches, q, table, lens, splits)
        for tiles in args.tiles:
            name = "x".join(str(x) for x in tiles)
            if not args.tile_splits:
                row["tiles"][name] = layer_us(caches, q, table, lens, *default, tiles)
            for splits in (int(x) for x in args.tile_splits.split(",") if x):
                us = layer_us(caches, q, table, lens, splits, MIN_CHUNK, tiles)
                row["tiles"][f"{name} s={splits}"] = us
        data["rows"].append(row)
        print(f"batch {batch}: {row['us']} {row['tiles']}", flush=True)
    write_results("decode_sweep", data)
    print(
        f"\n{data['device']}  copy {bandwidth / 1e12:.2f} TB/s  context {context}  us per layer (x floor)"
    )
    print(
        f"{'batch':>5} {'floor':>6} {'default':>9} "
        + " ".join(f"{'s=' + str(s):>13}" for s in SPLITS)
    )
    for row in data["rows"]:
        cells = " ".join(
            f"{row['us'][s]:7.1f} ({row['us'][s] / row['floor_us']:.2f})" for s in SPLITS
        )
        print(f"{row['batch']:5d} {row['floor_us']:6.1f} {str(tuple(row['default'])):>9} {cells}")
    if args.tiles:
        at = f"splits {args.tile_splits}" if args.tile_splits else "decode_params' splits"
        print(f"\nat {at}, by BLOCK_NxWARPSxSTAGES: us per layer (x floor)")
        names = list(data["rows"][0]["tiles"])
        print(f"{'batch':>5} " + " ".join(f"{name:>15}" for name in names))
        for row in data["rows"]:
            cells = " ".join(
                f"{row['tiles'][n]:8.1f} ({row['tiles'][n] / row['floor_us']:.2f})" for n in names
            )
            print(f"{row['batch']:5d} {cells}")


if __name__ == "__main__":
    main()
