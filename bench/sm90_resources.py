"""The decode step's Triton kernels compiled for Hopper on this machine, with their resources: no GPU needed.

    PYTHONPATH=. python3 bench/sm90_resources.py [--arch 90]

Triton compiles for a target without a device, and its wheel carries ptxas and cuobjdump. For each kernel and
tile a decode step launches at the Llama-3-8B shape (the GEMV at each of its row classes, and its gated form;
decode attention at the default and mixed-step tiles, with and without splits, and its reduce; RMSNorm, rotary +
KV store, SiLU x mul) this compiles the kernel for sm_90 as a launch would
specialise it (pointers 16-aligned, integer arguments divisible by 16 where the shape's are) and prints its
registers a thread, its stack (spills), its dynamic shared memory, its SASS instruction count, the programs
an SM holds by registers and by shared memory, and the stages of each tile its software pipeline copies
(from the TTGIR: how many tiles a program can have in flight; session 29 found decode attention's K and V at
one each this way).

Why: device time is scarce, and Triton's interpreter (the CPU tests) runs a kernel as Python, so it accepts
code the compiler refuses: session 18's gated GEMV returned from both arms of a compile-time branch and passed
every CPU test, but does not compile. A tile that does not fit (session 18's 240 KB of shared memory at 64
rows, found on the GPU as OutOfResources), a variant that spills, or one whose register count cuts the
programs an SM holds shows here first, in seconds. It says nothing about speed. A kernel's new flag or tile
is one more Variant in `variants()`. Writes results/sm90_resources.json."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import triton
from run_info import RESULTS, git_commit, utc_now
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

from swiftllm.kernels import decode_attention, gemv, rmsnorm, rotary_store, silu_mul

TOOLS = Path(triton.__file__).parent / "backends" / "nvidia" / "bin"
REGISTERS_PER_SM = 65536
THREADS_PER_SM = 2048
SHARED_PER_SM = (
    228 * 1024
)  # Hopper (H100, H200): 228 KB of shared memory an SM, 1 KB of it reserved a program
FLOAT_ARGS = ("eps", "qk_scale")
# Llama-3-8B: 32 query heads over 8 KV heads of 128, hidden 4096, intermediate 14336; 16-token pages
HEADS = 32
KV_HEADS = 8
HEAD_DIM = 128
PAGE = 16


@dataclass(frozen=True)
class Variant:
    """One compile: a kernel, its compile-time arguments, and how it launches. pointers: the element type of
    each pointer argument that is not bf16. unaligned: integer arguments whose value in a launch is not a
    multiple of 16 (Triton specialises on that)."""

    kernel: str
    name: str
    fn: triton.runtime.JITFunction
    constexprs: dict[str, object]
    num_warps: int = 4
    num_stages: int = 3
    pointers: dict[str, str] = field(default_factory=dict)
    unaligned: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resources:
    kernel: str
    variant: str
    num_warps: int
    num_stages: int
    registers: int
    stack_bytes: int
    shared_bytes: int
    sass_instructions: int
    # the stages of each tile the software pipeline copies into shared memory (the leading dim of each 3-D
    # mutable buffer in the TTGIR): decode attention keeps 1 for K and 1 for V below 5 stages (session 29),
    # because its block-table load takes a stage of its own; a plain tl.dot pipeline keeps num_stages
    copy_buffers: tuple[int, ...]

    @property
    def threads(self) -> int:
        return 32 * self.num_warps

    @property
    def programs_per_sm_by_registers(self) -> int:
        """At most THREADS_PER_SM's worth either way."""
        by_registers = REGISTERS_PER_SM // (self.registers * self.threads)
        return min(by_registers, THREADS_PER_SM // self.threads)

    @property
    def programs_per_sm_by_shared(self) -> int:
        by_shared = SHARED_PER_SM // (self.shared_bytes + 1024)
        return min(by_shared, THREADS_PER_SM // self.threads)


def signature(variant: Variant) -> tuple[dict, dict, dict]:
    """(signature, constexprs by position, attrs) for ASTSource, as Triton's launcher would build them."""
    fn = variant.fn
    # do_not_specialize holds names or positions
    not_specialised = set()
    for entry in fn.do_not_specialize:
        if isinstance(entry, int):
            entry = fn.arg_names[entry]
        not_specialised.add(entry)
    types = {}
    by_position = {}
    attrs = {}
    for index, param in enumerate(fn.params):
        name = param.name
        if param.is_constexpr:
            types[name] = "constexpr"
            by_position[(index,)] = variant.constexprs[name]
            continue
        aligned = name not in not_specialised and name not in variant.unaligned
        if name in FLOAT_ARGS:
            types[name] = "fp32"
            aligned = False
        elif name.endswith("_ptr"):
            types[name] = variant.pointers.get(name, "*bf16")
        else:
            types[name] = "i32"
        if aligned:
            attrs[(index,)] = [["tt.divisibility", 16]]
    return types, by_position, attrs


def cuobjdump(cubin: bytes, *flags: str) -> str:
    with tempfile.NamedTemporaryFile(suffix=".cubin") as file:
        file.write(cubin)
        file.flush()
        command = [str(TOOLS / "cuobjdump"), *flags, file.name]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def compile_variant(variant: Variant, arch: int) -> Resources:
    types, by_position, attrs = signature(variant)
    source = ASTSource(variant.fn, types, by_position, attrs)
    options = {"num_warps": variant.num_warps, "num_stages": variant.num_stages}
    compiled = triton.compile(source, target=GPUTarget("cuda", arch, 32), options=options)
    usage = cuobjdump(compiled.asm["cubin"], "-res-usage")
    sass = cuobjdump(compiled.asm["cubin"], "-sass")
    return Resources(
        kernel=variant.kernel,
        variant=variant.name,
        num_warps=variant.num_warps,
        num_stages=variant.num_stages,
        registers=int(re.search(r"REG:(\d+)", usage).group(1)),
        stack_bytes=int(re.search(r"STACK:(\d+)", usage).group(1)),
        shared_bytes=compiled.metadata.shared,
        # instruction lines of the disassembly: "/*0040*/  LDG.E ..."
        sass_instructions=len(re.findall(r"/\*[0-9a-f]{4,}\*/\s+\S", sass)),
        copy_buffers=pipeline_buffers(compiled.asm["ttgir"]),
    )


def pipeline_buffers(ttgir: str) -> tuple[int, ...]:
    """The leading (stage) dim of each 3-D shared buffer the pipeliner allocates: `ttg.local_alloc : () ->
    !ttg.memdesc<2x64x128xbf16, ...>` is two stages of a 64 x 128 tile."""
    found = re.findall(r"ttg\.local_alloc : \(\) -> !ttg\.memdesc<(\d+)x\d+x\d+x", ttgir)
    return tuple(int(stages) for stages in found)


def gemv_variants() -> list[Variant]:
    """Each tile gemv() launches in a decode step (GEMV_CONFIGS)."""
    variants = []
    for (rows, kind), config in gemv.GEMV_CONFIGS.items():
        block_m = 1
        if rows == "2-16 rows":
            block_m = 16
        if rows == "17-64 rows":
            block_m = 64 if kind == "wide" else 32
        if kind == "gated":
            block_m = gemv.GATED_BLOCK_M
        flags = {"GATED": kind == "gated", "PARTS": 1}
        constexprs = {
            **flags,
            "HAS_BIAS": False,
            "EVEN_K": True,
            "BLOCK_M": block_m,
            "BLOCK_N": config.block_n,
            "BLOCK_K": config.block_k,
            "PDL": True,
        }
        name = f"{rows}, {kind}: BLOCK_M {block_m}, {config.block_n}x{config.block_k}"
        tile = (config.num_warps, config.num_stages)
        variants.append(Variant("gemv", name, gemv._gemv_kernel, constexprs, *tile))
        if kind in ("any", "narrow"):  # o and down's split-K partial sums: a float32 y
            split = {**constexprs, "PARTS": 2}
            parts = Variant("gemv", f"{name}, parts", gemv._gemv_kernel, split, *tile)
            variants.append(replace(parts, pointers={"y_ptr": "*fp32"}))
    return variants


def attention_variants() -> list[Variant]:
    """Decode attention at the default tiles (decode-only steps) and the mixed-step tiles, without splits
    (large batches) and with 8 and 64 (8 and 1 sequences at context 1,088), and the split reduce."""
    group = HEADS // KV_HEADS
    pointers = {
        "table_ptr": "*i32",
        "ctx_ptr": "*i32",
        "part_o_ptr": "*fp32",
        "part_lse_ptr": "*fp32",
        "cs_ptr": "*fp32",
    }
    variants = []
    for tiles_name, tiles in (
        ("default", decode_attention.DEFAULT_TILES),
        ("mixed", decode_attention.MIXED_TILES),
    ):
        for splits in (1, 8, 64):
            constexprs = {
                "N_KV": KV_HEADS,
                "G": group,
                "BLOCK_G": max(16, group),
                "D": HEAD_DIM,
                "BLOCK_D": HEAD_DIM,
                "PAGE": PAGE,
                "BLOCK_N": tiles.block_n,
                "SPLITS": splits,
                "MIN_CHUNK": decode_attention.MIN_CHUNK,
                # decode-only steps (default tiles) rotate and store the new token in the kernel
                "ROTARY": tiles_name == "default",
                "PDL": True,
            }
            name = f"{tiles_name} {tiles.block_n} keys, {splits} splits"
            fn = decode_attention._decode_kernel
            variants.append(
                Variant("decode", name, fn, constexprs, tiles.num_warps, tiles.num_stages, pointers)
            )
    for splits in (8, 64):
        constexprs = {
            "D": HEAD_DIM,
            "BLOCK_D": HEAD_DIM,
            "BLOCK_N": decode_attention.DEFAULT_TILES.block_n,
            "SPLITS": splits,
            "MIN_CHUNK": decode_attention.MIN_CHUNK,
            "PDL": True,
        }
        fn = decode_attention._reduce_kernel
        variants.append(Variant("reduce", f"{splits} splits", fn, constexprs, pointers=pointers))
    return variants


def pointwise_variants() -> list[Variant]:
    """The step's small kernels, launched as their wrappers launch them at the Llama-3-8B shape."""
    hidden = HEADS * HEAD_DIM
    norm = {"PARTS": 1, "HAS_RESIDUAL": True, "BLOCK": hidden, "PDL": True}
    rotary = {
        "HALF": HEAD_DIM // 2,
        "PAGE": PAGE,
        "BLOCK_HQ": HEADS,
        "BLOCK_HK": KV_HEADS,
        "BLOCK_HALF": HEAD_DIM // 2,
        "PDL": True,
    }
    rotary_pointers = {"pos_ptr": "*i64", "slot_ptr": "*i64"}
    return [
        Variant("rmsnorm", "with residual", rmsnorm._rms_norm_kernel, norm, num_warps=8),
        Variant(
            "rmsnorm",
            "2 float32 partial sums",
            rmsnorm._rms_norm_kernel,
            {**norm, "PARTS": 2},
            num_warps=8,
            pointers={"x_ptr": "*fp32"},
        ),
        Variant(
            "rotary_store",
            "q, k, v",
            rotary_store._rotary_store_kernel,
            rotary,
            pointers=rotary_pointers,
            unaligned=("n_kv",),
        ),
        Variant(
            "silu_mul",
            "1,024 columns a program",
            silu_mul._silu_mul_kernel,
            {"BLOCK": 1024, "PDL": True},
        ),
    ]


def variants() -> list[Variant]:
    return gemv_variants() + attention_variants() + pointwise_variants()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", type=int, default=90, help="compute capability x 10 (Hopper: 90)")
    args = ap.parse_args(argv)
    if os.environ.get("TRITON_INTERPRET") == "1":
        ap.error(
            "TRITON_INTERPRET=1 makes Triton interpret kernels instead of compiling them: unset it"
        )
    rows = []
    for variant in variants():
        rows.append(compile_variant(variant, args.arch))
        print(f"compiled {variant.kernel}: {variant.name}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "sm90_resources.json"
    record = {
        "commit": git_commit(),
        "date": utc_now(),
        "arch": args.arch,
        "triton": triton.__version__,
    }
    record["kernels"] = [asdict(row) for row in rows]
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(
        f"\nthe decode step's kernels for sm_{args.arch}, commit {record['commit']} (wrote {out})"
    )
    header = f"{'kernel':<13} {'variant':<46} {'warps':>5} {'stages':>6} {'regs':>5} {'stack B':>7}"
    print(
        f"{header} {'shared KB':>9} {'SASS':>6} {'programs/SM: by regs':>20} {'by shared':>9} "
        f"{'copy buffers':>12}"
    )
    for row in rows:
        print(
            f"{row.kernel:<13} {row.variant:<46} {row.num_warps:>5} {row.num_stages:>6} "
            f"{row.registers:>5} {row.stack_bytes:>7} {row.shared_bytes / 1024:>9.1f} "
            f"{row.sass_instructions:>6} {row.programs_per_sm_by_registers:>20} "
            f"{row.programs_per_sm_by_shared:>9} "
            f"{','.join(str(n) for n in row.copy_buffers) or '-':>12}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
