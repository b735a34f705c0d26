"""CUDA graphs for decode steps of up to 512 sequences (whole) and other steps of up to 2,048 tokens
(piecewise).

Decode-only steps of S <= 512 sequences replay the whole forward captured at the smallest padded batch size >= S
and the narrowest block-table width (table_widths) that holds the step's table.
Other steps replay piecewise graphs captured at padded token counts, cut at each attention call (whose grid
depends on the query lengths): attention runs eagerly between the pieces, through static q and output buffers.
Padded rows get slot -1 and context length 0, so they never touch a block a real sequence owns."""
# Decode attention sizes its split grid from the block table's width (decode_params), and the host copies the
# table's every column: at one width of max_model_len (131,072 tokens for Llama-3-8B), a batch of short contexts
# would launch 64 splits per sequence and copy 8 MB a step at 256 sequences. So decode graphs are captured at a
# few widths, 4x apart from LONG_CHUNK tokens (the longest context that one split covers at large batch).
# The L+1 pieces of a piecewise step take about 2L launches instead of ~12L, which is what bounds a short mixed
# step otherwise. Up to 2,048 tokens that holds even on an 8B model: on the H200 the eager step of a 531-955
# token prompt (and 3 decodes) took the host 25 ms to launch, up to 39 ms at a prompt length not seen before,
# while its kernels take 12-22 ms; those steps were the served p99 first tokens. Piecewise, the host takes
# 6-9 ms and the GPU 15-22 (bench/eager_step.py, bench/host_share.py --gpu; bench/results/h200). Longer steps
# run eagerly: there the GPU's time exceeds the host's, and padding to a bucket would cost more than it saves.
# A step's inputs reach the static device inputs the graphs baked in through one staging buffer
# (graph_inputs.py). The KV store skips slot -1 and decode attention writes zeros for context length 0.
# All graphs are captured at init, largest first, into one memory pool: a graph's intermediates are dead once
# it returns, so they share memory; only tensors read later stay reserved (the piecewise graphs' outputs, and
# the one logits buffer every decode graph copies into).

import sys
from types import ModuleType
from typing import NamedTuple

import numpy as np
import torch
from tqdm import tqdm

from swiftllm.kernels.decode_attention import LONG_CHUNK
from swiftllm.protocol.step import StepCommand
from swiftllm.worker.graph_inputs import StagingBuffer
from swiftllm.worker.kv_cache import KVCache
from swiftllm.worker.metadata import AttentionMetadata, PendingTokens
from swiftllm.worker.model import LlamaModel

# ascending: a step takes the first size that holds it
BATCH_SIZES = (1, 2, 4, 8) + tuple(range(16, 257, 16)) + tuple(range(288, 513, 32))
TOKEN_SIZES = tuple(range(16, 129, 16)) + tuple(range(160, 257, 32)) + tuple(range(320, 2049, 64))


