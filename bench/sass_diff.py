"""Does a change to the kernels change the machine code the GPU runs? Compiled for Hopper here, no GPU needed.

    PYTHONPATH=. python3 bench/sass_diff.py OLD_ROOT [--only KERNEL,KERNEL] [--arch 90]

OLD_ROOT is a directory holding another tree's `swiftllm/`, typically the last commit checked on a GPU:
`mkdir /tmp/old && git archive <commit> swiftllm | tar -x -C /tmp/old`. Every kernel a step launches (the
decode step's kernels and tiles of bench/sm90_resources.py, then prefill attention and the two sampling kernels
at the Llama-3-8B shape) is compiled for sm_90 from this tree and from OLD_ROOT, each in a child process whose
sys.path puts that tree first, and their SASS (cuobjdump -sass, address and encoding comments removed) compared:

- `identical`: the same instructions in the same order. The GPU runs the same code: a rewrite in form only
  (a name inlined, an expression moved) needs no device time to be checked for correctness or speed.
- `same instructions, other order`: the same multiset once registers are renamed and branch targets masked.
  ptxas schedules the PTX it is given, and Triton's PTX follows the source's order, so moving a line can reorder
  the same work. Correct by construction; speed usually the same, but only a GPU can say.
- `DIFFERENT`: other instructions. The change needs the GPU (bench/check_kernels.py, then a timing).
- `not comparable`: the kernel did not compile from one tree as launched here (its signature changed).

Exit status 0 when every kernel is identical or reordered, 1 otherwise. Why: device time is scarce (30 minutes a
session, often none), and session 61's kernel trims waited a session for a GPU that a compile could have
answered (session 62: prefill attention identical, inverse-CDF sampling reordered)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent

# What each child runs: compile every variant of the tree it imports, print one JSON line of
# {"kernel: variant": [exact digest, reordered digest, instruction count] or an error's text}.
CHILD = r"""
import hashlib, json, re, sys
import sm90_resources as sm
from swiftllm.kernels import prefill_attention, sample
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

arch = int(sys.argv[1])
only = [name for name in sys.argv[2].split(",") if name]

def sass(variant):
    types, by_position, attrs = sm.signature(variant)
    source = ASTSource(variant.fn, types, by_position, attrs)
    options = {"num_warps": variant.num_warps, "num_stages": variant.num_stages}
    compiled = triton.compile(source, target=GPUTarget("cuda", arch, 32), options=options)
    text = sm.cuobjdump(compiled.asm["cubin"], "-sass")
    # instruction lines start with their address comment, /*0040*/; the other comments are encodings
    lines = [line for line in text.splitlines() if re.match(r"\s*/\*[0-9a-f]{4,}\*/", line)]
    code = [re.sub(r"/\*[^*]*\*/", "", line).strip() for line in lines]
    # registers renamed (and reuse flags dropped), branch targets masked, sorted: the same instructions in
    # another order give the same list
    renamed = [re.sub(r"\bU?[RP][0-9]+\b", "R", line.replace(".reuse", "")) for line in code]
    masked = [re.sub(r"((?:BRA|BSSY|CALL|JMP|JMX|BRX)[^;]*)0x[0-9a-f]+", r"\1ADDR", line) for line in renamed]
    exact = hashlib.sha256("\n".join(code).encode()).hexdigest()
    reordered = hashlib.sha256("\n".join(sorted(masked)).encode()).hexdigest()
    return [exact, reordered, len(code)]

step_kernels = [
    sm.Variant(
        "prefill_attention", "128 rows, 128 keys", prefill_attention._prefill_kernel,
        {"G": 4, "TOK": 32, "ROWS": 128, "D": 128, "BLOCK_D": 128, "PAGE": 16, "BLOCK_N": 128},
        num_warps=8, num_stages=3, pointers={"table_ptr": "*i32", "qstart_ptr": "*i32", "ctx_ptr": "*i32"},
    ),
    sm.Variant(
        "inverse_cdf_sample", "vocabulary in 8,192 chunks", sample._inverse_cdf_kernel, {"BLOCK": 8192},
        num_warps=16, pointers={"rows_ptr": "*i64", "temp_ptr": "*fp32", "u_ptr": "*fp32", "out_ptr": "*i64"},
        unaligned=("vocab",),
    ),
    sm.Variant(
        "greedy_chunk_max", "4,096 a program", sample._chunk_max_kernel, {"CHUNK": 4096},
        pointers={"top_ptr": "*fp32", "first_ptr": "*i64"}, unaligned=("vocab",),
    ),
]
found = {}
for variant in sm.variants() + step_kernels:
    if only and variant.kernel not in only:
        continue
    try:
        found[f"{variant.kernel}: {variant.name}"] = sass(variant)
    except Exception as error:  # another tree's kernel may take other arguments
        found[f"{variant.kernel}: {variant.name}"] = f"{type(error).__name__}: {error}"[:300]
print(json.dumps({"source": prefill_attention.__file__, "kernels": found}))
"""


def compile_tree(root: Path, arch: int, only: str) -> dict:
    """{"source": the prefill kernel's file (which tree was compiled), "kernels": {...}}."""
    # the tree first on sys.path, bench/ after it for sm90_resources (this tree's: it describes the launches);
    # cwd = the tree, since `python -c` puts the working directory before PYTHONPATH
    env = {key: value for key, value in os.environ.items() if key != "TRITON_INTERPRET"}
    env["PYTHONPATH"] = os.pathsep.join([str(root), str(BENCH_DIR)])
    command = [sys.executable, "-c", CHILD, str(arch), only]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=root)
    if done.returncode != 0:
        raise SystemExit(f"compiling {root} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def verdict(new: list | str, old: list | str | None) -> str:
    if isinstance(new, str) or not isinstance(old, list):
        return "not comparable"
    if new[0] == old[0]:
        return "identical"
    if new[1] == old[1]:
        return "same instructions, other order"
    return "DIFFERENT"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old_root", type=Path, help="a directory holding another tree's swiftllm/")
    ap.add_argument("--only", default="", help="kernels to compare, by name (comma-separated)")
    ap.add_argument("--arch", type=int, default=90, help="compute capability x 10 (Hopper: 90)")
    args = ap.parse_args(argv)
    old_root = args.old_root.resolve()
    if not (old_root / "swiftllm" / "kernels").is_dir():
        ap.error(
            f"{old_root} holds no swiftllm/kernels/ (git archive COMMIT swiftllm | tar -x -C DIR)"
        )
    new = compile_tree(REPO, args.arch, args.only)
    old = compile_tree(old_root, args.arch, args.only)
    print(f"this tree: {new['source']}\nold tree:  {old['source']}\nsm_{args.arch}:")
    counts: dict[str, int] = {}
    for name, new_code in new["kernels"].items():
        old_code = old["kernels"].get(name)
        said = verdict(new_code, old_code)
        counts[said] = counts.get(said, 0) + 1
        size = f"{new_code[2]:>6} instructions" if isinstance(new_code, list) else ""
        print(f"  {name:<62} {size:>19}  {said}")
    print("; ".join(f"{count} {said}" for said, count in counts.items()))
    return 0 if set(counts) <= {"identical", "same instructions, other order"} else 1


if __name__ == "__main__":
    sys.exit(main())
