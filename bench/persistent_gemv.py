"""The other half of the persistent-kernel question: can two dependent one-row GEMVs in one launch, a grid-wide
barrier between them, stream their weights as fast as the shipped GEMV does in two launches under PDL?

    PYTHONPATH=. python3 bench/persistent_gemv.py [--layers 8] [--programs-per-sm 1,2,3]
    PYTHONPATH=. python3 bench/persistent_gemv.py --resources   # no GPU: compiled for sm_90, programs an SM

`sync_cost.py` times a synchronisation alone; this times it inside the work it would serve. A layer here is an
MLP's two weight streams at one row without its norm and SiLU: y1 = x W1^T with W1 the Llama-3-8B gate_up
[28,672, 4,096], then y2 = y1[:14,336] W2^T with W2 down [4,096, 14,336] (y2 feeds the next layer's x).

- `two launches`: `swiftllm.kernels.gemv.gemv` twice a layer, as the decode step runs it at one row (its tile
  (4, 2,048, 4 warps, 2 stages), PDL, the first weight tile loaded before the PDL wait).
- `persistent`: one launch a layer of `programs-per-sm` programs an SM, each taking W1's column tiles round
  robin, then a grid barrier (sync_cost.py's: one thread's release add, acquire polls, bar.sync), then W2's
  tiles; the program's first W2 tile is loaded before it waits at the barrier, as the GEMV loads its first
  tile before the PDL wait. y1 is read back through the L2 (`.cg`), where other SMs wrote it.

A chain of `layers` such layers (distinct weights, so no layer reads another's from the L2) in one CUDA graph,
median of replays: µs a layer, and the weight bytes a layer reads per second as a ratio to the copy bandwidth
measured in the same run (the floor: a stream that reads at the copy rate is at 1.0; a read-only stream may
pass it slightly, bench/README.md). The two forms' outputs are compared (bf16, float32 sums: rel err under 1e-2).
Writes results/persistent_gemv.json. A barrier needs every program resident at once, or it waits forever: the
kernel is first compiled for sm_90 (`sm90_resources.py`'s way) and a `programs-per-sm` above what its registers
and shared memory allow is skipped (`--resources` prints that, no GPU needed). On the CPU (TRITON_INTERPRET=1)
it checks the persistent form at small shapes with one program against float64 (the interpreter runs programs
one after another) and exits."""

from __future__ import annotations

import argparse
import os
import sys

import torch
import triton
import triton.language as tl

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from swiftllm.kernels import pdl  # noqa: E402

BLOCK_N = 4  # the shipped one-row GEMV's tile (gemv.GEMV_CONFIGS["1 row", "plain"])
BLOCK_K = 2048
NUM_WARPS = 4
NUM_STAGES = 2
GATE_UP = (28672, 4096)  # Llama-3-8B, [N, K]
DOWN = (4096, 14336)


@triton.jit
def _tile(
    x_ptr,
    w_ptr,
    y_ptr,
    tile,
    k_dim,
    w_stride,
    w_first,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
):
    # one column tile of y = x W^T at one row; `w_first` is the tile's first [BLOCK_N, BLOCK_K] of W, already
    # loaded. x through the L2 (.cg): in the second stage another SM wrote it during this launch
    n = tile * BLOCK_N + tl.arange(0, BLOCK_N)
    k = tl.arange(0, BLOCK_K)
    w_rows = w_ptr + n.to(tl.int64)[:, None] * w_stride
    x = tl.load(x_ptr + k, cache_modifier=".cg")
    acc = w_first.to(tl.float32) * x.to(tl.float32)[None, :]
    for k0 in range(BLOCK_K, k_dim, BLOCK_K):
        w = tl.load(w_rows + k0 + k[None, :])
        x = tl.load(x_ptr + k0 + k, cache_modifier=".cg")
        acc += w.to(tl.float32) * x.to(tl.float32)[None, :]
    tl.store(y_ptr + n, tl.sum(acc, 1).to(y_ptr.dtype.element_ty))


