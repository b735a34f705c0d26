"""Session 16 experiment: what prefill attention costs in a mixed CUDA graph, and how much of it is the
fixed grid's programs with no work.

A longest-first mixed step (bench/throughput.py, 256 padded tokens) carries 1-5 prompt chunks (mean 1.6),
whose longest context is 100 / 225 / 533 / 987 tokens at p10 / p50 / p90 / max (the real scheduler on the
workload, .run/chunks_sim.py), so a chunk needs 1-8 tiles of 128 keys. Yet session 15's profile measured
15.8 us a layer. FixedGridAttention launches the kernel on a grid fixed by the graph's shape: (256 / 32 query
tiles, 16 chunk slots, 8 KV heads) = 1,024 programs, of which a step with 2 chunks of ~64 tokens uses 32.
Each of the rest loads its slot's query start and exits; with 128-key tiles over 3 stages a program holds
(by my estimate) over 100 KB of shared memory, so few fit an SM at once.

Variants, each 32 calls (a step's layers) in a CUDA graph, us a call:
- graph: as FixedGridAttention launches it (16 chunk slots);
- real: the same kernel over the real chunks only (a grid no graph could keep: it shows the empties' cost);
- stages2x64: the graph's grid with 64-key tiles over 2 stages (smaller programs, more per SM);
- items: a variant of the kernel over a list of (chunk, query tile) work items the host lays out, at most
  256 / 32 + 16 = 24 of them (each chunk wastes at most one partial tile), grid (24, 8 KV heads) = 192
  programs; items past the real ones exit. Checked against `graph` on the real rows.

    PYTHONPATH=. python3 bench/results/h200/exp_prefill_grid_s16.py   # from a tree's root, on a GPU"""

import sys

import numpy as np
import torch
import triton
import triton.language as tl

sys.path.insert(0, "bench")
from common import time_graph  # noqa: E402

from swiftllm.kernels.decode_attention import LOG2E  # noqa: E402
from swiftllm.kernels.prefill_attention import _tile, prefill_attention  # noqa: E402

DEV = "cuda" if torch.cuda.is_available() else "cpu"  # cpu: under TRITON_INTERPRET=1, untimed
HEADS = 32
KV_HEADS = 8
DIM = 128
PAGE = 16
PADDED = 256
CHUNKS = 16
TOK = 32  # query tokens a program, as prefill_attention picks at group 4, head dim 128
LAYERS = 32
# (decode rows, [(query len, context len) of each chunk]): the median step, a p90 one, a 4-chunk one
CASES = [
    (127, [(129, 225)]),
    (127, [(65, 533), (64, 225)]),
    (100, [(40, 987), (60, 300), (30, 130), (26, 100)]),
]


