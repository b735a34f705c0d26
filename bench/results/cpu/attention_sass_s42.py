"""Session 42: _decode_kernel's and _prefill_kernel's SASS for sm_90 at several shapes, written to
/tmp/sass42/<kernel>_<shape>_<label>.txt, so that a refactor can be checked to compile to the same instructions
without a GPU (Triton's own ptxas and cuobjdump), as prefill_sass_s37.py did for the prefill kernel alone.

    PYTHONPATH=. python3 bench/results/cpu/attention_sass_s42.py before   # on the old tree
    PYTHONPATH=. python3 bench/results/cpu/attention_sass_s42.py after    # on the new; then cmp the files

Session 42 ran the decode kernel's key loop through prefill_attention's _tile (moved to decode_attention.py)."""

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

from swiftllm.kernels import decode_attention, prefill_attention

TOOLS = Path(triton.__file__).parent / "backends" / "nvidia" / "bin"
OUT = Path("/tmp/sass42")
BF16_POINTERS = ("q_ptr", "k_ptr", "v_ptr", "out_ptr", "k_new_ptr", "v_new_ptr")
FLOAT_POINTERS = ("part_o_ptr", "part_lse_ptr", "cs_ptr")
UNALIGNED = ("n_tiles", "table_stride", "table_ptr", "qstart_ptr", "ctx_ptr", "qk_scale")


def sass(fn: object, constexprs: dict[str, int], options: dict[str, int]) -> list[str]:
    """The kernel's SASS instructions for sm_90, bf16 activations, int32 metadata."""
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
            types[param.name] = "*i32"
            if param.name in BF16_POINTERS:
                types[param.name] = "*bf16"
            if param.name in FLOAT_POINTERS:
                types[param.name] = "*fp32"
        if param.name == "qk_scale":
            types[param.name] = "fp32"
        if param.name not in UNALIGNED:
            attrs[(index,)] = [["tt.divisibility", 16]]
    source = ASTSource(fn, types, by_position, attrs)
    compiled = triton.compile(source, target=GPUTarget("cuda", 90, 32), options=options)
    with tempfile.NamedTemporaryFile(suffix=".cubin") as file:
        file.write(compiled.asm["cubin"])
        file.flush()
        command = [str(TOOLS / "cuobjdump"), "-sass", file.name]
        text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    lines = [line for line in text.splitlines() if re.search(r"/\*[0-9a-f]{4,}\*/\s+\S", line)]
    return [re.sub(r"^\s*/\*[0-9a-f]+\*/\s*", "", line).split(";")[0].strip() for line in lines]


def decode_shapes() -> dict[str, tuple[dict[str, int], dict[str, int]]]:
    """(group, head dim, splits, rotary, tiles) as decode_attention() would launch them."""
    shapes = {}
    cases = [
        ("llama3_s1_rot", 4, 128, 1, True, decode_attention.DEFAULT_TILES),
        ("llama3_s8_rot", 4, 128, 8, True, decode_attention.DEFAULT_TILES),
        ("llama3_s2_mixed", 4, 128, 2, False, decode_attention.MIXED_TILES),
        ("llama3_s1", 4, 128, 1, False, decode_attention.DEFAULT_TILES),
        ("smollm2_s4_rot", 3, 64, 4, True, decode_attention.DEFAULT_TILES),
        ("d80_s2", 2, 80, 2, False, decode_attention.DEFAULT_TILES),
        ("d256_s2", 8, 256, 2, False, decode_attention.DEFAULT_TILES),
        ("mha_s1_rot", 1, 128, 1, True, decode_attention.DEFAULT_TILES),
    ]
    for name, group, dim, splits, rotary, tiles in cases:
        block_d = triton.next_power_of_2(dim)
        constexprs = {
            "N_KV": 8,
            "G": group,
            "BLOCK_G": max(16, triton.next_power_of_2(group)),
            "D": dim,
            "BLOCK_D": block_d,
            "PAGE": 16,
            "BLOCK_N": tiles.block_n * 128 // max(block_d, 128),
            "SPLITS": splits,
            "MIN_CHUNK": decode_attention.MIN_CHUNK,
            "ROTARY": rotary,
            "PDL": True,
        }
        options = {"num_warps": tiles.num_warps, "num_stages": tiles.num_stages}
        shapes[name] = (constexprs, options)
    return shapes


def prefill_shapes() -> dict[str, tuple[dict[str, int], dict[str, int]]]:
    shapes = {}
    for name, group, dim in [
        ("llama3", 4, 128),
        ("smollm2", 3, 64),
        ("d256", 8, 256),
        ("d80", 2, 80),
    ]:
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
        shapes[name] = (constexprs, {"num_warps": 8 if rows >= 128 else 4, "num_stages": 3})
    return shapes


def main() -> None:
    label = sys.argv[1]
    OUT.mkdir(exist_ok=True)
    kernels = {
        "decode": (decode_attention._decode_kernel, decode_shapes()),
        "prefill": (prefill_attention._prefill_kernel, prefill_shapes()),
    }
    for kernel, (fn, shapes) in kernels.items():
        for name, (constexprs, options) in shapes.items():
            instructions = sass(fn, constexprs, options)
            (OUT / f"{kernel}_{name}_{label}.txt").write_text("\n".join(instructions))
            print(kernel, name, len(instructions), "instructions", flush=True)


if __name__ == "__main__":
    main()
