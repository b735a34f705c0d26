"""Session 29: step_ab_s23.py with the one-row qkv GEMV on another tile (SWIFTLLM_EXP_QKV_TILE=4x1024x4x2;
unset: the tree as it is). Only matrices of qkv's shape (N = 6,144, K = 4,096) at one row change.

    SWIFTLLM_EXP_QKV_TILE=4x1024x4x2 python3 step_ab_qkv_tile_s29.py <label> <batches>
"""

import os
import runpy
import sys

sys.path.insert(0, ".")
import swiftllm.worker.backend_triton as bt  # noqa: E402
from swiftllm.kernels.gemv import gemv  # noqa: E402

TILE = os.environ.get("SWIFTLLM_EXP_QKV_TILE")
if TILE:
    tile = tuple(int(v) for v in TILE.split("x"))

    def patched(x, w, bias=None, *config, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if x.shape[0] == 1 and tuple(w.shape) == (6144, 4096) and not config:
            return gemv(x, w, bias, *tile, **kwargs)
        return gemv(x, w, bias, *config, **kwargs)

    bt.gemv = patched
print("qkv one-row tile", TILE or "shipped", flush=True)
sys.argv = ["step_ab_s23.py", *sys.argv[1:]]
runpy.run_path(os.path.join(os.path.dirname(__file__), "step_ab_s23.py"), run_name="__main__")
