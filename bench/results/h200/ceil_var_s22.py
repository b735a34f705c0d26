"""Session 22, call 3: how much bench/common.ceilings() moves within one process against between processes.
Five rounds in one process, each bench/common.ceilings() as it is (fresh buffers, its own warm-up), 0.3 s apart.
Prints one line a round and the max and min."""

import sys
import time

sys.path.insert(0, "bench")
from common import ceilings  # noqa: E402

label = sys.argv[1]
copies = []
rates = []
for i in range(5):
    c = ceilings()
    copies.append(c["copy_bw_Bps"] / 1e12)
    rates.append(c["matmul_flops"] / 1e12)
    print(
        f"CEIL {label} round {i}: copy {copies[-1]:.3f} TB/s  matmul {rates[-1]:.0f} TFLOP/s",
        flush=True,
    )
    time.sleep(0.3)
print(
    f"CEIL {label} copy {min(copies):.3f}-{max(copies):.3f}  matmul {min(rates):.0f}-{max(rates):.0f}",
    flush=True,
)
