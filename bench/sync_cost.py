"""What a persistent decode kernel would save: one kernel boundary under PDL, against a grid-wide barrier
and against one producer's flag inside a single long-lived launch.

    PYTHONPATH=. python3 bench/sync_cost.py [--hops 200,2000] [--programs-per-sm 1,2]
    PYTHONPATH=. python3 bench/sync_cost.py --ptx   # no GPU needed: the synchronisation as compiled for sm_90

Why: session 36's "do it twice" ablation read the decode step's excess over its roofline at 1-8 rows as ~291
kernel boundaries at ~1-1.8 us each plus attention's own chain, and named a persistent decode kernel (a layer's
stages inside one launch, synchronising on device counters) as the lever left. That lever pays only if a
device-side synchronisation costs less than a boundary. This measures both on the same dependent work, before
anyone writes the kernel:

- `chain`, `chain-nopdl`: `hops` launches of a tiny kernel in one CUDA graph (as a step's graph holds them),
  with and without PDL; in each, program p reads the slice program p+1 wrote in the launch before, so every
  launch depends on the whole one before it, as a GEMV depends on every head of attention.
- `barrier`: one launch of the same programs (all resident: at most `programs-per-sm` an SM) running `hops`
  rounds of the same work, a grid-wide barrier (one counter, release / acquire atomics) between rounds.
- `flag`: the same rounds, each program waiting only for the flag of the one program it reads (the form a
  persistent kernel with tile-level dependencies would use, where a consumer needs a few producers).
- `none`: the rounds with no synchronisation at all (racy, unchecked): the work's own cost, the baseline.

Each figure is microseconds a hop, from the difference between two hop counts (so that a launch's fixed cost
drops out), and its ratio to `chain` (the PDL boundary a persistent kernel would replace). A latency has no
bandwidth floor; the copy and matmul ceilings are recorded beside it for the machine's state. Every round
buffer is new (no reuse, so that no write-after-read race exists for `flag`), and the final buffer is checked
for the right count in every form but `none`. Writes results/sync_cost.json.

On the CPU (TRITON_INTERPRET=1) the kernels run with one program (the interpreter runs programs one after
another, so a barrier across several would wait forever): that checks the arithmetic, not the timing. `--ptx`
compiles the persistent kernel for sm_90 (Triton's own ptxas; no GPU) and prints its synchronising
instructions: the arrival is one thread's `atom.global.gpu.release`, each poll one thread's
`ld.global.gpu.acquire`, with `bar.sync` around them (the interpreter accepted a first draft that did not
compile, global constants read inside the kernel, so this is the check that it does)."""

from __future__ import annotations

import argparse
import os
import sys

import torch
import triton
import triton.language as tl

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from swiftllm.kernels import pdl  # noqa: E402

BLOCK = 128  # floats a program moves a hop: one 512-byte slice, so that the work is all latency
# the persistent kernel's SYNC (constexpr globals: a jitted function may read no other kind)
NONE = tl.constexpr(0)
BARRIER = tl.constexpr(1)
FLAG = tl.constexpr(2)


@triton.jit
def _hop_kernel(src_ptr, dst_ptr, programs, BLOCK: tl.constexpr, PDL: tl.constexpr):
    # one boundary's dependent work: program p reads program p+1's slice of the hop before, adds one
    if PDL:
        pdl.gdc()
    pid = tl.program_id(0)
    offs = tl.arange(0, BLOCK)
    neighbour = (pid + 1) % programs
    x = tl.load(src_ptr + neighbour * BLOCK + offs)
    tl.store(dst_ptr + pid * BLOCK + offs, x + 1)


