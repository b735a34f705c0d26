"""Session 37: _prefill_kernel's SASS for sm_90 at five shapes, written to /tmp/sass/<shape>_<label>.txt, so that a
refactor can be checked to compile to the same instructions without a GPU (Triton's own ptxas and cuobjdump).

    PYTHONPATH=. python3 bench/results/cpu/prefill_sass_s37.py before   # on the old tree
    PYTHONPATH=. python3 bench/results/cpu/prefill_sass_s37.py after    # on the new; then cmp the files

Session 37 grouped `_tile`'s arguments into two tuples (the running softmax, the K/V addressing): all five
shapes (Llama-3-8B G=4 D=128, SmolLM2 G=3 D=64, G=8 D=256, G=2 D=80, G=1 D=128) compiled to identical SASS."""

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

from swiftllm.kernels import prefill_attention

TOOLS = Path(triton.__file__).parent / "backends" / "nvidia" / "bin"
OUT = Path("/tmp/sass")
BF16_POINTERS = ("q_ptr", "k_ptr", "v_ptr", "out_ptr")
UNALIGNED = ("n_tiles", "table_stride", "table_ptr", "qstart_ptr", "ctx_ptr", "qk_scale")


def sass_instructions(group: int, dim: int) -> list[str]:
    """The kernel as prefill_attention() would launch it for this group size and head dim."""
    fn = prefill_attention._prefill_kernel
    block_d = triton.next_power_of_2(dim)
    rows = max(triton.next_power_of_2(group), 128 if block_d <= 128 else 64)
    constexprs = {
        "G": group,
        "TOK": rows // group,
        "ROWS": rows,
        "D": dim,
        "BLOCK_D": block_d,
        "PAGE": 16,
        "BLOCK_N": 128 if block_d <= 128 else 32,
    }
    types = {}
    by_position = {}
    attrs = {}
    for index, param in enumerate(fn.params):
        if param.is_constexpr:
            types[param.name] = "constexpr"
            by_position[(index,)] = constexprs[param.name]
            continue
        types[param.name] = "i32"
        if param.name.endswith("_ptr"):
            types[param.name] = "*bf16" if param.name in BF16_POINTERS else "*i32"
        if param.name == "qk_scale":
            types[param.name] = "fp32"
        if param.name not in UNALIGNED:
            attrs[(index,)] = [["tt.divisibility", 16]]
    options = {"num_warps": 8 if rows >= 128 else 4, "num_stages": 3}
    source = ASTSource(fn, types, by_position, attrs)
    compiled = triton.compile(source, target=GPUTarget("cuda", 90, 32), options=options)
    with tempfile.NamedTemporaryFile(suffix=".cubin") as file:
        file.write(compiled.asm["cubin"])
        file.flush()
        command = [str(TOOLS / "cuobjdump"), "-sass", file.name]
        sass = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    lines = [line for line in sass.splitlines() if re.search(r"/\*[0-9a-f]{4,}\*/\s+\S", line)]
    return [re.sub(r"^\s*/\*[0-9a-f]+\*/\s*", "", line).split(";")[0].strip() for line in lines]


def main() -> None:
    label = sys.argv[1]
    OUT.mkdir(exist_ok=True)
    shapes = {
        "llama3": (4, 128),
        "smollm2": (3, 64),
        "d256": (8, 256),
        "d80": (2, 80),
        "mha": (1, 128),
    }
    for name, (group, dim) in shapes.items():
        instructions = sass_instructions(group, dim)
        (OUT / f"{name}_{label}.txt").write_text("\n".join(instructions))
        print(name, len(instructions), "instructions")


if __name__ == "__main__":
    main()
