"""The other half of the persistent-kernel question: can two dependent one-row GEMVs in one launch, a grid-wide
barrier between them, stream their weights as fast as the shipped GEMV does in two launches under PDL? And a
decode step's whole MLP block at one row, in one launch?

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

Then the whole MLP block of a decode step at one row (kernel `mlp`): the shipped rms_norm (with the residual
add), gemv(gate_up), silu_and_mul and gemv(down), four launches, against one persistent launch in which each
program normalises the row itself into its own scratch copy (8 KB from the L2 a program: a prologue that cost
too much when every one of a standalone GEMV's ~7,000 programs ran it, before session 12, but is paid ~400
times here), takes gate_up's tiles with SiLU x mul in their epilogue, meets the others at one barrier, then
takes down's. Three kernel boundaries become one barrier.

A chain of `layers` such layers (distinct weights, so no layer reads another's from the L2) in one CUDA graph,
median of replays: µs a layer, and the weight bytes a layer reads per second as a ratio to the copy bandwidth
measured in the same run (the floor: a stream that reads at the copy rate is at 1.0; a read-only stream may
pass it slightly, bench/README.md). Each persistent form's output is compared with the shipped kernels' (bf16,
float32 sums: rel err under 1e-2).
Writes results/persistent_gemv.json. A barrier needs every program resident at once, or it waits forever: the
kernel is first compiled for sm_90 (`sm90_resources.py`'s way) and a `programs-per-sm` above what its registers
and shared memory allow is skipped (`--resources` prints that, no GPU needed). On the CPU (TRITON_INTERPRET=1)
it checks both persistent forms at small shapes with one program against float64 (the interpreter runs
programs one after another) and exits."""

from __future__ import annotations