@triton.jit
def _items_kernel(
    q_ptr,
    k_ptr,
    v_ptr,
    table_ptr,
    qstart_ptr,
    ctx_ptr,
    item_seq_ptr,
    item_tile_ptr,
    out_ptr,
    qk_scale,
    q_stride_t,
    q_stride_h,
    o_stride_t,
    o_stride_h,
    table_stride,
    c_stride_b,
    c_stride_h,
    c_stride_o,
    G: tl.constexpr,
    TOK: tl.constexpr,
    ROWS: tl.constexpr,
    D: tl.constexpr,
    BLOCK_D: tl.constexpr,
    PAGE: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    # _prefill_kernel's body, with the (sequence, query tile) read from the item list
    item = tl.program_id(0)
    kvh = tl.program_id(1)
    seq = tl.load(item_seq_ptr + item).to(tl.int64)
    if seq < 0:
        return
    tile = tl.load(item_tile_ptr + item)
    q0 = tl.load(qstart_ptr + seq)
    ql = tl.load(qstart_ptr + seq + 1) - q0
    ctx = tl.load(ctx_ptr + seq)
    r, d = tl.arange(0, ROWS), tl.arange(0, BLOCK_D)
    tok = tile * TOK + r // G
    head = kvh * G + r % G
    rmask = (r < TOK * G) & (tok < ql)
    pos = tl.where(rmask, ctx - ql + tok, 0)
    tok_row = (q0 + tok).to(tl.int64)
    qmask = rmask[:, None] & (d[None, :] < D)
    q = tl.load(
        q_ptr + tok_row[:, None] * q_stride_t + head[:, None] * q_stride_h + d[None, :],
        mask=qmask,
        other=0.0,
    )
    m = tl.full([ROWS], float("-inf"), tl.float32)
    l_sum = tl.zeros([ROWS], tl.float32)
    acc = tl.zeros([ROWS, BLOCK_D], tl.float32)
    table_row = table_ptr + seq * table_stride
    head_off = kvh.to(tl.int64) * c_stride_h
    first = ctx - ql + tile * TOK
    full_end = (first // BLOCK_N) * BLOCK_N
    end = tl.minimum(first + TOK, ctx)
    for n0 in range(0, full_end, BLOCK_N):
        acc, m, l_sum = _tile(
            acc, m, l_sum, q, k_ptr, v_ptr, table_row, n0, end, pos, head_off, c_stride_b,
            c_stride_o, d, qk_scale, D, BLOCK_D, PAGE, BLOCK_N, False,
        )  # fmt: skip
    for n0 in range(full_end, end, BLOCK_N):
        acc, m, l_sum = _tile(
            acc, m, l_sum, q, k_ptr, v_ptr, table_row, n0, end, pos, head_off, c_stride_b,
            c_stride_o, d, qk_scale, D, BLOCK_D, PAGE, BLOCK_N, True,
        )  # fmt: skip
    o = acc / tl.where(l_sum > 0, l_sum, 1.0)[:, None]
    tl.store(
        out_ptr + tok_row[:, None] * o_stride_t + head[:, None] * o_stride_h + d[None, :],
        o.to(out_ptr.dtype.element_ty),
        mask=qmask,
    )


def build(decodes: int, chunks: list[tuple[int, int]]) -> dict:
    """A mixed graph's prefill view: q over the padded rows, chunk slots after the real ones empty."""
    gen = torch.Generator(device="cpu").manual_seed(0)
    need = [-(-ctx // PAGE) for _, ctx in chunks]
    n_blocks = sum(need) + 8
    k = torch.randn(n_blocks, KV_HEADS, PAGE, DIM, generator=gen).to(DEV, torch.bfloat16)
    v = torch.randn(n_blocks, KV_HEADS, PAGE, DIM, generator=gen).to(DEV, torch.bfloat16)
    table = torch.zeros(CHUNKS, 128, dtype=torch.int32)
    perm = torch.randperm(n_blocks, generator=gen).to(torch.int32)
    used = 0
    for i, blocks in enumerate(need):
        table[i, :blocks] = perm[used : used + blocks]
        used += blocks
    lens = [ql for ql, _ in chunks]
    start = np.full(CHUNKS + 1, decodes + sum(lens), np.int32)
    start[: len(chunks) + 1] = decodes + np.concatenate([[0], np.cumsum(lens)])
    ctx = np.zeros(CHUNKS, np.int32)
    ctx[: len(chunks)] = [c for _, c in chunks]
    items = [(seq, tile) for seq, ql in enumerate(lens) for tile in range(-(-ql // TOK))]
    items.sort(key=lambda item: -chunks[item[0]][1])  # longest context first
    max_items = PADDED // TOK + CHUNKS
    item_seq = np.full(max_items, -1, np.int32)
    item_tile = np.zeros(max_items, np.int32)
    item_seq[: len(items)] = [seq for seq, _ in items]
    item_tile[: len(items)] = [tile for _, tile in items]
    return {
        "q": torch.randn(PADDED, HEADS, DIM, generator=gen).to(DEV, torch.bfloat16),
        "k": k,
        "v": v,
        "table": table.to(DEV),
        "start": torch.tensor(start, device=DEV),
        "ctx": torch.tensor(ctx, device=DEV),
        "item_seq": torch.tensor(item_seq, device=DEV),
        "item_tile": torch.tensor(item_tile, device=DEV),
        "real": len(chunks),
        "rows": slice(decodes, decodes + sum(lens)),
    }


def run_graph(case: dict, out: torch.Tensor, chunks: int = CHUNKS, **knobs: int) -> None:
    prefill_attention(
        case["q"], case["k"], case["v"], case["start"][: chunks + 1], case["ctx"][:chunks],
        case["table"][:chunks], PADDED, DIM**-0.5, out, **knobs,
    )  # fmt: skip


def run_items(case: dict, out: torch.Tensor) -> None:
    q = case["q"]
    k = case["k"]
    _items_kernel[(len(case["item_seq"]), KV_HEADS)](
        q, k, case["v"], case["table"], case["start"], case["ctx"], case["item_seq"],
        case["item_tile"], out, DIM**-0.5 * LOG2E, *q.stride()[:2], *out.stride()[:2],
        case["table"].stride(0), *k.stride()[:3], G=HEADS // KV_HEADS, TOK=TOK, ROWS=128, D=DIM,
        BLOCK_D=DIM, PAGE=PAGE, BLOCK_N=128, num_warps=8, num_stages=3,
    )  # fmt: skip


def measure(decodes: int, chunks: list[tuple[int, int]], timed: bool) -> None:
    case = build(decodes, chunks)
    outs = [torch.zeros(PADDED, HEADS, DIM, device=DEV, dtype=torch.bfloat16) for _ in range(4)]
    variants = [
        lambda: run_graph(case, outs[0]),
        lambda: run_graph(case, outs[1], chunks=case["real"]),
        lambda: run_graph(case, outs[2], block_n=64, num_stages=2),
        lambda: run_items(case, outs[3]),
    ]
    times = []
    for fn in variants:
        fn()
        if not timed:
            times.append(float("nan"))
            continue

        def layers(fn=fn) -> None:
            for _ in range(LAYERS):
                fn()

        times.append(time_graph(layers, reps=1) * 1e3 / LAYERS)
    ref = outs[0][case["rows"]].double()
    errs = [float((out[case["rows"]].double() - ref).norm() / ref.norm()) for out in outs[1:]]
    label = f"{decodes} dec + " + " ".join(f"{ql}@{ctx}" for ql, ctx in chunks)
    cells = " ".join(f"{t:7.2f}" for t in times)
    print(f"{label:>40} {cells}  " + " ".join(f"{e:.1e}" for e in errs), flush=True)


def main() -> None:
    timed = DEV == "cuda"
    print(
        f"{'case':>40} {'graph':>7} {'real':>7} {'st2x64':>7} {'items':>7}  err vs graph: real st2x64 items"
    )
    for decodes, chunks in CASES:
        measure(decodes, chunks, timed)


if __name__ == "__main__":
    main()
