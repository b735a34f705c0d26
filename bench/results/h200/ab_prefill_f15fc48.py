# A/B helper: the prefill attention kernel alone (whichever swiftllm is on PYTHONPATH), bf16, Llama-3-8B heads.
import sys

import torch

from swiftllm.kernels.prefill_attention import prefill_attention

H, HKV, D = 32, 8, 128
DEV = "cuda"


def case(n_seqs, n, offset):
    blocks = -(-n // 16)
    kc = torch.randn(n_seqs * blocks, HKV, 16, D, device=DEV, dtype=torch.bfloat16)
    vc = torch.randn_like(kc)
    table = torch.randperm(n_seqs * blocks, device=DEV, dtype=torch.int32).view(n_seqs, blocks)
    # offset leading dummy rows, sliced off as a mixed step's decode rows are
    table = torch.cat([torch.zeros(offset, blocks, device=DEV, dtype=torch.int32), table])[offset:]
    ctx = torch.cat(
        [
            torch.ones(offset, device=DEV, dtype=torch.int32),
            torch.full((n_seqs,), n, device=DEV, dtype=torch.int32),
        ]
    )[offset:]
    qs = torch.cat(
        [
            torch.arange(offset, device=DEV, dtype=torch.int32),
            torch.arange(n_seqs + 1, device=DEV, dtype=torch.int32) * n,
        ]
    )[offset:]
    q = torch.randn(n_seqs * n, H, D, device=DEV, dtype=torch.bfloat16)

    def f():
        return prefill_attention(q, kc, vc, qs, ctx, table, n, D**-0.5)

    for _ in range(3):
        f()
    torch.cuda.synchronize()
    times = []
    for _ in range(20):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        f()
        b.record()
        torch.cuda.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


label = sys.argv[1]
for n_seqs, n, off in ((1, 8192, 0), (16, 1024, 0), (16, 1024, 3), (4, 512, 1)):
    print(
        f"{label} prefill attention {n_seqs}x{n} after {off} decode rows: {case(n_seqs, n, off):.3f} ms",
        flush=True,
    )
