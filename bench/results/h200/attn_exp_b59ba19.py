"""Session 12 experiment: decode attention tiles (warps, stages, BLOCK_N) x splits at small batches, context 1088,
Llama-3-8B heads, 8 layers' distinct caches in a CUDA graph (as bench/decode_sweep.py), us per layer incl. reduce."""

import itertools
import sys

import torch

sys.path.insert(0, "bench")
from common import ceilings, time_graph  # noqa: E402

from swiftllm.kernels import pdl  # noqa: E402
from swiftllm.kernels.decode_attention import (  # noqa: E402
    LOG2E,
    MIN_CHUNK,
    _decode_kernel,
    _reduce_kernel,
    decode_attention,
    decode_params,
)

H, HKV, D, PAGE, LAYERS, CAP = 32, 8, 128, 16, 8, 2048


def attn(q, kc, vc, table, lens, out, po, pl, splits, bn, nw, ns):
    n = q.shape[0]
    _decode_kernel[(n, HKV, splits)](
        q,
        kc,
        vc,
        table,
        lens,
        out,
        po,
        pl,
        D**-0.5 * LOG2E,
        *q.stride()[:2],
        *out.stride()[:2],
        table.stride(0),
        *kc.stride()[:3],
        G=H // HKV,
        BLOCK_G=16,
        D=D,
        BLOCK_D=D,
        PAGE=PAGE,
        BLOCK_N=bn,
        SPLITS=splits,
        MIN_CHUNK=MIN_CHUNK,
        PDL=pdl.ENABLED,
        num_warps=nw,
        num_stages=ns,
        launch_pdl=pdl.ENABLED,
    )
    if splits > 1:
        _reduce_kernel[(n, H)](
            out,
            po,
            pl,
            lens,
            *out.stride()[:2],
            H,
            D=D,
            BLOCK_D=D,
            BLOCK_N=bn,
            SPLITS=splits,
            MIN_CHUNK=MIN_CHUNK,
            PDL=pdl.ENABLED,
            launch_pdl=pdl.ENABLED,
        )


bw = ceilings()["copy_bw_Bps"]
ctx = 1088
blocks = -(-ctx // PAGE)
batches = [int(b) for b in sys.argv[1].split(",")] if len(sys.argv) > 1 else [1, 8, 16, 32, 64]
summary = []
for b in batches:
    shape = (b * blocks, HKV, PAGE, D)
    caches = [
        (
            torch.randn(shape, device="cuda", dtype=torch.bfloat16),
            torch.randn(shape, device="cuda", dtype=torch.bfloat16),
        )
        for _ in range(LAYERS)
    ]
    table = torch.randperm(b * blocks, device="cuda", dtype=torch.int32).view(b, blocks)
    table = torch.nn.functional.pad(table, (0, CAP // PAGE - blocks))
    lens = torch.full((b,), ctx, device="cuda", dtype=torch.int32)
    q = torch.randn(b, H, D, device="cuda", dtype=torch.bfloat16)
    floor = b * ctx * HKV * D * 4 / bw * 1e6
    s0, _ = decode_params(b, HKV, CAP, torch.device("cuda"))
    ref = decode_attention(q, *caches[0], table, lens, D**-0.5).float()
    shipped = (
        time_graph(
            lambda: [decode_attention(q, kc, vc, table, lens, D**-0.5) for kc, vc in caches], reps=3
        )
        * 1e3
        / LAYERS
    )
    res = []
    for splits, bn, nw, ns in itertools.product(
        sorted({max(1, s0 // 2), s0, min(64, s0 * 2)}), (32, 64), (2, 4, 8), (1, 2, 3)
    ):
        out = torch.empty_like(q)
        po = torch.empty((b, H, splits, D), dtype=torch.float32, device="cuda")
        pl = torch.empty((b, H, splits), dtype=torch.float32, device="cuda")
        try:
            attn(q, *caches[0], table, lens, out, po, pl, splits, bn, nw, ns)
            err = ((out.float() - ref).norm() / ref.norm()).item()
            if not err < 1e-2:
                print(f"  batch {b} {(splits, bn, nw, ns)} rel err {err:.2e}", flush=True)
                continue
            us = (
                time_graph(
                    lambda: [
                        attn(q, kc, vc, table, lens, out, po, pl, splits, bn, nw, ns)
                        for kc, vc in caches
                    ],
                    reps=3,
                )
                * 1e3
                / LAYERS
            )
        except Exception as e:  # noqa: BLE001
            print(f"  batch {b} {(splits, bn, nw, ns)}: {type(e).__name__}", flush=True)
            continue
        res.append((us, (splits, bn, nw, ns)))
    res.sort()
    print(
        f"batch {b:3d} floor {floor:5.1f} us  shipped {shipped:5.1f} (s={s0}, 64, 4, 3)  best: "
        + "  ".join(f"{us:5.1f} {cfg}" for us, cfg in res[:5]),
        flush=True,
    )
    summary.append((b, floor, shipped, res[0]))
print("\nbatch  floor  shipped  best (splits, BLOCK_N, warps, stages)  gain per step (32 layers)")
for b, floor, shipped, (us, cfg) in summary:
    print(f"{b:5d} {floor:6.1f} {shipped:7.1f} {us:7.1f} {cfg}  {(shipped - us) * 32:+.0f} us")
