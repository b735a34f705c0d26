"""CUDA graphs for decode steps of up to 512 sequences and mixed steps of up to 2,048 tokens, 512 decodes and
CHUNKS prompt chunks, each replaying the whole forward.

Decode-only steps of S <= 512 sequences replay the graph captured at the smallest padded batch size >= S, and
other steps the mixed graph at the smallest padded token count >= their tokens; both at the narrowest
block-table width (table_widths) that holds the step's table. A mixed graph launches attention on grids fixed
by its padded shapes (FixedGridAttention), whatever the step's query lengths. Padded rows get slot -1 and
context length 0, so they never touch a block a real sequence owns."""
# Decode attention sizes its split grid from the block table's width (decode_params), and the host copies the
# table's every column: at one width of max_model_len (131,072 tokens for Llama-3-8B), a batch of short contexts
# would launch 64 splits per sequence and copy 8 MB a step at 256 sequences. So graphs are captured at a few
# widths, 4x apart from LONG_CHUNK tokens (the longest context that one split covers at large batch).
# Eager, a mixed step of 531-955 tokens took the host 25 ms to launch on an 8B model (H200), up to 39 ms at a
# prompt length not seen before, while its kernels take 12-22 ms; those steps were the served p99 first tokens.
# Graphs cut at each attention call, with attention run eagerly between the pieces, brought that to 6-9 ms
# (bench/eager_step.py, bench/host_share.py --gpu; bench/results/h200), but a 256-token step of 127 decodes and
# a chunk still took 9.70 ms where its kernels take 9.07, and 10.4 ms in the offline run, where the host also
# schedules (device_call_a641d69_policy.log). With attention inside, one launch runs the step. Its cost: the
# prefill grid has a column of programs per possible chunk, and those without one exit at once.
# Longer steps, or steps of more chunks, run eagerly: there the GPU's time exceeds the host's.
# A step's inputs reach the static device inputs the graphs baked in through one staging buffer
# (graph_inputs.py). The KV store skips slot -1 and decode attention writes zeros for context length 0.
# All graphs are captured at init, largest first, into one memory pool: a graph's intermediates are dead once
# it returns, so they share memory; the outputs read after a replay (logits, hidden, residual) are copied into
# buffers outside it, shared by every graph of the kind.

import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from swiftllm.kernels.decode_attention import LONG_CHUNK, mixed_tiles
from swiftllm.protocol.step import StepCommand
from swiftllm.worker.graph_inputs import CHUNKS, GraphInputs, StagingBuffer, block_table, stage_step
from swiftllm.worker.kv_cache import KVCache
from swiftllm.worker.metadata import AttentionMetadata, PendingTokens, leading_decodes
from swiftllm.worker.model import LlamaModel

# ascending: a step takes the first size that holds it
BATCH_SIZES = (1, 2, 4, 8) + tuple(range(16, 257, 16)) + tuple(range(288, 513, 32))
TOKEN_SIZES = tuple(range(16, 129, 16)) + tuple(range(160, 257, 32)) + tuple(range(320, 2049, 64))


