"""Session 28's second probe. Call 1 (read_bw_probe_s28.py) found a read-only stream at 1.048x copy bandwidth,
the one-row GEMV at 0.996 of that on gate_up but 0.82 on the SiLU-fused down, 0.84 on o, 0.90 on qkv. Here:
  1. per-SM read bandwidth: the read-only kernel on P programs (P <= SMs: one an SM), to see whether a GEMV on
     fewer programs than SMs (qkv at 2-16 rows: 6,144 / 64 = 96 programs) is capped by its SMs;
  2. the one-row down projection: the SiLU-fused GEMV over tiles, and silu_and_mul then the plain GEMV;
  3. each Llama-3-8B projection at 8 and 32 rows over tiles (and K parts where the model splits: o, down), as a
     chain of distinct weights in a CUDA graph under PDL.
Prints TB/s and the share of the best read-only rate measured here.
Run from a tree's root: PYTHONPATH=.:/tmp/site python3 bench/results/h200/gemv_tiles_probe_s28.py [--out F]"""

import argparse
import functools
import itertools
import json
import sys
import time

import torch
import triton
import triton.language as tl

sys.path.insert(0, "bench")

from swiftllm.kernels.gemv import gemv  # noqa: E402
from swiftllm.kernels.silu_mul import silu_and_mul  # noqa: E402


@triton.jit
def _read_kernel(x_ptr, out_ptr, chunks, BLOCK: tl.constexpr, STAGES: tl.constexpr):
    pid = tl.program_id(0)
    programs = tl.num_programs(0)
    acc = tl.zeros([BLOCK], tl.float32)
    offs = tl.arange(0, BLOCK)
    for chunk in tl.range(pid, chunks, programs, num_stages=STAGES):
        acc += tl.load(x_ptr + chunk * BLOCK + offs).to(tl.float32)
    tl.store(out_ptr + pid, tl.sum(acc, 0))


def read(x: torch.Tensor, out: torch.Tensor, chunks: int) -> None:
    _read_kernel[(len(out),)](x, out, chunks, BLOCK=8192, STAGES=3, num_warps=4)


def chain(x: torch.Tensor, weights: list, tile: tuple, parts: int, silu: bool) -> None:
    for w in weights:
        if silu:  # the fused form, gone after b10df45: part 2 runs only on such a tree
            gemv(x, w, None, *tile, silu=True)
        else:
            gemv(x, w, None, *tile, parts=parts)


def unfused_chain(x: torch.Tensor, weights: list, tile: tuple) -> None:
    for w in weights:
        gemv(silu_and_mul(x), w, None, *tile)


def save(path: str | None, results: dict) -> None:
    if path:
        with open(path, "w") as f:
            json.dump(results, f, indent=1)


def down_one_row(args: argparse.Namespace, results: dict, best: float, t0: float) -> None:
    from common import time_graph

    hidden, inter = 4096, 14336
    downs = [(torch.randn(hidden, inter, device="cuda") / 64).to(torch.bfloat16) for _ in range(8)]
    h = torch.randn(1, 2 * inter, device="cuda").to(torch.bfloat16)
    wbytes = hidden * inter * 2 * len(downs)
    cells = []
    for tile in itertools.product((2, 4, 8), (256, 512, 1024), (4,), (2, 3, 4)):
        ms = time_graph(functools.partial(chain, h, downs, tile, 1, True), reps=5)
        cells.append(("fused", tile, wbytes / ms / 1e9))
    for tile in itertools.product((4, 8), (1024, 2048), (4,), (2, 3)):
        ms = time_graph(functools.partial(unfused_chain, h, downs, tile), reps=5)
        cells.append(("silu_and_mul + gemv", tile, wbytes / ms / 1e9))
    for form, tile, tbps in cells:
        results["down_1row"].append({"form": form, "tile": tile, "TBps": tbps})
    cells.sort(key=lambda c: -c[2])
    shipped = [c for c in cells if c[0] == "fused" and c[1] == (4, 512, 4, 4)][0]
    print(
        f"down, 1 row, shipped fused (4, 512, 4, 4): {shipped[2]:.3f} TB/s ({shipped[2] / best:.3f})"
    )
    for form, tile, tbps in cells[:6]:
        print(f"  best: {form:20s} {str(tile):20s} {tbps:.3f} TB/s ({tbps / best:.3f})")
    print(f"[{time.time() - t0:.0f} s]", flush=True)
    save(args.out, results)