@triton.jit
def _first_w(w_ptr, tile, w_stride, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    n = tile * BLOCK_N + tl.arange(0, BLOCK_N)
    k = tl.arange(0, BLOCK_K)
    return tl.load(w_ptr + n.to(tl.int64)[:, None] * w_stride + k[None, :])


@triton.jit
def _persistent_pair_kernel(
    x_ptr,
    w1_ptr,
    y1_ptr,
    w2_ptr,
    y2_ptr,
    counter_ptr,
    n1,
    k1,
    n2,
    k2,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
    PDL: tl.constexpr,
):
    # n1, n2 multiples of BLOCK_N; k1, k2 of BLOCK_K (the Llama shapes are); k2 <= n1 (y1's first k2 feed W2)
    pid = tl.program_id(0)
    programs = tl.num_programs(0)
    w = _first_w(
        w1_ptr, pid, k1, BLOCK_N, BLOCK_K
    )  # weights: no kernel writes them, safe before the wait
    if PDL:
        pdl.gdc()
    for tile in range(pid, n1 // BLOCK_N, programs):
        if tile != pid:
            w = _first_w(w1_ptr, tile, k1, BLOCK_N, BLOCK_K)
        _tile(x_ptr, w1_ptr, y1_ptr, tile, k1, k1, w, BLOCK_N, BLOCK_K)
    w = _first_w(w2_ptr, pid, k2, BLOCK_N, BLOCK_K)  # before the barrier, as before the PDL wait
    tl.debug_barrier()  # every thread's y1 stores before the arrival
    tl.atomic_add(counter_ptr, 1, sem="release")
    seen = tl.atomic_add(counter_ptr, 0, sem="acquire")
    while seen < programs:
        seen = tl.atomic_add(counter_ptr, 0, sem="acquire")
    tl.debug_barrier()
    for tile in range(pid, n2 // BLOCK_N, programs):
        if tile != pid:
            w = _first_w(w2_ptr, tile, k2, BLOCK_N, BLOCK_K)
        _tile(y1_ptr, w2_ptr, y2_ptr, tile, k2, k2, w, BLOCK_N, BLOCK_K)


def persistent_pair(
    x: torch.Tensor,
    w1: torch.Tensor,
    w2: torch.Tensor,
    counter: torch.Tensor,
    programs: int,
    y1: torch.Tensor | None = None,
    use_pdl: bool = False,
) -> torch.Tensor:
    """y1 = x w1^T, then y1[:K2] w2^T, in one launch of `programs` programs; x [1, K1]; `counter` an int32 that
    this zeroes first. Returns y2 [1, N2]."""
    n1, k1 = w1.shape
    n2, k2 = w2.shape
    assert n1 % BLOCK_N == 0 and n2 % BLOCK_N == 0 and k1 % BLOCK_K == 0 and k2 % BLOCK_K == 0
    assert k2 <= n1 and x.shape == (1, k1) and programs <= n2 // BLOCK_N
    if y1 is None:
        y1 = torch.empty((1, n1), dtype=x.dtype, device=x.device)
    y2 = torch.empty((1, n2), dtype=x.dtype, device=x.device)
    counter.zero_()
    _persistent_pair_kernel[(programs,)](
        x,
        w1,
        y1,
        w2,
        y2,
        counter,
        n1,
        k1,
        n2,
        k2,
        BLOCK_N=BLOCK_N,
        BLOCK_K=BLOCK_K,
        PDL=use_pdl,
        num_warps=NUM_WARPS,
        num_stages=NUM_STAGES,
        launch_pdl=use_pdl,
    )
    return y2


def resident_programs() -> int:
    """Programs of the persistent kernel an SM holds at once, by registers and shared memory, compiled for
    sm_90 with Triton's own ptxas (no GPU needed)."""
    from sm90_resources import Variant, compile_variant

    variant = Variant(
        kernel="persistent_pair",
        name="1 row",
        fn=_persistent_pair_kernel,
        constexprs={"BLOCK_N": BLOCK_N, "BLOCK_K": BLOCK_K, "PDL": True},
        num_warps=NUM_WARPS,
        num_stages=NUM_STAGES,
        pointers={"counter_ptr": "*i32"},
    )
    resources = compile_variant(variant, 90)
    print(
        f"persistent pair for sm_90: {resources.registers} registers, {resources.shared_bytes} B shared, "
        f"{resources.stack_bytes} B stack; programs an SM by registers "
        f"{resources.programs_per_sm_by_registers}, by shared memory {resources.programs_per_sm_by_shared}"
    )
    return min(resources.programs_per_sm_by_registers, resources.programs_per_sm_by_shared)


def reference(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    """The pair in float64, y1 rounded to x's dtype as both forms store it."""
    y1 = (x.double() @ w1.double().T).to(x.dtype)
    return y1[:, : w2.shape[1]].double() @ w2.double().T


def rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    return float((out.double() - ref.double()).norm() / ref.double().norm())


def check_on_cpu() -> float:
    """The persistent form with one program at small shapes (a few tiles each side) against float64."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2 * BLOCK_K, generator=gen)
    w1 = torch.randn(BLOCK_K, 2 * BLOCK_K, generator=gen) / 64  # y1 just covers W2's K
    w2 = torch.randn(3 * BLOCK_N, BLOCK_K, generator=gen) / 64
    counter = torch.zeros(1, dtype=torch.int32)
    out = persistent_pair(x, w1, w2, counter, programs=1)
    return rel_err(out, reference(x, w1, w2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--programs-per-sm", default="1,2,3")
    ap.add_argument("--resources", action="store_true", help="compile for sm_90, print, exit")
    args = ap.parse_args()
    if args.resources:
        resident_programs()
        return
    if not torch.cuda.is_available():
        err = check_on_cpu()
        print(f"one program in the interpreter: rel err against float64 {err:.2e}")
        if not err < 1e-5:
            raise SystemExit("the persistent pair is wrong")
        return
    from common import ceilings, device_info, time_cuda, write_results

    from swiftllm.kernels.gemv import gemv

    info = device_info()
    sms = info["sms"]
    dev = torch.device("cuda")
    bf16 = torch.bfloat16
    layers = []
    for _ in range(args.layers):
        w1 = torch.randn(GATE_UP, dtype=bf16, device=dev) / 64
        w2 = torch.randn(DOWN, dtype=bf16, device=dev) / 64
        layers.append((w1, w2))
    x0 = torch.randn(1, GATE_UP[1], dtype=bf16, device=dev)
    layer_bytes = (GATE_UP[0] * GATE_UP[1] + DOWN[0] * DOWN[1]) * 2
    counters = torch.zeros(args.layers, dtype=torch.int32, device=dev)

    def two_launches() -> torch.Tensor:
        x = x0
        for w1, w2 in layers:
            y1 = gemv(x, w1)
            x = gemv(y1[:, : DOWN[1]], w2)
        return x

    def persistent(programs: int) -> torch.Tensor:
        x = x0
        for i, (w1, w2) in enumerate(layers):
            x = persistent_pair(x, w1, w2, counters[i : i + 1], programs, use_pdl=pdl.ENABLED)
        return x

    def graph_ms(fn: object) -> tuple[float, torch.Tensor]:
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            fn()  # compile outside the capture
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out = fn()
        return time_cuda(graph.replay, warmup=3, iters=15), out

    resident = resident_programs()
    floor = ceilings()
    rows = []
    ms, base_out = graph_ms(two_launches)
    rows.append({"form": "two launches", "programs": None, "ms": ms, "rel_err": 0.0})
    for per_sm in (int(v) for v in args.programs_per_sm.split(",")):
        if per_sm > resident:
            print(
                f"skipped: {per_sm} programs an SM, where {resident} fit (a barrier would wait forever)"
            )
            continue
        programs = sms * per_sm
        ms, out = graph_ms(lambda programs=programs: persistent(programs))
        err = rel_err(out.float(), base_out.float())
        rows.append({"form": "persistent", "programs": programs, "ms": ms, "rel_err": err})
    for row in rows:
        row["us_a_layer"] = row["ms"] * 1e3 / args.layers
        row["read_rate_vs_copy"] = layer_bytes / (row["us_a_layer"] * 1e-6) / floor["copy_bw_Bps"]
    path = write_results(
        "persistent_gemv", {**info, "ceilings": floor, "layers": args.layers, "rows": rows}
    )
    copy_tbps = floor["copy_bw_Bps"] / 1e12
    print(f"{info['device']}, {sms} SMs, copy {copy_tbps:.2f} TB/s; {args.layers} layers; {path}")
    print(f"{'form':>14} {'programs':>9} {'us a layer':>11} {'÷ copy rate':>12} {'rel err':>9}")
    for row in rows:
        programs = row["programs"] or "-"
        print(
            f"{row['form']:>14} {programs:>9} {row['us_a_layer']:11.2f} "
            f"{row['read_rate_vs_copy']:12.3f} {row['rel_err']:9.1e}"
        )
    if any(not row["rel_err"] < 1e-2 for row in rows):
        raise SystemExit("the persistent pair disagrees with two launches")


if __name__ == "__main__":
    main()
