"""The GEMV kernel's resources on Hopper, compiled on this machine: no GPU needed.

    PYTHONPATH=. python3 bench/sm90_resources.py [--arch 90]

Triton compiles for a target without a device, and its wheel carries ptxas and cuobjdump. For each tile the
decode step uses (kernels/gemv.py's GEMV_CONFIGS, with and without the fused SiLU) this compiles
`_gemv_kernel` for sm_90 as a launch on bf16 tensors would specialise it (pointers and strides 16-aligned) and
prints its registers a thread, its stack (spills), its dynamic shared memory, and its SASS instruction count.

Why: a device call is scarce. A tile that does not fit (session 18's 240 KB of shared memory at 64 rows, found
on the GPU as OutOfResources), a variant that spills, or one whose register count cuts the programs an SM holds
shows here first, in seconds. It says nothing about speed. Writes results/sm90_resources.json."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import triton
from run_info import RESULTS, git_commit, utc_now
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

from swiftllm.kernels import gemv

TOOLS = Path(triton.__file__).parent / "backends" / "nvidia" / "bin"
# integer arguments a launch passes; all but the do_not_specialize ones arrive as multiples of 16 (the model's
# shapes), so Triton's launcher marks them divisible by 16 and so does this
INTS = ("m_rows", "m_blocks", "n_cols", "k_dim", "x_stride", "w_stride", "y_stride")
UNALIGNED = ("m_rows", "m_blocks")
REGISTERS_PER_SM = 65536
THREADS_PER_SM = 2048
SHARED_PER_SM = (
    228 * 1024
)  # Hopper (H100, H200): 228 KB of shared memory an SM, 1 KB of it reserved a program


@dataclass(frozen=True)
class Resources:
    variant: str
    block_m: int
    config: gemv.GemvConfig
    registers: int
    stack_bytes: int
    shared_bytes: int
    sass_instructions: int

    @property
    def threads(self) -> int:
        return 32 * self.config.num_warps

    @property
    def programs_per_sm_by_registers(self) -> int:
        """At most THREADS_PER_SM's worth either way."""
        return min(
            REGISTERS_PER_SM // (self.registers * self.threads), THREADS_PER_SM // self.threads
        )

    @property
    def programs_per_sm_by_shared(self) -> int:
        return min(SHARED_PER_SM // (self.shared_bytes + 1024), THREADS_PER_SM // self.threads)


def signature(kernel: triton.runtime.JITFunction, constexprs: dict[str, object]) -> tuple:
    """(signature, constexprs by position, attrs) for ASTSource: bf16 pointers, i32 ints, fp32 floats."""
    types = {}
    by_position = {}
    attrs = {}
    for index, name in enumerate(kernel.arg_names):
        if name in constexprs:
            types[name] = "constexpr"
            by_position[(index,)] = constexprs[name]
            continue
        if name in INTS:
            types[name] = "i32"
        elif name == "eps":
            types[name] = "fp32"
        else:
            types[name] = "*bf16"
        if name not in UNALIGNED and types[name] != "fp32":
            attrs[(index,)] = [["tt.divisibility", 16]]
    return types, by_position, attrs


def cuobjdump(cubin: bytes, *flags: str) -> str:
    with tempfile.NamedTemporaryFile(suffix=".cubin") as file:
        file.write(cubin)
        file.flush()
        command = [str(TOOLS / "cuobjdump"), *flags, file.name]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def compile_gemv(
    variant: str, block_m: int, config: gemv.GemvConfig, flags: dict[str, bool], arch: int
) -> Resources:
    """flags: the kernel's compile-time switches beside the tile (SILU, ...)."""
    constexprs = {
        **flags,
        "HAS_BIAS": False,
        "EVEN_K": True,
        "BLOCK_M": block_m,
        "BLOCK_N": config.block_n,
        "BLOCK_K": config.block_k,
        "PDL": True,
    }
    types, by_position, attrs = signature(gemv._gemv_kernel, constexprs)
    source = ASTSource(gemv._gemv_kernel, types, by_position, attrs)
    options = {"num_warps": config.num_warps, "num_stages": config.num_stages}
    compiled = triton.compile(source, target=GPUTarget("cuda", arch, 32), options=options)
    usage = cuobjdump(compiled.asm["cubin"], "-res-usage")
    sass = cuobjdump(compiled.asm["cubin"], "-sass")
    return Resources(
        variant=variant,
        block_m=block_m,
        config=config,
        registers=int(re.search(r"REG:(\d+)", usage).group(1)),
        stack_bytes=int(re.search(r"STACK:(\d+)", usage).group(1)),
        shared_bytes=compiled.metadata.shared,
        # instruction lines of the disassembly: "/*0040*/  LDG.E ..."
        sass_instructions=len(re.findall(r"/\*[0-9a-f]{4,}\*/\s+\S", sass)),
    )


def gemv_variants() -> list[tuple[str, int, gemv.GemvConfig, dict[str, bool]]]:
    """(name, BLOCK_M, config, flags) for each tile gemv() launches in a decode step."""
    variants = []
    for (rows, kind), config in gemv.GEMV_CONFIGS.items():
        block_m = 1
        if rows == "2-16 rows":
            block_m = 16
        if rows == "17-64 rows":
            block_m = 64 if kind == "wide" else 32
        variants.append((f"{rows}, {kind}", block_m, config, {"SILU": kind == "silu"}))
    return variants


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", type=int, default=90, help="compute capability x 10 (Hopper: 90)")
    args = ap.parse_args(argv)
    if os.environ.get("TRITON_INTERPRET") == "1":
        ap.error(
            "TRITON_INTERPRET=1 makes Triton interpret kernels instead of compiling them: unset it"
        )
    rows = []
    for variant, block_m, config, flags in gemv_variants():
        rows.append(compile_gemv(variant, block_m, config, flags, args.arch))
        print(f"compiled {variant}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "sm90_resources.json"
    record = {
        "commit": git_commit(),
        "date": utc_now(),
        "arch": args.arch,
        "triton": triton.__version__,
    }
    record["gemv"] = [asdict(row) for row in rows]
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"\n_gemv_kernel for sm_{args.arch}, commit {record['commit']} (wrote {out})")
    header = f"{'variant':<22} {'BLOCK_M':>7} {'tile NxKxWxS':>14} {'regs':>5} {'stack B':>7}"
    print(f"{header} {'shared KB':>9} {'SASS':>6} {'programs/SM by regs':>19} {'by shared':>9}")
    for row in rows:
        tile = "x".join(str(v) for v in row.config)
        print(
            f"{row.variant:<22} {row.block_m:>7} {tile:>14} {row.registers:>5} {row.stack_bytes:>7} "
            f"{row.shared_bytes / 1024:>9.1f} {row.sass_instructions:>6} "
            f"{row.programs_per_sm_by_registers:>19} {row.programs_per_sm_by_shared:>9}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