@triton.jit
def _persistent_kernel(
    buf_ptr, counters_ptr, programs, rounds, BLOCK: tl.constexpr, SYNC: tl.constexpr
):
    # rounds of _hop_kernel's work in one launch; round r reads buffer r and writes buffer r + 1
    pid = tl.program_id(0)
    offs = tl.arange(0, BLOCK)
    neighbour = (pid + 1) % programs
    for r in range(rounds):
        src = buf_ptr + r * programs * BLOCK
        dst = src + programs * BLOCK
        # .cg: from the L2, where another SM's writes are, not a line this SM's L1 may hold
        x = tl.load(src + neighbour * BLOCK + offs, cache_modifier=".cg")
        tl.store(dst + pid * BLOCK + offs, x + 1)
        if SYNC == BARRIER:
            tl.debug_barrier()  # every thread's store before the arrival
            tl.atomic_add(counters_ptr, 1, sem="release")
            target = programs * (r + 1)
            seen = tl.atomic_add(counters_ptr, 0, sem="acquire")
            while seen < target:
                seen = tl.atomic_add(counters_ptr, 0, sem="acquire")
            tl.debug_barrier()
        if SYNC == FLAG:
            tl.debug_barrier()
            tl.atomic_xchg(counters_ptr + pid, r + 1, sem="release")
            seen = tl.atomic_add(counters_ptr + neighbour, 0, sem="acquire")
            while seen < r + 1:
                seen = tl.atomic_add(counters_ptr + neighbour, 0, sem="acquire")
            tl.debug_barrier()


def round_buffers(programs: int, hops: int, device: torch.device) -> torch.Tensor:
    """hops + 1 buffers of `programs` slices, the first zeros."""
    return torch.zeros((hops + 1, programs, BLOCK), dtype=torch.float32, device=device)


def run_chain(bufs: torch.Tensor, use_pdl: bool) -> None:
    """One launch of _hop_kernel a hop, buffer i into buffer i + 1."""
    programs = bufs.shape[1]
    for i in range(bufs.shape[0] - 1):
        _hop_kernel[(programs,)](
            bufs[i], bufs[i + 1], programs, BLOCK=BLOCK, PDL=use_pdl, launch_pdl=use_pdl
        )


def run_persistent(bufs: torch.Tensor, counters: torch.Tensor, sync: int) -> None:
    """One launch of _persistent_kernel over every hop of `bufs`; `counters` zeroed first."""
    programs = bufs.shape[1]
    counters.zero_()
    rounds = bufs.shape[0] - 1
    _persistent_kernel[(programs,)](bufs, counters, programs, rounds, BLOCK=BLOCK, SYNC=sync)


def holds_the_count(bufs: torch.Tensor) -> bool:
    """Every slice of the last buffer counts the hops (each hop adds one to what its neighbour had)."""
    hops = bufs.shape[0] - 1
    return bool(torch.all(bufs[-1] == hops))


FORMS = ("chain", "chain-nopdl", "barrier", "flag", "none")


def launcher(form: str, bufs: torch.Tensor, counters: torch.Tensor) -> object:
    """A no-argument function that runs `form` once over `bufs`."""
    if form == "chain":
        return lambda: run_chain(bufs, pdl.ENABLED)
    if form == "chain-nopdl":
        return lambda: run_chain(bufs, False)
    sync = {"barrier": BARRIER, "flag": FLAG, "none": NONE}[form]
    return lambda: run_persistent(bufs, counters, sync)


def check_forms(programs: int, hops: int, device: torch.device) -> dict[str, bool]:
    """Whether each synchronised form leaves the right count (not `none`: it races by design)."""
    ok = {}
    for form in FORMS[:-1]:
        bufs = round_buffers(programs, hops, device)
        counters = torch.zeros(programs, dtype=torch.int32, device=device)
        launcher(form, bufs, counters)()
        ok[form] = holds_the_count(bufs)
    return ok