def table_widths(max_model_len: int, block_size: int) -> tuple[int, ...]:
    """The block-table widths (in blocks, ascending) that decode graphs are captured at: LONG_CHUNK * 4^k
    tokens below max_model_len, and max_model_len's own."""
    # a power of 4 below max_model_len has an exponent below its bit length
    spans = [LONG_CHUNK * 4**k for k in range(max_model_len.bit_length())]
    tokens = [span for span in spans if span < max_model_len] + [max_model_len]
    return tuple(-(-span // block_size) for span in tokens)


# a decode graph and its logits [batch size, V]: a view of the buffer that every decode graph's replay rewrites
DecodeGraph = tuple[torch.cuda.CUDAGraph, torch.Tensor]


class FixedGridAttention:
    """The backend's ops, except that attention runs over a mixed graph's static inputs (graph_inputs' two
    views) on grids fixed by its `rows`: decode attention over the first `decode_rows` of them, then prefill
    attention over CHUNKS chunks of up to `rows` tokens each, into the same output.

    `decode_rows` bounds the decode view's split partials (rows x heads x splits x head dim floats): over all
    2,048 rows of the largest mixed graph at a table 131,072 tokens wide (64 splits) they took 2 GiB (then the
    whole of profile()'s fixed allowance); at BATCH_SIZES[-1] rows, as much as the largest decode graph, which
    ModelRunner.activation_bytes counts. A step with more leading decodes runs eagerly (GraphRunner.can_replay)."""

    def __init__(
        self,
        ops: ModuleType,
        inputs: GraphInputs[torch.Tensor],
        table: torch.Tensor,
        rows: int,
        side_stream: torch.cuda.Stream | None = None,
        decode_rows: int = BATCH_SIZES[-1],
    ) -> None:
        self.ops = ops
        self.side_stream = side_stream
        self.decode_rows = min(rows, decode_rows)
        self.decode_table = table[: self.decode_rows]
        self.decode_context_lens = inputs.context_lens[: self.decode_rows]
        self.decode_tiles = mixed_tiles(table.device)
        self.chunk_table = table[rows : rows + CHUNKS]
        self.chunk_start = inputs.query_start[rows : rows + CHUNKS + 1]
        self.chunk_context_lens = inputs.context_lens[rows : rows + CHUNKS]

    def __getattr__(self, name: str) -> object:
        return getattr(self.ops, name)

    def rotary_attention(self, *args: Any) -> torch.Tensor:
        """The backend's rotary_attention (its arguments), with this class's attention."""
        return self.ops.rotary_attention(*args, attend=self.attention)

    def attention(
        self,
        q: torch.Tensor,
        k_cache: torch.Tensor,
        v_cache: torch.Tensor,
        meta: AttentionMetadata,
        scale: float,
    ) -> torch.Tensor:
        # The two kernels write disjoint rows of `out` (the decode view marks prompt tokens' rows -1). With a
        # side stream, prefill attention's few latency-bound programs run beside the decode kernel, launched
        # first so that they find SMs; the graph joins the two before the output projection.
        rows = self.decode_rows
        # padded rows past the decode view get zeros, as decode attention writes them
        out = torch.zeros_like(q) if rows < len(q) else torch.empty_like(q)
        if self.side_stream is not None:
            self.side_stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.side_stream):  # no-op when None
            chunk_view = (self.chunk_start, self.chunk_context_lens, self.chunk_table)
            self.ops.prefill_attention(q, k_cache, v_cache, *chunk_view, len(q), scale, out)
        args = (q[:rows], k_cache, v_cache, self.decode_table, self.decode_context_lens, scale)
        self.ops.decode_attention(*args, out=out[:rows], tiles=self.decode_tiles)
        if self.side_stream is not None:
            torch.cuda.current_stream().wait_stream(self.side_stream)
        return out


class GraphRunner:
    """Replays a step's forward from CUDA graphs captured at init, when it fits one (can_replay).

    `replay` stages the step's inputs into the static tensors the graphs read and returns the sampled rows'
    logits, as ModelRunner's eager forward would. A change to the model's forward is captured as it is; a new
    kind of op whose launch depends on more than the padded shapes must get fixed grids, as attention has
    (FixedGridAttention)."""

    def __init__(self, model: LlamaModel, cache: KVCache, max_model_len: int) -> None:
        self.model = model
        self.cache = cache
        device = cache.k.device
        # what the graphs hold (their pool, the buffers below): ModelRunner.profile counts it as free, since
        # a new cache replaces them. Cached blocks aside on both sides, so that only what stays counts
        torch.cuda.empty_cache()
        reserved_before = torch.cuda.memory_reserved(device)
        dtype = cache.k.dtype
        # a mixed graph's chunk view sits past its rows
        self.rows = max(BATCH_SIZES[-1], TOKEN_SIZES[-1]) + CHUNKS
        self.table_widths = table_widths(max_model_len, cache.block_size)
        self.staging = StagingBuffer(self.rows, self.table_widths[-1], device)
        self.inputs = self.staging.on_device
        # each graph copies its outputs here, so that they are among its dead intermediates: kept per graph,
        # decode logits would take [batch size, V] for every batch size and width (5.5 GB for Llama-3 at 131,072)
        cfg = model.cfg
        self.logits = torch.empty((BATCH_SIZES[-1], cfg.vocab_size), dtype=dtype, device=device)
        self.hidden = torch.empty((TOKEN_SIZES[-1], cfg.hidden_size), dtype=dtype, device=device)
        self.residual = torch.empty_like(self.hidden)
        self.pool = torch.cuda.graph_pool_handle()
        # one stream for every capture's eager warm-up: the allocator caches freed memory per stream, and a
        # new torch.cuda.Stream() per capture (up to 32 distinct ones) left init_cache holding 11 GiB more at
        # 152 graphs on the H200 (device_call_d058580.log)
        self.warm_up_stream = torch.cuda.Stream()
        # prefill attention's in mixed graphs (FixedGridAttention). At a higher priority its few programs
        # start before the decode kernel's fill the SMs: the offline run's mixed steps 10.11 -> 9.80 ms, at
        # the default priority 9.92 (H200, bench/results/h200/device_call_4497559_s17_overlap.log)
        self.side_stream = torch.cuda.Stream(priority=-1)
        self.decode_graphs: dict[tuple[int, int], DecodeGraph] = {}  # by batch size and table width
        self.mixed_graphs: dict[tuple[int, int], torch.cuda.CUDAGraph] = {}  # by tokens and width
        # a progress bar on stderr: capture takes seconds to minutes, silence would look like a hang
        total = (len(BATCH_SIZES) + len(TOKEN_SIZES)) * len(self.table_widths)
        progress = tqdm(total=total, desc="capturing CUDA graphs", file=sys.stderr)
        with torch.inference_mode(), progress:
            for width in reversed(self.table_widths):
                for num_tokens in reversed(TOKEN_SIZES):
                    self.mixed_graphs[num_tokens, width] = self.capture_mixed(num_tokens, width)
                    progress.update()
                for batch_size in reversed(BATCH_SIZES):
                    self.decode_graphs[batch_size, width] = self.capture_decode(batch_size, width)
                    progress.update()
        torch.cuda.empty_cache()
        self.nbytes = torch.cuda.memory_reserved(device) - reserved_before

    def static_forward(self, rows: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The forward over the first `rows` static inputs, as a decode step of `rows` sequences with a
        block table `width` wide (a mixed graph's attention reads its own views)."""
        inputs = self.inputs
        ones = np.ones(rows, dtype=np.int32)
        meta = AttentionMetadata(
            positions=inputs.positions[:rows],
            slot_mapping=inputs.slots[:rows],
            query_start=inputs.query_start[: rows + 1],
            context_lens=inputs.context_lens[:rows],
            block_table=block_table(inputs, self.rows, width)[:rows],
            query_lens_host=ones,
            context_lens_host=ones,
            max_query_len=1,
        )
        return self.model.forward(inputs.tokens[:rows], meta, self.cache.k, self.cache.v)

    def capture(self, forward: Callable[[], None]) -> torch.cuda.CUDAGraph:
        """A graph of `forward`, after a warm-up run on a side stream that compiles the Triton kernels and
        sets up cuBLAS."""
        self.warm_up_stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.warm_up_stream):
            forward()
        torch.cuda.current_stream().wait_stream(self.warm_up_stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self.pool):
            forward()
        return graph

    def capture_decode(self, batch_size: int, width: int) -> DecodeGraph:
        logits = self.logits[:batch_size]

        def forward() -> None:
            hidden, residual = self.static_forward(batch_size, width)
            logits.copy_(self.model.logits(hidden, residual))

        return self.capture(forward), logits

    def capture_mixed(self, num_tokens: int, width: int) -> torch.cuda.CUDAGraph:
        model = self.model
        table = block_table(self.inputs, self.rows, width)
        backend = model.ops
        model.ops = FixedGridAttention(backend, self.inputs, table, num_tokens, self.side_stream)

        def forward() -> None:
            hidden, residual = self.static_forward(num_tokens, width)
            self.hidden[:num_tokens].copy_(hidden)
            self.residual[:num_tokens].copy_(residual)

        try:
            return self.capture(forward)
        finally:
            model.ops = backend

    def fits_decode_graph(self, cmd: StepCommand) -> bool:
        return cmd.num_tokens == cmd.num_seqs <= BATCH_SIZES[-1]

    def can_replay(self, cmd: StepCommand) -> bool:
        if cmd.num_seqs == 0 or cmd.block_table.shape[1] > self.table_widths[-1]:
            return False
        if self.fits_decode_graph(cmd):
            return True
        decodes = leading_decodes(cmd.query_lens)
        chunks = cmd.num_seqs - decodes
        # FixedGridAttention's views: CHUNKS chunks, BATCH_SIZES[-1] decodes
        return cmd.num_tokens <= TOKEN_SIZES[-1] and chunks <= CHUNKS and decodes <= BATCH_SIZES[-1]

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
        decode = self.fits_decode_graph(cmd)
        sizes = BATCH_SIZES if decode else TOKEN_SIZES
        padded = next(size for size in sizes if size >= num_tokens)
        width = next(w for w in self.table_widths if w >= cmd.block_table.shape[1])
        staged = self.staging.on_host
        self.staging.copied.synchronize()  # the last step's copy has read the staging buffer
        table = block_table(staged, self.rows, width)
        page = self.cache.block_size
        table_rows = stage_step(staged, table, page, cmd, tokens, sampled, padded, decode)
        self.staging.send(table_rows, width)
        if pending is not None:
            pending.write_into(self.inputs.tokens[:num_tokens])
        logit_rows = self.inputs.logit_rows[: len(sampled)]
        if decode:
            graph, logits = self.decode_graphs[padded, width]
            graph.replay()
            return logits[:num_tokens] if len(sampled) == num_tokens else logits[logit_rows]
        self.mixed_graphs[padded, width].replay()
        return self.model.logits(self.hidden[logit_rows], self.residual[logit_rows])
