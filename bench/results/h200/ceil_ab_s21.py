"""Session 21, call 6: bench/common.ceilings() of the tree on sys.path, timed in a fresh process. Prints one line."""

import sys

sys.path.insert(0, "bench")
from common import ceilings  # noqa: E402

label = sys.argv[1]
c = ceilings()
print(
    f"CEIL {label:5s} copy {c['copy_bw_Bps'] / 1e12:.3f} TB/s  matmul {c['matmul_flops'] / 1e12:.0f} TFLOP/s",
    flush=True,
)