import argparse
import functools
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
def _grid_barrier(counter_ptr, programs):
    # sync_cost.py's barrier: every thread's stores before one thread's release arrival, then its acquire polls
    # until all `programs` have arrived (every one must be resident, or this waits forever)
    tl.debug_barrier()
    tl.atomic_add(counter_ptr, 1, sem="release")
    seen = tl.atomic_add(counter_ptr, 0, sem="acquire")
    while seen < programs:
        seen = tl.atomic_add(counter_ptr, 0, sem="acquire")
    tl.debug_barrier()


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
    _grid_barrier(counter_ptr, programs)
    for tile in range(pid, n2 // BLOCK_N, programs):
        if tile != pid:
            w = _first_w(w2_ptr, tile, k2, BLOCK_N, BLOCK_K)
        _tile(y1_ptr, w2_ptr, y2_ptr, tile, k2, k2, w, BLOCK_N, BLOCK_K)


@triton.jit
def _first_gate_up(w_ptr, tile, inter, k_dim, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    # gate's rows n and up's rows inter + n (gate_up is [2 * inter, K]), their first K tile
    n = tile * BLOCK_N + tl.arange(0, BLOCK_N)
    k = tl.arange(0, BLOCK_K)
    gate_rows = w_ptr + n.to(tl.int64)[:, None] * k_dim
    up_rows = gate_rows + inter.to(tl.int64) * k_dim
    return tl.load(gate_rows + k[None, :]), tl.load(up_rows + k[None, :])


@triton.jit
def _gated_tile(
    x_ptr,
    w_ptr,
    act_ptr,
    tile,
    inter,
    k_dim,
    gate_first,
    up_first,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
):
    # act[n] = silu(gate[n]) * up[n] for one column tile at one row, gate and up rounded to the activation
    # dtype first (the shipped path stores gate_up in it); x is this program's own normalised copy
    n = tile * BLOCK_N + tl.arange(0, BLOCK_N)
    k = tl.arange(0, BLOCK_K)
    gate_rows = w_ptr + n.to(tl.int64)[:, None] * k_dim
    up_rows = gate_rows + inter.to(tl.int64) * k_dim
    x = tl.load(x_ptr + k).to(tl.float32)[None, :]
    acc_gate = gate_first.to(tl.float32) * x
    acc_up = up_first.to(tl.float32) * x
    for k0 in range(BLOCK_K, k_dim, BLOCK_K):
        x = tl.load(x_ptr + k0 + k).to(tl.float32)[None, :]
        acc_gate += tl.load(gate_rows + k0 + k[None, :]).to(tl.float32) * x
        acc_up += tl.load(up_rows + k0 + k[None, :]).to(tl.float32) * x
    dtype = act_ptr.dtype.element_ty
    gate = tl.sum(acc_gate, 1).to(dtype).to(tl.float32)
    up = tl.sum(acc_up, 1).to(dtype).to(tl.float32)
    tl.store(act_ptr + n, (gate / (1.0 + tl.exp(-gate)) * up).to(dtype))


@triton.jit
def _persistent_mlp_kernel(
    h_ptr,
    res_ptr,
    norm_w_ptr,
    gate_up_ptr,
    down_ptr,
    x_scratch_ptr,
    act_ptr,
    out_ptr,
    res_out_ptr,
    counter_ptr,
    inter,
    eps,
    HIDDEN: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K1: tl.constexpr,
    BLOCK_K2: tl.constexpr,
    PDL: tl.constexpr,
):
    # A decode step's MLP block at one row, as rms_norm (with the residual add), gemv(gate_up), silu_and_mul
    # and gemv(down) compute it, in one launch: each program normalises the row itself into its own scratch
    # copy (no barrier: 8 KB from the L2 a program), takes gate_up's column tiles round robin with SiLU x mul
    # in the tile's epilogue, meets the others at one grid barrier, then takes down's tiles.
    pid = tl.program_id(0)
    programs = tl.num_programs(0)
    gate_first, up_first = _first_gate_up(gate_up_ptr, pid, inter, HIDDEN, BLOCK_N, BLOCK_K1)
    cols = tl.arange(0, HIDDEN)
    norm_w = tl.load(norm_w_ptr + cols).to(tl.float32)
    if PDL:
        pdl.gdc()
    dtype = out_ptr.dtype.element_ty
    s = (tl.load(h_ptr + cols) + tl.load(res_ptr + cols)).to(dtype)
    if pid == 0:
        tl.store(res_out_ptr + cols, s)
    sf = s.to(tl.float32)
    inv = tl.rsqrt(tl.sum(sf * sf, axis=0) / HIDDEN + eps)
    x_own = x_scratch_ptr + pid.to(tl.int64) * HIDDEN
    tl.store(x_own + cols, (sf * inv * norm_w).to(dtype))
    tl.debug_barrier()  # the program's threads read one another's x
    for tile in range(pid, inter // BLOCK_N, programs):
        if tile != pid:
            gate_first, up_first = _first_gate_up(
                gate_up_ptr, tile, inter, HIDDEN, BLOCK_N, BLOCK_K1
            )
        _gated_tile(
            x_own,
            gate_up_ptr,
            act_ptr,
            tile,
            inter,
            HIDDEN,
            gate_first,
            up_first,
            BLOCK_N,
            BLOCK_K1,
        )
    w = _first_w(
        down_ptr, pid, inter, BLOCK_N, BLOCK_K2
    )  # before the barrier, as before the PDL wait
    _grid_barrier(counter_ptr, programs)
    for tile in range(pid, HIDDEN // BLOCK_N, programs):
        if tile != pid:
            w = _first_w(down_ptr, tile, inter, BLOCK_N, BLOCK_K2)
        _tile(act_ptr, down_ptr, out_ptr, tile, inter, inter, w, BLOCK_N, BLOCK_K2)


MLP_BLOCK_K1 = (
    1024  # gate and up each hold an accumulator: half the shipped tile's K keeps the registers
)


def persistent_mlp(
    h: torch.Tensor,
    residual: torch.Tensor,
    norm_w: torch.Tensor,
    gate_up: torch.Tensor,
    down: torch.Tensor,
    eps: float,
    counter: torch.Tensor,
    programs: int,
    use_pdl: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(mlp(rms_norm(h + residual)), h + residual) at one row in one launch, as the shipped ops compute them;
    `counter` an int32 that this zeroes first."""
    hidden = h.shape[1]
    inter = down.shape[1]
    assert h.shape == (1, hidden) and residual.shape == (1, hidden) and hidden & (hidden - 1) == 0
    assert gate_up.shape == (2 * inter, hidden) and down.shape == (hidden, inter)
    assert inter % BLOCK_N == 0 and hidden % MLP_BLOCK_K1 == 0 and inter % BLOCK_K == 0
    assert programs <= hidden // BLOCK_N
    x_scratch = torch.empty((programs, hidden), dtype=h.dtype, device=h.device)
    act = torch.empty((1, inter), dtype=h.dtype, device=h.device)
    out = torch.empty_like(h)
    res_out = torch.empty_like(h)
    counter.zero_()
    _persistent_mlp_kernel[(programs,)](
        h,
        residual,
        norm_w,
        gate_up,
        down,
        x_scratch,
        act,
        out,
        res_out,
        counter,
        inter,
        eps,
        HIDDEN=hidden,
        BLOCK_N=BLOCK_N,
        BLOCK_K1=MLP_BLOCK_K1,
        BLOCK_K2=BLOCK_K,
        PDL=use_pdl,
        num_warps=NUM_WARPS,
        num_stages=NUM_STAGES,
        launch_pdl=use_pdl,
    )
    return out, res_out


def mlp_reference(
    h: torch.Tensor,
    residual: torch.Tensor,
    norm_w: torch.Tensor,
    gate_up: torch.Tensor,
    down: torch.Tensor,
    eps: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The MLP block in float64, rounded to h's dtype where the shipped ops store (the residual sum, the norm,
    gate_up, the SiLU product)."""
    dtype = h.dtype
    s = (h + residual).to(dtype)
    sf = s.double()
    x = (sf * torch.rsqrt(sf.pow(2).mean(-1, keepdim=True) + eps) * norm_w.double()).to(dtype)
    inter = down.shape[1]
    gu = (x.double() @ gate_up.double().T).to(dtype).double()
    act = (torch.nn.functional.silu(gu[:, :inter]) * gu[:, inter:]).to(dtype)
    return act.double() @ down.double().T, s


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


def resident_programs(kernel: str) -> int:
    """Programs of a persistent kernel ("pair" or "mlp") an SM holds at once, by registers and shared memory,
    compiled for sm_90 with Triton's own ptxas (no GPU needed)."""
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
    if kernel == "mlp":
        variant = Variant(
            kernel="persistent_mlp",
            name="1 row, Llama-3-8B",
            fn=_persistent_mlp_kernel,
            constexprs={
                "HIDDEN": GATE_UP[1],
                "BLOCK_N": BLOCK_N,
                "BLOCK_K1": MLP_BLOCK_K1,
                "BLOCK_K2": BLOCK_K,
                "PDL": True,
            },
            num_warps=NUM_WARPS,
            num_stages=NUM_STAGES,
            pointers={"counter_ptr": "*i32"},
        )
    resources = compile_variant(variant, 90)
    print(
        f"persistent {kernel} for sm_90: {resources.registers} registers, {resources.shared_bytes} B "
        f"shared, {resources.stack_bytes} B stack; programs an SM by registers "
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
    """The persistent pair with one program at small shapes (a few tiles each side) against float64."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2 * BLOCK_K, generator=gen)
    w1 = torch.randn(BLOCK_K, 2 * BLOCK_K, generator=gen) / 64  # y1 just covers W2's K
    w2 = torch.randn(3 * BLOCK_N, BLOCK_K, generator=gen) / 64
    counter = torch.zeros(1, dtype=torch.int32)
    out = persistent_pair(x, w1, w2, counter, programs=1)
    return rel_err(out, reference(x, w1, w2))


def small_mlp(gen: torch.Generator, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    """h, residual, norm weight, gate_up, down at the smallest shapes the persistent MLP takes."""
    hidden = MLP_BLOCK_K1
    inter = BLOCK_K
    h = torch.randn(1, hidden, generator=gen).to(dtype)
    residual = torch.randn(1, hidden, generator=gen).to(dtype)
    norm_w = (1 + torch.randn(hidden, generator=gen) / 8).to(dtype)
    gate_up = (torch.randn(2 * inter, hidden, generator=gen) / 32).to(dtype)
    down = (torch.randn(hidden, inter, generator=gen) / 32).to(dtype)
    return h, residual, norm_w, gate_up, down


def check_mlp_on_cpu(dtype: torch.dtype = torch.float32) -> tuple[float, float]:
    """The persistent MLP with one program against float64: (rel err of the output, of the new residual)."""
    h, residual, norm_w, gate_up, down = small_mlp(torch.Generator().manual_seed(0), dtype)
    counter = torch.zeros(1, dtype=torch.int32)
    out, res_out = persistent_mlp(h, residual, norm_w, gate_up, down, 1e-5, counter, programs=1)
    ref, ref_res = mlp_reference(h, residual, norm_w, gate_up, down, 1e-5)
    return rel_err(out, ref), rel_err(res_out, ref_res)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--programs-per-sm", default="1,2,3")
    ap.add_argument("--resources", action="store_true", help="compile for sm_90, print, exit")
    args = ap.parse_args()
    if args.resources:
        resident_programs("pair")
        resident_programs("mlp")
        return
    if not torch.cuda.is_available():
        pair_err = check_on_cpu()
        mlp_err, res_err = check_mlp_on_cpu()
        print(
            f"one program in the interpreter, rel err against float64: pair {pair_err:.2e}, ",
            end="",
        )
        print(f"MLP {mlp_err:.2e} (residual {res_err:.2e})")
        if not max(pair_err, mlp_err, res_err) < 1e-5:
            raise SystemExit("a persistent form is wrong")
        return
    from common import ceilings, device_info, replay_ms, write_results

    from swiftllm.kernels.gemv import gemv
    from swiftllm.worker import backend_triton

    info = device_info()
    sms = info["sms"]
    dev = torch.device("cuda")
    bf16 = torch.bfloat16
    eps = 1e-5
    layers = []
    for _ in range(args.layers):
        w1 = torch.randn(GATE_UP, dtype=bf16, device=dev) / 64
        w2 = torch.randn(DOWN, dtype=bf16, device=dev) / 64
        norm_w = 1 + torch.randn(GATE_UP[1], dtype=bf16, device=dev) / 8
        layers.append((w1, w2, norm_w))
    x0 = torch.randn(1, GATE_UP[1], dtype=bf16, device=dev)
    res0 = torch.randn(1, GATE_UP[1], dtype=bf16, device=dev)
    layer_bytes = (GATE_UP[0] * GATE_UP[1] + DOWN[0] * DOWN[1]) * 2
    counters = torch.zeros(args.layers, dtype=torch.int32, device=dev)

    def two_launches() -> torch.Tensor:
        x = x0
        for w1, w2, _ in layers:
            y1 = gemv(x, w1)
            x = gemv(y1[:, : DOWN[1]], w2)
        return x

    def persistent(programs: int) -> torch.Tensor:
        x = x0
        for i, (w1, w2, _) in enumerate(layers):
            x = persistent_pair(x, w1, w2, counters[i : i + 1], programs, use_pdl=pdl.ENABLED)
        return x

    def shipped_mlp() -> torch.Tensor:
        # the decode step's MLP block at one row: rms_norm, gemv(gate_up), silu_and_mul, gemv(down)
        h = x0
        residual = res0
        for w1, w2, norm_w in layers:
            x, residual = backend_triton.rms_norm(h, norm_w, eps, residual)
            h = backend_triton.mlp(x, w1, w2, partial=True)
        return h

    def persistent_mlp_chain(programs: int) -> torch.Tensor:
        h = x0
        residual = res0
        for i, (w1, w2, norm_w) in enumerate(layers):
            counter = counters[i : i + 1]
            h, residual = persistent_mlp(
                h, residual, norm_w, w1, w2, eps, counter, programs, use_pdl=pdl.ENABLED
            )
        return h

    floor = ceilings()
    rows = []
    for kernel, base, form in (
        ("pair", two_launches, persistent),
        ("mlp", shipped_mlp, persistent_mlp_chain),
    ):
        resident = resident_programs(kernel)
        ms, base_out = replay_ms(base, warmup=3, iters=15)
        rows.append({"kernel": kernel, "programs": None, "ms": ms, "rel_err": 0.0})
        for per_sm in (int(v) for v in args.programs_per_sm.split(",")):
            if per_sm > resident:
                print(f"skipped: {kernel} at {per_sm} programs an SM, where {resident} fit")
                continue
            programs = sms * per_sm
            ms, out = replay_ms(functools.partial(form, programs), warmup=3, iters=15)
            err = rel_err(out.float(), base_out.float())
            rows.append({"kernel": kernel, "programs": programs, "ms": ms, "rel_err": err})
    for row in rows:
        row["us_a_layer"] = row["ms"] * 1e3 / args.layers
        row["read_rate_vs_copy"] = layer_bytes / (row["us_a_layer"] * 1e-6) / floor["copy_bw_Bps"]
    result = {**info, "ceilings": floor, "layers": args.layers, "rows": rows}
    path = write_results("persistent_gemv", result)
    plot(result, str(path.with_suffix(".png")))
    copy_tbps = floor["copy_bw_Bps"] / 1e12
    print(f"{info['device']}, {sms} SMs, copy {copy_tbps:.2f} TB/s; {args.layers} layers; {path}")
    print(
        "programs '-': the shipped kernels (pair: gemv twice; mlp: rms_norm, gemv, silu_and_mul, gemv)"
    )
    print(f"{'kernel':>7} {'programs':>9} {'us a layer':>11} {'÷ copy rate':>12} {'rel err':>9}")
    for row in rows:
        programs = row["programs"] or "-"
        print(
            f"{row['kernel']:>7} {programs:>9} {row['us_a_layer']:11.2f} "
            f"{row['read_rate_vs_copy']:12.3f} {row['rel_err']:9.1e}"
        )
    if any(not row["rel_err"] < 1e-2 for row in rows):
        raise SystemExit("a persistent form disagrees with the shipped kernels")


def plot(result: dict, path: str) -> None:
    """Bars of µs a layer, the shipped kernels ("-") and each programs count, for the pair and the MLP."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8, 4))
    for ax, kernel in zip(axes, ("pair", "mlp")):
        rows = [row for row in result["rows"] if row["kernel"] == kernel]
        labels = [str(row["programs"] or "shipped") for row in rows]
        bars = ax.bar(labels, [row["us_a_layer"] for row in rows])
        for bar, row in zip(bars, rows):
            ratio = row["read_rate_vs_copy"]
            ax.annotate(
                f"{ratio:.2f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center"
            )
        ax.set(xlabel="programs", ylabel="µs a layer (label: weight rate ÷ copy)", title=kernel)
    fig.suptitle(f"one row: shipped launches vs one persistent launch, {result['device']}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
