"""Do two trees' Triton kernels compile to the same Hopper machine code? No GPU needed.

    PYTHONPATH=. python3 bench/results/cpu/sass_equal_s62.py OLD_TREE_ROOT

Session 62. Session 61 rewrote two kernels in form only after its last GPU check (`893945c`): the prefill
attention kernel and the inverse-CDF sampling kernel store what they compute without a single-use name. This
compiles both kernels from this tree and from OLD_TREE_ROOT (a directory holding an older `swiftllm/`, e.g.
`git archive 893945c swiftllm | tar -x -C DIR`) for sm_90, as their launches specialise them at the
Llama-3-8B shape (bf16, GQA group 4, D = 128, 16-token pages; vocabulary 128,256), and compares the SASS
(cuobjdump -sass without its address and encoding comments). Equal SASS means
the GPU runs the same instructions, so the rewrite needs no device time to be checked. bench/sm90_resources.py
supplies the compile (Triton's wheel carries ptxas and cuobjdump)."""

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[3]

# run once for each tree, in a child whose PYTHONPATH puts that tree's swiftllm first
CHILD = r"""
import hashlib, json, re, sys
sys.path.insert(0, sys.argv[2])  # bench/, for sm90_resources
import sm90_resources as sm
from swiftllm.kernels import prefill_attention, sample
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

def sass_of(variant):
    types, by_position, attrs = sm.signature(variant)
    source = ASTSource(variant.fn, types, by_position, attrs)
    options = {"num_warps": variant.num_warps, "num_stages": variant.num_stages}
    compiled = triton.compile(source, target=GPUTarget("cuda", 90, 32), options=options)
    text = sm.cuobjdump(compiled.asm["cubin"], "-sass")
    lines = [re.sub(r"/\*[^*]*\*/", "", line).strip() for line in text.splitlines()]
    code = [line for line in lines if line and not line.startswith(("Fatbin", "code for", "Function :", ".", "//"))]
    # the opcodes with registers renamed, sorted: the same multiset with another order is a different schedule
    # of the same instructions (ptxas orders by the PTX it is given)
    # (and the branch targets, addresses that move with the order)
    renamed = [re.sub(r"\bU?[RP][0-9]+\b", "R", line.replace(".reuse", "")) for line in code]
    ops = sorted(re.sub(r"((?:BRA|BSSY|CALL|JMP)[^;]*)0x[0-9a-f]+", r"\1ADDR", line) for line in renamed)
    digest = hashlib.sha256("\n".join(code).encode()).hexdigest()
    return digest, hashlib.sha256("\n".join(ops).encode()).hexdigest(), len(code)

int_pointers = {name: "*i32" for name in ("table_ptr", "qstart_ptr", "ctx_ptr")}
prefill = sm.Variant(
    "prefill_attention", "Llama-3-8B, 128 rows", prefill_attention._prefill_kernel,
    {"G": 4, "TOK": 32, "ROWS": 128, "D": 128, "BLOCK_D": 128, "PAGE": 16, "BLOCK_N": 128},
    num_warps=8, num_stages=3, pointers=int_pointers,
)
draw = sm.Variant(
    "inverse_cdf_sample", "vocabulary 128,256", sample._inverse_cdf_kernel, {"BLOCK": 8192},
    num_warps=16, num_stages=3,
    pointers={"rows_ptr": "*i64", "temp_ptr": "*fp32", "u_ptr": "*fp32", "out_ptr": "*i64"},
    unaligned=("vocab",),
)
found = {v.kernel: sass_of(v) for v in (prefill, draw)}
found["source"] = sample.__file__
print(json.dumps(found))
"""


def compile_tree(root: Path) -> dict:
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-c", CHILD, str(root), str(REPO / "bench")]
    # cwd: the tree itself (python -c puts the working directory first on sys.path)
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True, cwd=root)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    old_root = Path(sys.argv[1]).resolve()
    new = compile_tree(REPO)
    old = compile_tree(old_root)
    print(f"compiled {new.pop('source')} and {old.pop('source')}")
    same = True
    for kernel, (digest, ops, count) in new.items():
        old_digest, old_ops, old_count = old[kernel]
        verdict = "DIFFERENT instructions"
        if ops == old_ops:
            verdict = "the same instructions in another order"
        if digest == old_digest:
            verdict = "identical"
        same = same and ops == old_ops
        print(f"{kernel}: {count} SASS instructions here, {old_count} in {old_root}: {verdict}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
