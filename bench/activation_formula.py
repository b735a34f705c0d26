"""Peak activation memory of one EAGER SwiftLLM step (Triton backend, one worker), from the model's shape.

    python3 bench/activation_formula.py     # no torch, no GPU: the tables for Llama-3-8B and SmolLM2

Why: `ModelRunner.profile` has to keep room for the activations of the largest eager step the engine may
send, and the worst such step is too large to run on a development machine. This states that peak as a
formula of the shape, so that an allowance can be read off for any model and checked where it can be run.

What it counts: the bytes allocated above the steady state (weights, KV cache, the cos/sin table, the CUDA-graph
pool) at the step's peak. Names: H hidden, Q = heads * head_dim, K = kv_heads * head_dim, I intermediate,
V vocab, b the activation dtype's bytes, T tokens in the step, R sampled rows, D decode rows of a mixed or
decode eager step, s decode attention's splits.

Where the figures come from:
- read from the code (swiftllm/worker/{model_runner,model,backend_triton,sampler}.py and the kernels' wrappers
  in swiftllm/kernels/, as of 1288cfe): which projection returns float32 split-K partial sums, which tensors a
  layer keeps alive by name, decode attention's split partials, the metadata a step copies to the device.
  The GPU sort's temporaries (cub's segmented or full radix sort, in `sampler_peak`) are from reading
  PyTorch's sort code only: no CPU run can see them.
- measured on the CPU: tests/bench/test_activation_formula.py runs ModelRunner with the Triton backend under
  TRITON_INTERPRET=1 (so the kernels' wrappers allocate what they allocate on a GPU) and compares torch.profiler's
  allocations with this formula (gpu=False, meta=False); the 21 bytes a logit alive after a top-p sort were
  found that way. Off the GPU, F.linear needs no cuBLAS workspace, greedy sampling is torch.argmax, the sort's
  temporaries are the CPU's and the step's metadata wraps numpy memory (no allocation).
- on the H200: bench/activation_memory.py measures torch.cuda.max_memory_allocated over the same steps at the
  Llama-3-8B shape against `step_peak` (gpu=True, meta=True).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from shapes import LLAMA3_8B, SMOLLM2  # noqa: E402

# backend_triton.py's, gemv.py's and decode_attention.py's constants, copied: this file runs without torch
GEMV_MAX_ROWS, GEMV_ROW_LIMIT, WIDE = 32, 64, 16384
SPLIT_MATMUL_MAX_ROWS, SPLIT_K_PARTS = 256, 2
GATED_ROWS = range(97, 129)
LONG_CHUNK, MAX_SPLITS = 2048, 64
H200_SMS = 132


@dataclass(frozen=True)
class Shape:
    """The dimensions the activations depend on (b: the activation dtype's bytes)."""

    hidden: int
    inter: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    layers: int
    b: int = 2

    @property
    def q(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv(self) -> int:
        return self.kv_heads * self.head_dim

    @classmethod
    def from_config(cls, cfg: dict, b: int = 2) -> Shape:
        """A HF config.json's shape (shapes.py's dicts), so that the formula and the model run agree."""
        heads = cfg["num_attention_heads"]
        return cls(
            hidden=cfg["hidden_size"],
            inter=cfg["intermediate_size"],
            heads=heads,
            kv_heads=cfg.get("num_key_value_heads") or heads,
            head_dim=cfg.get("head_dim") or cfg["hidden_size"] // heads,
            vocab=cfg["vocab_size"],
            layers=cfg["num_hidden_layers"],
            b=b,
        )


def gemv_block_k(rows: int) -> int:
    """gemv.gemv_config's BLOCK_K (the same for wide and narrow matrices): whether K splits in whole tiles."""
    return 2048 if rows == 1 else 256 if rows <= 16 else 128


def linear_bytes(rows: int, k: int, n: int, partial: bool, b: int) -> int:
    """Bytes of backend_triton.linear's output for x [rows, k] @ w [n, k]^T on a GPU whose tiles fit (Hopper):
    float32 partial sums [2, rows, n] where a partial projection (o, down) takes the split-K GEMV (2-32 rows,
    K in whole tiles) or split_k_matmul (up to 256 rows, K >= N), else [rows, n] in the activation dtype."""
    max_rows = GEMV_ROW_LIMIT if n >= WIDE or n == k else GEMV_MAX_ROWS
    if rows <= max_rows:  # the GEMV
        parts = SPLIT_K_PARTS if partial and 1 < rows <= GEMV_MAX_ROWS else 1
        if rows == 1 or k % (parts * gemv_block_k(rows)):
            parts = 1
        return 4 * parts * rows * n if parts > 1 else b * rows * n
    if partial and k >= n and k % SPLIT_K_PARTS == 0 and rows <= SPLIT_MATMUL_MAX_ROWS:
        return 4 * SPLIT_K_PARTS * rows * n
    return b * rows * n


def decode_splits(rows: int, kv_heads: int, table_tokens: int, sms: int = H200_SMS) -> int:
    """decode_attention.decode_params' split count (table_tokens: the block table's width x block size; sms:
    132 on the H200, 8 in the interpreter)."""
    if rows == 0:
        return 1
    want = -(-2 * sms // (rows * kv_heads))
    if want > 1:
        return min(1 << (want - 1).bit_length(), MAX_SPLITS)
    need = -(-table_tokens // LONG_CHUNK)
    return min(1 << max(need - 1, 0).bit_length(), MAX_SPLITS)


def decode_partials(c: Shape, rows: int, splits: int) -> int:
    """part_o [D, heads, s, pow2(head_dim)] + part_lse [D, heads, s], float32: alive during one layer's
    decode attention (allocated each layer; the caching allocator reuses the block)."""
    if splits <= 1:
        return 0
    block_d = 1 << (c.head_dim - 1).bit_length()
    return 4 * rows * c.heads * splits * (block_d + 1)


def forward_peak(c: Shape, T: int, decode_rows: int = 0, splits: int = 1) -> tuple[int, str]:
    """The most bytes alive inside LlamaModel.forward (eager), and in which phase. Since session 38 the forward
    deletes q, k, v (the qkv output) and o's output before the MLP, so a middle layer's MLP sees only x and
    residual, then gate_up [T, 2I] and silu_and_mul's [T, I] (or [T, I] and down's output); before, Python's
    names kept qkv, the attention output, o's output and the previous layer's MLP output alive there too
    (b·(4H + 2Q + 2K + 3I) a token against b·(2H + 3I) now). The attention output is bound to x, the input
    norm's output until then; the previous layer's MLP output (h) lives until o's output rebinds h."""
    b, H, Q, K, inter = c.b, c.hidden, c.q, c.kv, c.inter
    o = linear_bytes(T, Q, H, True, b)
    down = linear_bytes(
        T, inter, H, True, b
    )  # a middle layer's (partial); the last layer's is whole
    qkv, att, xh = b * T * (Q + 2 * K), b * T * Q, b * T * H
    gate_up = 0 if T in GATED_ROWS else b * T * 2 * inter  # the gated GEMV never writes gate_up
    act = b * T * inter
    mlp_inner = max(gate_up + act, act + down)
    phases = {
        "mlp": 2 * xh + mlp_inner,
        "attention": 2 * xh + down + qkv + att + decode_partials(c, decode_rows, splits),
        # the input norm: the previous layer's x, h and residual, and its two outputs
        "input norm": 4 * xh + down,
        # the post-attention norm: the attention output (x), o's output, qkv, residual and the two outputs
        "post norm": 3 * xh + o + qkv + att,
    }
    where = max(phases, key=phases.get)
    return phases[where], where


def sampler_peak(
    c: Shape,
    R: int,
    truncated: int = 0,
    penalties: bool = False,
    logprobs: bool = False,
    gpu: bool = True,
) -> int:
    """Bytes the sampling phase adds above the logits [R, V] (activation dtype, kept by launch()).

    Greedy and plain temperature on a GPU: Triton kernels, ~0. Rows cut by top-p / top-k / min-p (r =
    truncated): after the sort 21 B a logit stay alive at once (sorted probs 4, int64 order 8, mass_before 4,
    the bool mask 1, the masked copy 4: measured on the CPU). During the sort on a GPU, from reading
    PyTorch's sort (not measured): the softmax 4 + values 4 + indices 8 and cub's temporaries (r >= 128, the
    segmented sort: reverse indices 8 + key/value double buffers 12; 2 <= r < 128, the full sort: two int2
    buffers 16, keys out 4, double buffers 12; r = 1: ~12). Penalties: a float32 copy (where the logits are
    not float32 already), counts and masks, ~25 B a logit (+4), the result (4) kept through sampling.
    logprobs: the float32 copy (+4) and log_softmax (4), after sampling."""
    V = c.vocab
    cast = 4 if c.b < 4 else 0  # .float() copies bf16 logits, returns float32 ones as they are
    r = truncated
    sort_tmp = (20 if r >= 128 else 32 if r >= 2 else 12) if gpu else 0
    sort = max(21, 16 + sort_tmp) * r * V if r else 0
    pen_keep = 4 * R * V if penalties else 0
    pen_peak = (25 + cast) * R * V if penalties else 0
    lp = (4 + cast) * R * V if logprobs else 0
    return max(pen_peak, pen_keep + sort, pen_keep + lp)


def step_peak(
    c: Shape,
    T: int,
    R: int,
    decode_rows: int = 0,
    splits: int = 1,
    seqs: int | None = None,
    table_width: int = 0,
    truncated: int = 0,
    penalties: bool = False,
    logprobs: bool = False,
    meta: bool = True,
    gpu: bool = True,
) -> dict:
    """The eager step's peak above what the worker holds between steps, the phase it falls in, and each
    phase's bytes. meta: the step's arrays copied to the device (on the CPU they wrap numpy memory: False).
    gpu: cub's sort temporaries (False on the CPU)."""
    seqs = R if seqs is None else seqs
    const = (4 * T + 16 * T + 8 * seqs + 4 * seqs * table_width + 8 * R) if meta else 0
    fwd, where = forward_peak(c, T, decode_rows, splits)
    b = c.b
    after = 2 * b * T * c.hidden  # after forward: hidden and residual [T, H] (launch's names)
    logits = b * R * c.vocab
    phases = {
        f"forward/{where}": fwd,
        "lm_head": after + 4 * b * R * c.hidden + logits,
        "sampling": after + logits + sampler_peak(c, R, truncated, penalties, logprobs, gpu),
    }
    top = max(phases, key=phases.get)
    return {"peak": const + phases[top], "where": top, "const": const, **phases}


def allowance(
    c: Shape, max_tokens: int, max_seqs: int, max_model_len: int, sms: int = H200_SMS
) -> int:
    """What profile() could keep for one eager step, from the engine's limits: the worst of a forward of
    max_tokens with min(max_seqs, max_tokens) long decode rows, and every row sampled with top-p."""
    rows = min(max_seqs, max_tokens)
    splits = decode_splits(rows, c.kv_heads, max_model_len, sms)
    width = -(-max_model_len // 16)
    return step_peak(
        c, max_tokens, rows, rows, splits, truncated=rows, meta=True, table_width=width
    )["peak"]


def gib(x: float) -> str:
    return f"{x / 2**30:7.3f}"


def print_tables(name: str, cfg: dict) -> None:
    """The forward's and the whole step's peak at the engine's token budgets and sequence limits, the decode
    rows' contexts at the model's longest."""
    c = Shape.from_config(cfg)
    max_len = cfg["max_position_embeddings"]
    per_token = forward_peak(c, 4096)[0] / 4096
    closed = c.b * (2 * c.hidden + 3 * c.inter)
    print(f"\n{name}: forward MLP-phase bytes/token (T > 256) = {per_token:.0f}")
    print(f"  = b*(2H + 3I) = {closed}")
    print(
        f"{'T':>6} {'R':>4} {'fwd GiB':>8} {'+D=R long decodes':>18} {'greedy step':>12} "
        f"{'top-p all R':>12} {'top-p+pen':>10}"
    )
    for T in (2048, 16384, 65536):
        for R in (256, 512):
            s = decode_splits(R, c.kv_heads, max_len)
            fwd = forward_peak(c, T)[0]
            fwd_d = forward_peak(c, T, R, s)[0]
            greedy = step_peak(c, T, R, R, s)["peak"]
            top_p = step_peak(c, T, R, R, s, truncated=R)["peak"]
            top_p_pen = step_peak(c, T, R, R, s, truncated=R, penalties=True)["peak"]
            print(
                f"{T:6d} {R:4d} {gib(fwd):>8} {gib(fwd_d):>18} {gib(greedy):>12} "
                f"{gib(top_p):>12} {gib(top_p_pen):>10}"
            )
    partials = decode_partials(c, 512, decode_splits(512, c.kv_heads, max_len))
    print(f"decode partials at D=512, max splits: {gib(partials)} GiB")


def main() -> None:
    print_tables("Llama-3-8B", LLAMA3_8B)
    print_tables("SmolLM2-135M", SMOLLM2)


if __name__ == "__main__":
    main()
