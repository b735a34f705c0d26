"""Tile sweep of our small-batch GEMV (swiftllm/kernels/gemv.py) on this GPU, against copy bandwidth.

    PYTHONPATH=. python3 bench/gemv_sweep.py [--rows 1,4,8,16,32,64] [--quick]

The shipped tiles (`GEMV_CONFIGS`) were chosen on an H100. For each row count this times, in a CUDA graph,
a chain of four Llama-3-8B layers' projections (qkv, o, gate_up, down; distinct weights per layer, so the
weights stream from memory as in a decode step, with PDL as the step runs them) under every candidate tile,
and each projection alone. Prints, per row count, the shipped tile's chain time and share of copy bandwidth
beside the best candidate's, and the best tile per projection; writes results/gemv_sweep.json.
A candidate is a GemvConfig (block_n, block_k, num_warps, num_stages); rows 2-16 share one compiled kernel
(BLOCK_M 16), as do 17-32 (BLOCK_M 32)."""

from __future__ import annotations

import argparse
import itertools

import torch
from common import ceilings, device_info, time_graph, write_results

from swiftllm.kernels.gemv import WIDE, GemvConfig, gemv, gemv_config

DEV = "cuda"
MATRICES = {"qkv": (6144, 4096), "o": (4096, 4096), "gate_up": (28672, 4096), "down": (4096, 14336)}
LAYERS = 4


def candidates(rows: int, quick: bool) -> list[GemvConfig]:
    """Tiles worth trying at this many rows (one row: a multiply-add over wide K; more: tl.dot tiles)."""
    if rows == 1:
        grid = itertools.product((2, 4, 8), (512, 1024, 2048), (4, 8), (2, 3, 4))
    elif rows <= 16:
        grid = itertools.product((32, 64, 128), (128, 256, 512), (4, 8), (3, 4, 6))
    else:
        grid = itertools.product((32, 64, 128), (64, 128, 256), (4, 8), (3, 4, 6))
    configs = [GemvConfig(*values) for values in grid]
    if quick:
        configs = configs[:: max(1, len(configs) // 6)]
    return configs


def chain_ms(
    inputs: dict[str, torch.Tensor],
    weights: dict[str, list[torch.Tensor]],
    config_of: dict[str, GemvConfig],
) -> float:
    """GPU ms of every layer's four projections, each under its tile."""

    def run() -> None:
        for layer in range(LAYERS):
            for name in MATRICES:
                gemv(inputs[name], weights[name][layer], None, *config_of[name])

    return time_graph(run)


def alone_us(x: torch.Tensor, layers: list[torch.Tensor], config: GemvConfig) -> float:
    """GPU microseconds of one projection, averaged over the layers' weights."""
    return time_graph(lambda: [gemv(x, w, None, *config) for w in layers], reps=5) * 1e3 / LAYERS


def shipped(rows: int, name: str) -> GemvConfig:
    n_cols = MATRICES[name][0]
    return gemv_config(rows, wide=n_cols >= WIDE)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="1,4,8,16,32,64")
    ap.add_argument("--quick", action="store_true", help="six of the candidates, evenly spaced")
    args = ap.parse_args()
    ceil = ceilings()
    bandwidth = ceil["copy_bw_Bps"]
    weights = {
        name: [torch.randn(n, k, device=DEV, dtype=torch.bfloat16) for _ in range(LAYERS)]
        for name, (n, k) in MATRICES.items()
    }
    chain_bytes = sum(n * k * 2 * LAYERS for n, k in MATRICES.values())
    data = {**device_info(), "ceilings": ceil, "layers": LAYERS, "rows": []}
    for rows in (int(r) for r in args.rows.split(",")):
        inputs = {
            name: torch.randn(rows, k, device=DEV, dtype=torch.bfloat16)
            for name, (n, k) in MATRICES.items()
        }
        shipped_tiles = {name: shipped(rows, name) for name in MATRICES}
        row = {
            "rows": rows,
            "shipped_chain_ms": chain_ms(inputs, weights, shipped_tiles),
            "chain": [],
            "alone": {},
        }
        for config in candidates(rows, args.quick):
            try:
                row["chain"].append(
                    {
                        "config": config._asdict(),
                        "ms": chain_ms(inputs, weights, dict.fromkeys(MATRICES, config)),
                    }
                )
            # a tile that does not fit (shared memory) is skipped, saying why
            except Exception as error:
                print(f"rows {rows} {config}: {type(error).__name__}", flush=True)
        for name in MATRICES:
            timed = []
            for config in candidates(rows, args.quick):
                try:
                    timed.append(
                        {
                            "config": config._asdict(),
                            "us": alone_us(inputs[name], weights[name], config),
                        }
                    )
                except Exception:
                    continue
            n, k = MATRICES[name]
            best = min(timed, key=lambda t: t["us"])
            shipped_us = alone_us(inputs[name], weights[name], shipped_tiles[name])
            row["alone"][name] = {
                "shipped": shipped_tiles[name]._asdict(),
                "shipped_us": shipped_us,
                "shipped_of_bw": n * k * 2 / (shipped_us / 1e6) / bandwidth,
                "best": best["config"],
                "best_us": best["us"],
                "best_of_bw": n * k * 2 / (best["us"] / 1e6) / bandwidth,
            }
        best_chain = min(row["chain"], key=lambda c: c["ms"])
        row["best_chain"] = best_chain
        row["shipped_chain_of_bw"] = chain_bytes / (row["shipped_chain_ms"] / 1e3) / bandwidth
        row["best_chain_of_bw"] = chain_bytes / (best_chain["ms"] / 1e3) / bandwidth
        data["rows"].append(row)
        print(
            f"rows {rows}: shipped chain {row['shipped_chain_ms']:.3f} ms, best {best_chain['ms']:.3f} ms",
            flush=True,
        )
    write_results("gemv_sweep", data)
    print(
        f"\n{data['device']}  copy {bandwidth / 1e12:.2f} TB/s  chain of {LAYERS} layers' qkv, o, gate_up, down"
    )
    print(
        f"{'rows':>4} {'shipped ms':>10} {'of bw':>6} {'best ms':>8} {'of bw':>6}  best tile (n, k, warps, stages)"
    )
    for row in data["rows"]:
        tile = tuple(row["best_chain"]["config"].values())
        print(
            f"{row['rows']:4d} {row['shipped_chain_ms']:10.3f} {row['shipped_chain_of_bw']:6.2f} "
            f"{row['best_chain']['ms']:8.3f} {row['best_chain_of_bw']:6.2f}  {tile}"
        )
    print(
        f"\n{'rows':>4} {'matrix':>8} {'shipped us':>10} {'of bw':>6} {'best us':>8} {'of bw':>6}  best tile"
    )
    for row in data["rows"]:
        for name, alone in row["alone"].items():
            print(
                f"{row['rows']:4d} {name:>8} {alone['shipped_us']:10.1f} {alone['shipped_of_bw']:6.2f} "
                f"{alone['best_us']:8.1f} {alone['best_of_bw']:6.2f}  {tuple(alone['best'].values())}"
            )


if __name__ == "__main__":
    main()
