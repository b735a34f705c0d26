"""CUDA graphs for every step of up to 512 tokens: decode steps whole, other steps piecewise.

Decode-only steps of S <= 256 sequences replay the whole forward captured at the smallest padded batch size >= S.
Other steps replay piecewise graphs captured at padded token counts, cut at each attention call (whose grid
depends on the query lengths): attention runs eagerly between the pieces, through static q and output buffers.
Padded rows get slot -1 and context length 0, so they never touch a block a real sequence owns."""
# The block table has a fixed width of cdiv(max_model_len, block_size). The L+1 pieces of a piecewise step take
# about 2L launches instead of ~12L, which is what bounds a short mixed step otherwise. Longer steps run eagerly:
# on an 8B model their GPU time exceeds the host's launch time, and padding to a bucket would cost more than it
# saves (bench/forward.py). A step's inputs are built with numpy in one pinned int32 buffer and reach the static
# device inputs the graphs baked in with one copy: after the graphs, the host's per-op cost is what bounds a
# batch-1 step. The KV store skips slot -1 and decode attention writes zeros for context length 0. All graphs are
# captured at init, largest first, into one memory pool: a graph's intermediates are dead once it returns, so they
# share memory; only tensors read later stay reserved.

from collections.abc import Callable
from types import ModuleType

import numpy as np
import torch

from swiftllm.protocol.step import StepCommand
from swiftllm.worker.metadata import AttentionMetadata
from swiftllm.worker.model_runner import ModelRunner

BATCH_SIZES = (1, 2, 4, 8) + tuple(range(16, 257, 16))
TOKEN_SIZES = tuple(range(16, 129, 16)) + tuple(range(160, 257, 32)) + tuple(range(320, 513, 64))
Piece = tuple[
    torch.cuda.CUDAGraph, tuple
]  # a graph and the (k_cache, v_cache, scale) of the attention after it


class _CutAtAttention:
    """The backend's ops, except that attention copies q out, ends the graph under capture, starts the next,
    and returns the static output buffer that the eager attention of each replay will fill."""

    def __init__(
        self, ops: ModuleType, q_buf: torch.Tensor, out_buf: torch.Tensor, pool: tuple
    ) -> None:
        self.ops, self.q_buf, self.out_buf, self.pool = ops, q_buf, out_buf, pool
        self.graph: torch.cuda.CUDAGraph | None = None
        self.pieces: list[Piece] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.ops, name)

    def begin(self) -> None:
        self.graph = torch.cuda.CUDAGraph()
        self.graph.capture_begin(pool=self.pool)

    def end(self, attention_args: tuple = ()) -> None:
        self.graph.capture_end()
        self.pieces.append((self.graph, attention_args))

    def attention(
        self,
        q: torch.Tensor,
        k_cache: torch.Tensor,
        v_cache: torch.Tensor,
        meta: AttentionMetadata,
        scale: float,
    ) -> torch.Tensor:
        self.q_buf[: len(q)].copy_(q)
        if self.graph is not None:  # None while warming up
            self.end((k_cache, v_cache, scale))
            self.begin()
        return self.out_buf[: len(q)]


