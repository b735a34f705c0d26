"""Session 29: step_ab_s23.py with decode attention's tiles replaced, for an A/B of the tile alone.

    SWIFTLLM_EXP_TILES=64x4x5 [SWIFTLLM_EXP_MIXED_TILES=128x4x2] python3 step_ab_tiles_s29.py <label> <batches>

SWIFTLLM_EXP_TILES replaces decode_attention()'s default tiles (those of decode-only steps);
SWIFTLLM_EXP_MIXED_TILES replaces MIXED_TILES (mixed CUDA graphs); SWIFTLLM_EXP_KERNEL=1 replaces the decode
kernel by decode_attention_exp_s29.py's (the block-table load one tile ahead). Unset: the tree as it is."""

import os
import runpy
import sys

sys.path.insert(0, ".")
import swiftllm.kernels.decode_attention as da  # noqa: E402


def parse(text: str) -> da.DecodeTiles:
    return da.DecodeTiles(*(int(x) for x in text.split("x")))


if os.environ.get("SWIFTLLM_EXP_TILES"):
    defaults = list(da.decode_attention.__defaults__)
    names = da.decode_attention.__code__.co_varnames[: da.decode_attention.__code__.co_argcount]
    index = names.index("tiles") - (len(names) - len(defaults))
    defaults[index] = parse(os.environ["SWIFTLLM_EXP_TILES"])
    da.decode_attention.__defaults__ = tuple(defaults)
    da.DEFAULT_TILES = defaults[index]
if os.environ.get("SWIFTLLM_EXP_MIXED_TILES"):
    da.MIXED_TILES = parse(os.environ["SWIFTLLM_EXP_MIXED_TILES"])
if os.environ.get("SWIFTLLM_EXP_KERNEL") == "1":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import decode_attention_exp_s29 as exp

    da._decode_kernel = exp._decode_kernel
print(
    "kernel",
    da._decode_kernel.fn.__module__,
    "tiles",
    da.decode_attention.__defaults__,
    "mixed",
    da.MIXED_TILES,
    flush=True,
)
sys.argv = ["step_ab_s23.py", *sys.argv[1:]]
runpy.run_path(os.path.join(os.path.dirname(__file__), "step_ab_s23.py"), run_name="__main__")