def table_widths(max_model_len: int, block_size: int) -> tuple[int, ...]:
    """The block-table widths (in blocks, ascending) that decode graphs are captured at: LONG_CHUNK * 4^k
    tokens below max_model_len, and max_model_len's own."""
    widths = []
    tokens = LONG_CHUNK
    while tokens < max_model_len:
        widths.append(-(-tokens // block_size))
        tokens *= 4
    widths.append(-(-max_model_len // block_size))
    return tuple(widths)


class DecodeGraph(NamedTuple):
    graph: torch.cuda.CUDAGraph
    # [batch size, V]: a view of the buffer that every decode graph's replay rewrites
    logits: torch.Tensor


class AttentionCall(NamedTuple):
    """The arguments of an attention call that a piecewise graph was cut at (q and meta are the step's)."""

    k_cache: torch.Tensor
    v_cache: torch.Tensor
    scale: float


class Piece(NamedTuple):
    graph: torch.cuda.CUDAGraph
    attention: AttentionCall | None  # run eagerly after the graph; None after the last piece


class PiecewiseGraph(NamedTuple):
    pieces: list[Piece]
    hidden: torch.Tensor  # [tokens, hidden] forward's outputs, rewritten by each replay
    residual: torch.Tensor


class _CutAtAttention:
    """The backend's ops, except that attention copies q out, ends the graph under capture, starts the next,
    and returns the static output buffer that the eager attention of each replay will fill."""

    def __init__(
        self, ops: ModuleType, q_buf: torch.Tensor, out_buf: torch.Tensor, pool: tuple
    ) -> None:
        self.ops = ops
        self.q_buf = q_buf
        self.out_buf = out_buf
        self.pool = pool
        self.graph: torch.cuda.CUDAGraph | None = None
        self.pieces: list[Piece] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.ops, name)

    def begin_piece(self) -> None:
        self.graph = torch.cuda.CUDAGraph()
        self.graph.capture_begin(pool=self.pool)

    def end_piece(self, attention: AttentionCall | None = None) -> None:
        self.graph.capture_end()
        self.pieces.append(Piece(self.graph, attention))

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
            self.end_piece(AttentionCall(k_cache, v_cache, scale))
            self.begin_piece()
        return self.out_buf[: len(q)]


class GraphRunner:
    """Replays a step's forward from CUDA graphs captured at init, when it fits one (can_replay).

    `replay` stages the step's inputs into the static tensors the graphs read and returns the sampled rows'
    logits, as ModelRunner's eager forward would. A change to the model's forward is captured as it is; a new
    kind of op whose launch depends on more than the padded shapes must be run between pieces, as attention
    is (see _CutAtAttention)."""

    def __init__(self, model: LlamaModel, cache: KVCache, max_model_len: int) -> None:
        self.model = model
        self.cache = cache
        device = cache.k.device
        max_rows = max(BATCH_SIZES[-1], TOKEN_SIZES[-1])
        self.table_widths = table_widths(max_model_len, cache.block_size)
        self.staging = StagingBuffer(max_rows, self.table_widths[-1], device)
        self.inputs = self.staging.on_device
        self.q_buf = torch.zeros(
            (max_rows, model.heads, model.cfg.head_dim), dtype=cache.k.dtype, device=device
        )
        self.out_buf = torch.zeros_like(self.q_buf)
        # each decode graph copies its logits here, so that they are one of its dead intermediates: kept per
        # graph, they would take [batch size, V] for every batch size and width (5.5 GB for Llama-3 at 131,072)
        vocab = model.cfg.vocab_size
        self.logits = torch.empty((BATCH_SIZES[-1], vocab), dtype=cache.k.dtype, device=device)
        self.pool = torch.cuda.graph_pool_handle()
        # one stream for every capture's eager warm-up: the allocator caches freed memory per stream, and a
        # new torch.cuda.Stream() per capture (up to 32 distinct ones) left init_cache holding 11 GiB more at
        # 152 graphs on the H200 (device_call_d058580.log)
        self.warm_up_stream = torch.cuda.Stream()
        self.decode_graphs: dict[tuple[int, int], DecodeGraph] = {}  # by batch size and table width
        self.piecewise_graphs: dict[int, PiecewiseGraph] = {}  # by token count
        # a progress bar on stderr: capture takes seconds to minutes, silence would look like a hang
        total = len(BATCH_SIZES) * len(self.table_widths) + len(TOKEN_SIZES)
        progress = tqdm(total=total, desc="capturing CUDA graphs", file=sys.stderr)
        with torch.inference_mode(), progress:
            for width in reversed(self.table_widths):
                for batch_size in reversed(BATCH_SIZES):
                    graph = self.capture_decode(batch_size, width)
                    self.decode_graphs[batch_size, width] = graph
                    progress.update()
            for num_tokens in reversed(TOKEN_SIZES):
                self.piecewise_graphs[num_tokens] = self.capture_piecewise(num_tokens)
                progress.update()

    def static_metadata(
        self, num_tokens: int, query_lens: np.ndarray, context_lens: np.ndarray, width: int
    ) -> AttentionMetadata:
        """Metadata over the static inputs, as a step of these query and context lengths and a block table
        `width` wide sees them."""
        num_seqs = len(query_lens)
        return AttentionMetadata(
            positions=self.inputs.positions[:num_tokens],
            slot_mapping=self.inputs.slots[:num_tokens],
            query_start=self.inputs.query_start[: num_seqs + 1],
            context_lens=self.inputs.context_lens[:num_seqs],
            block_table=self.staging.block_table(self.inputs, width)[:num_seqs],
            query_lens_host=query_lens,
            context_lens_host=context_lens,
            max_query_len=int(query_lens.max()),
        )

    def static_forward(self, rows: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The forward over the first `rows` static inputs, as a decode step of `rows` sequences."""
        ones = np.ones(rows, dtype=np.int32)
        meta = self.static_metadata(rows, ones, ones, width)
        return self.model.forward(self.inputs.tokens[:rows], meta, self.cache.k, self.cache.v)

    def decode_logits(self, batch_size: int, width: int) -> torch.Tensor:
        hidden, residual = self.static_forward(batch_size, width)
        return self.model.logits(hidden, residual)

    def capture_decode(self, batch_size: int, width: int) -> DecodeGraph:
        # a warm-up run on a side stream compiles the Triton kernels and sets up cuBLAS before capture
        stream = self.warm_up_stream
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            self.decode_logits(batch_size, width)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        logits = self.logits[:batch_size]
        with torch.cuda.graph(graph, pool=self.pool):
            logits.copy_(self.decode_logits(batch_size, width))
        return DecodeGraph(graph, logits)

    def capture_piecewise(self, num_tokens: int) -> PiecewiseGraph:
        model = self.model
        cut = _CutAtAttention(model.ops, self.q_buf, self.out_buf, self.pool)
        model.ops = cut
        try:
            stream = self.warm_up_stream
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                # the pieces read only the positions and slots of this metadata; attention gets each step's own
                width = self.table_widths[0]
                self.static_forward(num_tokens, width)  # warm-up
                torch.cuda.synchronize()
                cut.begin_piece()
                hidden, residual = self.static_forward(num_tokens, width)
                cut.end_piece()
            torch.cuda.current_stream().wait_stream(stream)
        finally:
            model.ops = cut.ops
        return PiecewiseGraph(cut.pieces, hidden, residual)

    def fits_decode_graph(self, cmd: StepCommand) -> bool:
        return cmd.num_tokens == cmd.num_seqs <= BATCH_SIZES[-1]

    def can_replay(self, cmd: StepCommand) -> bool:
        fits = self.fits_decode_graph(cmd) or cmd.num_tokens <= TOKEN_SIZES[-1]
        return cmd.num_seqs > 0 and cmd.block_table.shape[1] <= self.table_widths[-1] and fits

    def stage_inputs(
        self,
        tokens: np.ndarray,
        cmd: StepCommand,
        sampled: np.ndarray,
        padded: int,
        decode: bool,
        width: int,
    ) -> AttentionMetadata:
        """Stage the step's inputs (rows past the real ones padded up to `padded`, its block table laid out
        `width` wide) and copy them over."""
        num_seqs = cmd.num_seqs
        num_tokens = cmd.num_tokens
        page = self.cache.block_size
        query_lens = cmd.query_lens
        context_lens = cmd.context_lens
        staged = self.staging.on_host
        self.staging.copied.synchronize()  # the last step's copy has read the staging buffer
        starts = staged.query_start[: num_seqs + 1]
        starts[0] = 0
        np.cumsum(query_lens, out=starts[1:])
        seq_of_token = np.repeat(np.arange(num_seqs), query_lens)
        positions = staged.positions[:num_tokens]
        positions[:] = (
            (context_lens - query_lens)[seq_of_token] + np.arange(num_tokens) - starts[seq_of_token]
        )
        table = self.staging.block_table(staged, width)
        table[:num_seqs, : cmd.block_table.shape[1]] = cmd.block_table
        staged.slots[:num_tokens] = table[seq_of_token, positions // page] * page + positions % page
        staged.slots[num_tokens:padded] = -1
        staged.tokens[:num_tokens] = tokens
        staged.logit_rows[: len(sampled)] = starts[1:][sampled] - 1
        staged.context_lens[:num_seqs] = context_lens
        if decode:
            staged.context_lens[num_seqs:padded] = 0
        self.staging.send(num_seqs, width)
        return self.static_metadata(num_tokens, query_lens, context_lens, width)

    def replay(
        self,
        tokens: np.ndarray,
        pending: PendingTokens | None,
        cmd: StepCommand,
        sampled: np.ndarray,
    ) -> torch.Tensor:
        """Logits [len(sampled), V] of the step, by graph replay; `pending` fills in tokens on the device.
        The logits may be a view that the next replay rewrites: the caller queues its reads before that."""
        num_tokens = cmd.num_tokens
        logit_rows = self.inputs.logit_rows[: len(sampled)]
        decode = self.fits_decode_graph(cmd)
        sizes = BATCH_SIZES if decode else TOKEN_SIZES
        padded = next(size for size in sizes if size >= num_tokens)
        width = next(w for w in self.table_widths if w >= cmd.block_table.shape[1])
        meta = self.stage_inputs(tokens, cmd, sampled, padded, decode, width)
        if pending is not None:
            pending.write_into(self.inputs.tokens[:num_tokens])
        if decode:
            graph, logits = self.decode_graphs[padded, width]
            graph.replay()
            if len(sampled) == num_tokens:
                return logits[:num_tokens]
            return logits[logit_rows]
        pieces, hidden, residual = self.piecewise_graphs[padded]
        ops = self.model.ops
        q = self.q_buf[:num_tokens]
        out = self.out_buf[:num_tokens]
        for graph, attention in pieces:
            graph.replay()
            if attention is not None:
                ops.attention(
                    q, attention.k_cache, attention.v_cache, meta, attention.scale, out=out
                )
        return self.model.logits(hidden[logit_rows], residual[logit_rows])
