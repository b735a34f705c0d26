"""Session 28's probe: is the one-row GEMV (~0.95 of *copy* bandwidth) at the H200's floor for a read-only
stream, or can a kernel that only reads go faster than copy bandwidth (which counts bytes read + written)?

Times, after the usual ceilings:
  1. a read-only Triton kernel (each program sums its contiguous slices of a 2 GiB bf16 tensor), over tile
     sizes, warps and grid sizes, and torch's own sum;
  2. the shipped one-row GEMV on the Llama-3-8B matrices (distinct weights per layer, a CUDA graph of a chain of
     them, so that nothing is read from the L2), at its shipped tile and a few others.
Prints TB/s for each, and each as a share of copy bandwidth.
Run from a tree's root: PYTHONPATH=.:/tmp/site python3 bench/results/h200/read_bw_probe_s28.py [--out F]"""

import argparse
import functools
import json
import sys

import torch
import triton
import triton.language as tl

sys.path.insert(0, "bench")

from swiftllm.kernels.gemv import gemv  # noqa: E402


@triton.jit
def _read_kernel(x_ptr, out_ptr, chunks, BLOCK: tl.constexpr, STAGES: tl.constexpr):
    pid = tl.program_id(0)
    programs = tl.num_programs(0)
    acc = tl.zeros([BLOCK], tl.float32)
    offs = tl.arange(0, BLOCK)
    for chunk in tl.range(pid, chunks, programs, num_stages=STAGES):
        acc += tl.load(x_ptr + chunk * BLOCK + offs).to(tl.float32)
    tl.store(out_ptr + pid, tl.sum(acc, 0))


def read(
    x: torch.Tensor, out: torch.Tensor, chunks: int, block: int, stages: int, warps: int
) -> None:
    _read_kernel[(len(out),)](x, out, chunks, BLOCK=block, STAGES=stages, num_warps=warps)


def chain(h: torch.Tensor, weights: list, tile: tuple | None, silu: bool) -> None:
    for w in weights:
        if tile is None:
            gemv(h, w, silu=silu)
        else:
            gemv(h, w, None, *tile, silu=silu)


def main() -> None:
    from common import ceilings, device_info, time_cuda, time_graph

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.manual_seed(0)
    ceil = ceilings()
    copy = ceil["copy_bw_Bps"]
    print(
        f"copy {copy / 1e12:.3f} TB/s, matmul {ceil['matmul_flops'] / 1e12:.0f} TFLOP/s", flush=True
    )
    results = {"device": device_info(), "ceilings": ceil, "read": [], "gemv": []}
    sms = torch.cuda.get_device_properties(0).multi_processor_count

    n = 1 << 30  # bf16 elements: 2 GiB (int32 offsets suffice)
    x = torch.empty(n, dtype=torch.bfloat16, device="cuda").uniform_(-1, 1)
    nbytes = n * 2
    ms = time_cuda(lambda: x.sum(dtype=torch.float32), warmup=3, iters=10)
    row = {"kind": "torch.sum", "TBps": nbytes / ms / 1e9}
    results["read"].append(row)
    print(
        f"torch.sum: {row['TBps']:.3f} TB/s ({row['TBps'] * 1e12 / copy:.3f} of copy)", flush=True
    )
    for block in (2048, 4096, 8192):
        chunks = n // block
        for warps in (4, 8):
            for per_sm in (4, 8, 16, 0):  # 0: one program per chunk
                programs = chunks if per_sm == 0 else sms * per_sm
                for stages in (1, 3):
                    out = torch.empty(programs, dtype=torch.float32, device="cuda")

                    run = functools.partial(read, x, out, chunks, block, stages, warps)
                    ms = time_cuda(run, warmup=2, iters=10)
                    row = {
                        "kind": "triton read",
                        "block": block,
                        "warps": warps,
                        "programs_per_sm": per_sm,
                        "stages": stages,
                        "TBps": nbytes / ms / 1e9,
                    }
                    results["read"].append(row)
                    print(
                        f"read block {block:5d} warps {warps} per-SM {per_sm:2d} stages {stages}: "
                        f"{row['TBps']:.3f} TB/s ({row['TBps'] * 1e12 / copy:.3f} of copy)",
                        flush=True,
                    )
    x = None
    best = max(r["TBps"] for r in results["read"])
    print(f"best read-only: {best:.3f} TB/s = {best * 1e12 / copy:.3f} of copy", flush=True)

    hidden = 4096
    shapes = {
        "qkv": (6144, hidden, 16, False),
        "o": (hidden, hidden, 16, False),
        "gate_up": (28672, hidden, 8, False),
        "down (silu)": (hidden, 14336, 8, True),
        "lm_head": (128256, hidden, 2, False),
    }
    tiles = [
        None,
        (4, 1024, 4, 3),
        (8, 1024, 4, 2),
        (8, 2048, 8, 2),
        (2, 4096, 4, 2),
        (16, 512, 4, 4),
    ]
    for name, (n_out, k_in, layers, silu) in shapes.items():
        weights = [
            (torch.randn(n_out, k_in, device="cuda") / 64).to(torch.bfloat16) for _ in range(layers)
        ]
        h = torch.randn(1, k_in * (2 if silu else 1), device="cuda").to(torch.bfloat16)
        wbytes = n_out * k_in * 2 * layers
        for tile in tiles:
            if silu and tile is not None and tile[1] > 512:
                continue

            ms = time_graph(functools.partial(chain, h, weights, tile, silu), reps=5)
            row = {"matrix": name, "tile": tile, "TBps": wbytes / ms / 1e9}
            results["gemv"].append(row)
            print(
                f"gemv 1 row {name:12s} tile {str(tile or 'shipped'):20s}: {row['TBps']:.3f} TB/s "
                f"({row['TBps'] * 1e12 / copy:.3f} of copy, {row['TBps'] / best:.3f} of best read)",
                flush=True,
            )
        weights = None
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
