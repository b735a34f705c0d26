"""Session 27's experiment: above the GEMV's rows, o and down (the projections an RMSNorm reads next) as a
cuBLAS bmm over K halves with float32 outputs, whose two partial sums the next RMSNorm adds, against
cuBLAS's whole-K GEMM (which for down at these rows runs its own split-K and a reduce kernel).

Times, in a CUDA graph under PDL as a decode step runs them, a chain of LAYERS Llama-3-8B layers without
attention (norm, qkv, o, norm, gate_up, SiLU x mul, down; distinct weights per layer) through
backend_triton's ops, with its experiment switch EXP_BMM set to each variant ("" = shipped, "down", "both")
and SPLIT_K_PARTS for the bmm's parts. Checks each variant's last hidden state against the shipped one.
Run from the experiment tree's root (branch exp-bmm-s27):
    PYTHONPATH=.:/tmp/site python3 bench/results/h200/splitk_bmm_exp_s27.py [--rows 48,64,96,128,192,256,512]"""

import argparse
import json
import sys

import torch

sys.path.insert(0, "bench")

from swiftllm.worker import backend_triton as bt  # noqa: E402


def chain(rows: int, h0: torch.Tensor, attn: torch.Tensor, layers: list[dict], eps: float):
    h = h0
    residual = None
    for lw in layers:
        x, residual = bt.rms_norm(h, lw["in_norm"], eps, residual)
        bt.linear(x, lw["qkv"])
        h = bt.linear(attn, lw["o"], partial=True)
        x, residual = bt.rms_norm(h, lw["post_norm"], eps, residual)
        h = bt.mlp(x, lw["gate_up"], lw["down"], partial=True)
    x, residual = bt.rms_norm(h, layers[0]["in_norm"], eps, residual)
    return x, residual


def make_layers(n_layers: int, hidden: int, inter: int, qkv: int, device: str) -> list[dict]:
    def w(n: int, k: int) -> torch.Tensor:
        return (torch.randn(n, k, device=device) / k**0.5).to(torch.bfloat16)

    def nw() -> torch.Tensor:
        return (torch.rand(hidden, device=device) + 0.5).to(torch.bfloat16)

    return [
        {
            "in_norm": nw(),
            "qkv": w(qkv, hidden),
            "o": w(hidden, hidden),
            "post_norm": nw(),
            "gate_up": w(2 * inter, hidden),
            "down": w(hidden, inter),
        }
        for _ in range(n_layers)
    ]


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm())


def main() -> None:
    from common import ceilings, device_info, time_graph

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="48,64,96,128,192,256,512")
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--variants", default=":2,down:2,both:2,down:4,:2")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.manual_seed(0)
    layers = make_layers(args.layers, 4096, 14336, 6144, "cuda")
    ceil = ceilings()
    print(
        f"ceilings copy {ceil['copy_bw_Bps'] / 1e12:.2f} TB/s, matmul {ceil['matmul_flops'] / 1e12:.0f}"
    )
    results = {"device": device_info(), "ceilings": ceil, "layers": args.layers, "rows": {}}
    for rows in [int(r) for r in args.rows.split(",")]:
        h0 = torch.randn(rows, 4096, device="cuda").to(torch.bfloat16)
        attn = torch.randn(rows, 4096, device="cuda").to(torch.bfloat16)
        bt.EXP_BMM = ""
        ref = chain(rows, h0, attn, layers, 1e-5)
        cells = []
        for v in args.variants.split(","):
            bt.EXP_BMM, parts = v.split(":")
            bt.SPLIT_K_PARTS = int(parts)
            out = chain(rows, h0, attn, layers, 1e-5)
            err = max(rel(out[0], ref[0]), rel(out[1], ref[1]))
            ms = time_graph(lambda: chain(rows, h0, attn, layers, 1e-5), reps=10)
            results["rows"].setdefault(str(rows), []).append(
                {"variant": v, "ms": ms, "rel_err": err}
            )
            cells.append(f"{v or 'shipped'} {ms * 1e3 / args.layers:.1f} us/layer (err {err:.1e})")
        print(f"rows {rows:3d}: " + " | ".join(cells), flush=True)
    bt.SPLIT_K_PARTS = 2
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
