"""Session 34: each projection at 128-320 rows as F.linear (cuBLAS) and as the split-K bmm over 2 / 4 parts
that backend_triton.split_k_matmul runs for down (float32 partial sums, which the next RMSNorm adds), us a
layer over 8 layers' weights in a CUDA graph (bench/common.time_graph)."""

import sys

import torch

sys.path.insert(0, "bench")
from common import time_graph  # noqa: E402

MATRICES = {"qkv": (6144, 4096), "o": (4096, 4096), "gate_up": (28672, 4096), "down": (4096, 14336)}


def bmm(x: torch.Tensor, w: torch.Tensor, parts: int) -> torch.Tensor:
    x_parts = x.unflatten(1, (parts, -1)).transpose(0, 1)
    w_parts = w.unflatten(1, (parts, -1)).permute(1, 2, 0)
    return torch.bmm(x_parts, w_parts, out_dtype=torch.float32)


weights = {
    k: [torch.randn(v, device="cuda", dtype=torch.bfloat16) / 64 for _ in range(8)]
    for k, v in MATRICES.items()
}
print("rows  matrix   linear   bmm2   bmm4  (us a layer)")
for rows in (128, 160, 192, 224, 256, 320):
    for name, ws in weights.items():
        x = torch.randn(rows, MATRICES[name][1], device="cuda", dtype=torch.bfloat16)
        lin = time_graph(lambda: [torch.nn.functional.linear(x, w) for w in ws], reps=4) / 8 * 1e3  # noqa: B023
        b2 = time_graph(lambda: [bmm(x, w, 2) for w in ws], reps=4) / 8 * 1e3  # noqa: B023
        b4 = time_graph(lambda: [bmm(x, w, 4) for w in ws], reps=4) / 8 * 1e3  # noqa: B023
        print(f"{rows:4d}  {name:8s} {lin:6.1f} {b2:6.1f} {b4:6.1f}", flush=True)
