"""Session 69: bench/check_kernels.py's float32 section alone, for the tree on PYTHONPATH (before: Triton's default
tl.dot precision, TF32 on tensor cores; after: "ieee"). Prints one line per case and a verdict.

Session 68's float32_s68.py imported check_kernels first, and bench/common.py (which it imports) puts this checkout
first on sys.path: so its "before" run timed this checkout too, which is why before and after agreed to three
digits. Here swiftllm is imported first, from PYTHONPATH, as bench/bridge.py does. On the tree before session 69,
the float32 mixed step at head dim 128 and the linears of 2 or more rows take tiles that do not fit a Hopper block
(OutOfResources): the error is printed and the rows measured until then stand."""

import os
import sys

import numpy as np
import torch

import swiftllm

sys.path.insert(0, "bench")
import check_kernels  # noqa: E402

tree = check_kernels.backend_triton.__file__
print(
    f"swiftllm from {swiftllm.__file__} ({tree}); TRITON_F32_DEFAULT={os.environ.get('TRITON_F32_DEFAULT')}"
)
if not torch.cuda.is_available():  # a CPU check of this script: the kernels in Triton's interpreter
    check_kernels.DEV = torch.device("cpu")
torch.manual_seed(0)
stopped = False
try:
    check_kernels.check_float32(np.random.default_rng(0))
except Exception as error:  # noqa: BLE001 - the tree before may not launch some tiles: which error, said
    print(f"stopped: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
    stopped = True
for row in check_kernels.ROWS:
    print(f"{row['case']:36} {row['rel_err']:.2e} {'ok' if row['ok'] else 'FAIL'}")
passed = all(row["ok"] for row in check_kernels.ROWS)
print("float32 ALL OK" if passed and not stopped else "float32 FAILURES (or stopped)")
