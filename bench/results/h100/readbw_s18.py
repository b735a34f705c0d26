"""Read-bandwidth probe (session 18, call 2): copy bandwidth (bench/common.ceilings' way), then one GEMV
streaming 15 GB of weights at one row (one kernel, no boundaries), and torch's sum over the same bytes.
Run from a tree's root (it imports that tree's swiftllm)."""

import sys

import torch

sys.path.insert(0, "bench")
from common import ceilings, time_cuda  # noqa: E402

from swiftllm.kernels.gemv import gemv  # noqa: E402

c = ceilings()
bw = c["copy_bw_Bps"]
print(f"RB copy {bw / 1e12:.3f} TB/s", flush=True)
x = torch.randn(1, 4096, device="cuda", dtype=torch.bfloat16)
w = torch.empty(1835008, 4096, device="cuda", dtype=torch.bfloat16).normal_()
ms = time_cuda(lambda: gemv(x, w), warmup=3, iters=10)
print(
    f"RB one-gemv-15GB {ms:.3f} ms {w.numel() * 2 / ms / 1e9:.3f} TB/s = {w.numel() * 2 / (ms / 1e3) / bw:.3f} of copy",
    flush=True,
)
ms = time_cuda(lambda: w.sum(dtype=torch.float32), warmup=3, iters=10)
print(f"RB torch-sum-15GB {ms:.3f} ms = {w.numel() * 2 / (ms / 1e3) / bw:.3f} of copy", flush=True)
