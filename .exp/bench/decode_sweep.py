"""Split sweep of paged decode attention (swiftllm/kernels/decode_attention.py) on this GPU, against copy bandwidth.

    PYTHONPATH=. python3 bench/decode_sweep.py [--batches 1,8,16,32,64,128,256] [--context 1088]

decode_params picks a kernel's split count from static shapes (H100 measurements). For each batch size this
times, in a CUDA graph, decode attention over LAYERS layers' distinct caches (so the K/V stream from memory
as in a step, not from the L2) at every split count, each sequence at the same context length, Llama-3-8B's
heads (32 query heads over 8 KV heads, head dim 128). Prints each split count's microseconds per layer and
its ratio to the layer's K/V read at copy bandwidth, beside decode_params' choice; writes
results/decode_sweep.json."""

from __future__ import annotations

import argparse

import torch
from common import ceilings, device_info, time_graph, write_results

from swiftllm.kernels.decode_attention import MIN_CHUNK, decode_attention, decode_params

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
) -> float:
    """GPU microseconds of one layer's decode attention at this split count, averaged over the layers."""

    def run() -> None:
        for k_cache, v_cache in caches:
            decode_attention(
                q, k_cache, v_cache, table, lens, HEAD_DIM**-0.5, splits, None, MIN_CHUNK
            )

    return time_graph(run, reps=3) * 1e3 / LAYERS


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,8,16,32,64,128,256")
    ap.add_argument("--context", type=int, default=1088)
    args = ap.parse_args()
    bandwidth = ceilings()["copy_bw_Bps"]
    context = args.context
    blocks = -(-context // PAGE)
    data = {**device_info(), "copy_bw_Bps": bandwidth, "context": context, "rows": []}
    for batch in (int(b) for b in args.batches.split(",")):
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
        lens = torch.full((batch,), context, device=DEV, dtype=torch.int32)
        q = torch.randn(batch, HEADS, HEAD_DIM, device=DEV, dtype=torch.bfloat16)
        floor_us = batch * context * KV_HEADS * HEAD_DIM * 2 * 2 / bandwidth * 1e6
        default = decode_params(batch, KV_HEADS, CAPACITY, torch.device(DEV))
        row = {"batch": batch, "floor_us": floor_us, "default": list(default), "us": {}}
        for splits in SPLITS:
            row["us"][splits] = layer_us(caches, q, table, lens, splits)
        data["rows"].append(row)
        print(f"batch {batch}: {row['us']}", flush=True)
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


if __name__ == "__main__":
    main()
