"""Session 68: bench/check_kernels.py's float32 section alone, for the tree on PYTHONPATH (before: Triton's
default tl.dot precision, TF32 on tensor cores; after: "ieee"). Prints one line per case and a verdict."""

import sys

import numpy as np
import torch

sys.path.insert(0, "bench")
import check_kernels  # noqa: E402

torch.manual_seed(0)
check_kernels.check_float32(np.random.default_rng(0))
for row in check_kernels.ROWS:
    print(f"{row['case']:36} {row['rel_err']:.2e} {'ok' if row['ok'] else 'FAIL'}")
print("float32 ALL OK" if all(r["ok"] for r in check_kernels.ROWS) else "float32 FAILURES")
