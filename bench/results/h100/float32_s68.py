"""Session 68: bench/check_kernels.py's float32 section alone, for the tree on PYTHONPATH (before: Triton's
default tl.dot precision, TF32 on tensor cores; after: "ieee"). Prints one line per case and a verdict."""

import os
import sys

import numpy as np
import torch

sys.path.insert(0, "bench")
import check_kernels  # noqa: E402

# which tree ran, and whether the machine overrides Triton's float32 dot precision (session 68's H100 call gave the
# same errors before and after: one of the two is to be ruled out)
tree = check_kernels.backend_triton.__file__
print(f"swiftllm from {tree}; TRITON_F32_DEFAULT={os.environ.get('TRITON_F32_DEFAULT')}")
torch.manual_seed(0)
check_kernels.check_float32(np.random.default_rng(0))
for row in check_kernels.ROWS:
    print(f"{row['case']:36} {row['rel_err']:.2e} {'ok' if row['ok'] else 'FAIL'}")
print("float32 ALL OK" if all(r["ok"] for r in check_kernels.ROWS) else "float32 FAILURES")