def main() -> None:
    from common import ceilings, device_info, time_cuda, time_graph

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=None)
    parser.add_argument("--skip-down", action="store_true", help="leave out part 2 (call 2 ran it)")
    args = parser.parse_args()
    torch.manual_seed(0)
    t0 = time.time()
    ceil = ceilings()
    copy = ceil["copy_bw_Bps"]
    results = {"device": device_info(), "ceilings": ceil, "per_sm": [], "down_1row": [], "rows": []}

    n = 1 << 30
    x = torch.empty(n, dtype=torch.bfloat16, device="cuda").uniform_(-1, 1)
    best = 0.0
    for programs in (33, 66, 96, 132, 264, 528):
        out = torch.empty(programs, dtype=torch.float32, device="cuda")
        ms = time_cuda(functools.partial(read, x, out, n // 8192), warmup=2, iters=8)
        tbps = n * 2 / ms / 1e9
        best = max(best, tbps)
        results["per_sm"].append({"programs": programs, "TBps": tbps})
        print(
            f"read on {programs:3d} programs: {tbps:.3f} TB/s, {tbps / programs * 1e3:.1f} GB/s each"
        )
    x = None
    results["best_read_TBps"] = best
    save(args.out, results)
    print(
        f"copy {copy / 1e12:.3f} TB/s; best read {best:.3f} TB/s [{time.time() - t0:.0f} s]",
        flush=True,
    )

    if not args.skip_down:
        down_one_row(args, results, best, t0)

    matrices = {"qkv": (6144, 4096, 16), "o": (4096, 4096, 16), "gate_up": (28672, 4096, 4)}
    matrices["down"] = (4096, 14336, 6)
    shipped_tiles = {8: (64, 256, 4, 4), 32: {"wide": (128, 128, 4, 4), "narrow": (64, 128, 4, 6)}}
    for name, (n_out, k_in, layers) in matrices.items():
        weights = [
            (torch.randn(n_out, k_in, device="cuda") / 64).to(torch.bfloat16) for _ in range(layers)
        ]
        wbytes = n_out * k_in * 2 * layers
        model_parts = 2 if name in ("o", "down") else 1
        for rows in (8, 32):
            x = torch.randn(rows, k_in, device="cuda").to(torch.bfloat16)
            ship = shipped_tiles[8]
            if rows == 32:
                ship = shipped_tiles[32]["wide" if n_out >= 16384 else "narrow"]
            if rows == 8:
                grid = itertools.product((16, 32, 64), (256, 512), (4,), (3, 4, 6))
            else:
                grid = itertools.product((16, 32, 64, 128), (128, 256), (4,), (4, 6))
            cells = []
            for tile in grid:
                for parts in sorted({1, model_parts}):
                    run = functools.partial(chain, x, weights, tile, parts, False)
                    try:
                        ms = time_graph(run, reps=5)
                    except triton.runtime.errors.OutOfResources:
                        continue  # the tile's stages do not fit a block's shared memory
                    cells.append((tile, parts, wbytes / ms / 1e9))
            ms = time_graph(functools.partial(chain, x, weights, ship, model_parts, False), reps=5)
            ship_tbps = wbytes / ms / 1e9
            for tile, parts, tbps in cells:
                results["rows"].append(
                    {"matrix": name, "rows": rows, "tile": tile, "parts": parts, "TBps": tbps}
                )
            results["rows"].append(
                {
                    "matrix": name,
                    "rows": rows,
                    "tile": ship,
                    "parts": model_parts,
                    "shipped": True,
                    "TBps": ship_tbps,
                }
            )
            cells.sort(key=lambda c: -c[2])
            top = "; ".join(f"{t} x{p}: {v:.3f} ({v / best:.3f})" for t, p, v in cells[:3])
            print(
                f"{name:8s} {rows:2d} rows: shipped {ship} x{model_parts} {ship_tbps:.3f} TB/s "
                f"({ship_tbps / best:.3f}); best {top} [{time.time() - t0:.0f} s]",
                flush=True,
            )
        weights = None
        save(args.out, results)


if __name__ == "__main__":
    main()