def time_form(form: str, programs: int, hops: int) -> float:
    """Median milliseconds of one run of `form` over `hops` hops, the chains inside a CUDA graph."""
    from common import replay_ms, time_cuda

    device = torch.device("cuda")
    bufs = round_buffers(programs, hops, device)
    counters = torch.zeros(programs, dtype=torch.int32, device=device)
    run = launcher(form, bufs, counters)
    if not form.startswith("chain"):
        return time_cuda(run, warmup=2, iters=7)
    ms, _ = replay_ms(run, warmup=2, iters=7)
    return ms


SYNC_INSTRUCTIONS = ("atom.", "ld.global.gpu.acquire", "bar.sync")


def hopper_sync_ptx(sync: int) -> list[str]:
    """The persistent kernel compiled for sm_90 with SYNC = `sync`: its PTX lines that synchronise."""
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    types = {
        "buf_ptr": "*fp32",
        "counters_ptr": "*i32",
        "programs": "i32",
        "rounds": "i32",
        "BLOCK": "constexpr",
        "SYNC": "constexpr",
    }
    source = ASTSource(_persistent_kernel, types, {(4,): BLOCK, (5,): sync}, {})
    compiled = triton.compile(source, target=GPUTarget("cuda", 90, 32), options={"num_warps": 4})
    lines = [line.strip() for line in compiled.asm["ptx"].splitlines()]
    return [line for line in lines if any(key in line for key in SYNC_INSTRUCTIONS)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hops", default="200,2000", help="two hop counts; their difference is timed")
    ap.add_argument("--programs-per-sm", default="1,2")
    ap.add_argument(
        "--ptx", action="store_true", help="print the synchronisation compiled for sm_90"
    )
    args = ap.parse_args()
    if args.ptx:
        for name, sync in (("barrier", BARRIER), ("flag", FLAG)):
            print(f"{name}:")
            for line in hopper_sync_ptx(sync.value):
                print("   ", line)
        return
    few, many = (int(x) for x in args.hops.split(","))
    if not torch.cuda.is_available():
        ok = check_forms(1, few, torch.device("cpu"))
        print("one program in the interpreter, counts right:", ok)
        if not all(ok.values()):
            raise SystemExit("a form miscounted")
        return
    from common import ceilings, device_info, write_results

    info = device_info()
    sms = info["sms"]
    rows = []
    for per_sm in (int(x) for x in args.programs_per_sm.split(",")):
        programs = sms * per_sm
        ok = check_forms(programs, few, torch.device("cuda"))
        if not all(ok.values()):
            raise SystemExit(f"a form miscounted at {programs} programs: {ok}")
        hop_us = {}
        for form in FORMS:
            short = time_form(form, programs, few)
            long = time_form(form, programs, many)
            hop_us[form] = (long - short) * 1e3 / (many - few)
        rows.append({"programs": programs, "per_sm": per_sm, "hop_us": hop_us})
    result = {**info, "ceilings": ceilings(), "hops": [few, many], "pdl": pdl.ENABLED, "rows": rows}
    path = write_results("sync_cost", result)
    plot(result, str(path.with_suffix(".png")))
    print(f"{info['device']}, {sms} SMs; us a hop (÷ chain, the PDL boundary); {path}")
    print(f"{'programs':>9} " + " ".join(f"{form:>16}" for form in FORMS))
    for row in rows:
        chain = row["hop_us"]["chain"]
        cells = [f"{us:7.3f} ({us / chain:5.2f})" for us in row["hop_us"].values()]
        print(f"{row['programs']:>9} " + " ".join(f"{cell:>16}" for cell in cells))


def plot(result: dict, path: str) -> None:
    """Bars of µs a hop by form, a group per programs count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    rows = result["rows"]
    width = 0.8 / len(rows)
    for i, row in enumerate(rows):
        xs = [j + i * width for j in range(len(FORMS))]
        values = [row["hop_us"][form] for form in FORMS]
        ax.bar(xs, values, width, label=f"{row['programs']} programs")
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(FORMS))], FORMS)
    ax.set(
        ylabel="µs a hop",
        title=f"a kernel boundary vs in-launch synchronisation, {result['device']}",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