class GraphRunner:
    def __init__(self, runner: ModelRunner, block_size: int, max_model_len: int) -> None:
        self.runner, self.sizes, self.token_sizes = (
            runner,
            BATCH_SIZES,
            TOKEN_SIZES,
        )  # both ascending
        n, dev = max(self.sizes[-1], self.token_sizes[-1]), runner.device
        self.n, self.block_size, self.width = n, block_size, -(-max_model_len // block_size)
        # one pinned int32 staging buffer and its device twin: tokens | positions | slots | logits rows |
        # context lens | query starts | block table [n, width], so a step needs a single copy of a prefix
        self.table_at = 6 * n + 16
        self.host = torch.zeros(self.table_at + n * self.width, dtype=torch.int32, pin_memory=True)
        self.host_np = self.host.numpy()
        self.host_np[2 * n : 3 * n] = -1
        self.dev = self.host.to(dev)
        self.tokens, self.positions, self.slots, self.rows, self.context_lens = self.dev[
            : 5 * n
        ].view(5, n)
        self.query_start = self.dev[5 * n : 6 * n + 1]
        self.block_table = self.dev[self.table_at :].view(n, self.width)
        self.copied = torch.cuda.Event()
        self.q_buf = torch.zeros(
            (n, runner.model.heads, runner.model.cfg.head_dim), dtype=runner.dtype, device=dev
        )
        self.out_buf = torch.zeros_like(self.q_buf)
        self.pool = torch.cuda.graph_pool_handle()
        self.graphs: dict[int, tuple[torch.cuda.CUDAGraph, torch.Tensor]] = {}
        self.pieces: dict[int, tuple[list[Piece], torch.Tensor, torch.Tensor]] = {}
        with torch.inference_mode():
            for bs in reversed(self.sizes):
                self.graphs[bs] = self.capture(bs)
            for t in reversed(self.token_sizes):
                self.pieces[t] = self.capture_pieces(t)

    def meta(self, bs: int) -> AttentionMetadata:
        ones = np.ones(bs, dtype=np.int32)
        return AttentionMetadata(
            self.positions[:bs],
            self.slots[:bs],
            self.query_start[: bs + 1],
            self.context_lens[:bs],
            self.block_table[:bs],
            ones,
            ones,
            1,
            1,
        )

    def forward(self, bs: int) -> torch.Tensor:
        model, cache = self.runner.model, self.runner.cache
        hidden, residual = model.forward(self.tokens[:bs], self.meta(bs), cache.k, cache.v)
        return model.logits(hidden, residual)

    def capture(self, bs: int) -> tuple[torch.cuda.CUDAGraph, torch.Tensor]:
        # a warm-up run on a side stream compiles the Triton kernels and sets up cuBLAS before capture
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            self.forward(bs)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self.pool):
            logits = self.forward(bs)
        return graph, logits

    def capture_pieces(self, t: int) -> tuple[list[Piece], torch.Tensor, torch.Tensor]:
        model, cache = self.runner.model, self.runner.cache
        cut = _CutAtAttention(model.ops, self.q_buf, self.out_buf, self.pool)
        meta = self.meta(
            t
        )  # the pieces read only positions and slots; attention gets each step's own
        model.ops = cut
        try:
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                model.forward(self.tokens[:t], meta, cache.k, cache.v)  # warm-up
                torch.cuda.synchronize()
                cut.begin()
                hidden, residual = model.forward(self.tokens[:t], meta, cache.k, cache.v)
                cut.end()
            torch.cuda.current_stream().wait_stream(stream)
        finally:
            model.ops = cut.ops
        return cut.pieces, hidden, residual

    def can_run(self, cmd: StepCommand) -> bool:
        fits = (
            cmd.num_tokens == cmd.num_seqs <= self.sizes[-1]
        ) or cmd.num_tokens <= self.token_sizes[-1]
        return cmd.num_seqs > 0 and cmd.block_table.shape[1] <= self.width and fits

    def prepare(
        self, tokens: np.ndarray, cmd: StepCommand, sampled: np.ndarray, padded: int, decode: bool
    ) -> AttentionMetadata:
        """Stage the step's inputs (rows past the real ones padded up to `padded`) and copy them over."""
        s, t, n, page = cmd.num_seqs, cmd.num_tokens, self.n, self.block_size
        ql, cl, h = cmd.query_lens, cmd.context_lens, self.host_np
        self.copied.synchronize()  # the last step's copy has read the staging buffer
        starts = h[5 * n : 5 * n + s + 1]
        starts[0] = 0
        np.cumsum(ql, out=starts[1:])
        seq = np.repeat(np.arange(s), ql)
        pos = h[n : n + t]
        pos[:] = (cl - ql)[seq] + np.arange(t) - starts[seq]
        table = h[self.table_at :].reshape(n, self.width)
        table[:s, : cmd.block_table.shape[1]] = cmd.block_table
        h[2 * n : 2 * n + t] = table[seq, pos // page] * page + pos % page
        h[2 * n + t : 2 * n + padded] = -1
        h[:t] = tokens
        h[3 * n : 3 * n + len(sampled)] = starts[1:][sampled] - 1
        h[4 * n : 4 * n + s] = cl
        h[4 * n + s : 4 * n + (padded if decode else s)] = 0
        end = self.table_at + s * self.width
        self.dev[:end].copy_(self.host[:end], non_blocking=True)
        self.copied.record()
        return AttentionMetadata(
            self.positions[:t],
            self.slots[:t],
            self.query_start[: s + 1],
            self.context_lens[:s],
            self.block_table[:s],
            ql,
            cl,
            int(ql.max()),
            int(cl.max()),
        )

    def run(
        self,
        tokens: np.ndarray,
        fix: Callable[[torch.Tensor], None] | None,
        cmd: StepCommand,
        sampled: np.ndarray,
    ) -> torch.Tensor:
        """Logits [len(sampled), V] of the step, by graph replay; fix(ids) fills in tokens on the device.
        The logits may be a view that the next replay rewrites: the caller queues its reads before that."""
        t, rows = cmd.num_tokens, self.rows[: len(sampled)]
        decode = t == cmd.num_seqs <= self.sizes[-1]
        size = next(b for b in (self.sizes if decode else self.token_sizes) if b >= t)
        meta = self.prepare(tokens, cmd, sampled, size, decode)
        if fix:
            fix(self.tokens[:t])
        if decode:
            graph, logits = self.graphs[size]
            graph.replay()
            return logits[:t] if len(sampled) == t else logits[rows]
        pieces, hidden, residual = self.pieces[size]
        ops = self.runner.model.ops
        for graph, attention_args in pieces:
            graph.replay()
            if attention_args:
                k_cache, v_cache, scale = attention_args
                ops.attention(self.q_buf[:t], k_cache, v_cache, meta, scale, out=self.out_buf[:t])
        return self.runner.model.logits(hidden[rows], residual[rows])
