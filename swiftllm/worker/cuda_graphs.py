"""Decode steps as CUDA graphs: the whole forward (embedding to logits) captured once per padded batch size.

A decode step of S sequences replays the graph of the smallest captured size >= S. Inputs go through
static buffers whose addresses the graphs baked in; the block table has a fixed width of
cdiv(max_model_len, block_size). Padded rows get slot -1 (the KV store skips them) and context length 0
(decode attention writes zeros for them), so they never read or write a block a real sequence owns.
All sizes are captured at init, largest first, into one shared memory pool: a graph's intermediates are
dead once it returns, so the graphs can share them; only each graph's logits stay reserved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from swiftllm.worker.metadata import AttentionMetadata

if TYPE_CHECKING:
    from swiftllm.worker.model_runner import ModelRunner

BATCH_SIZES = (1, 2, 4, 8) + tuple(range(16, 257, 16))


class GraphRunner:
    def __init__(self, runner: ModelRunner, block_size: int, max_model_len: int,
                 batch_sizes: tuple[int, ...] = BATCH_SIZES) -> None:
        self.runner, self.sizes = runner, sorted(batch_sizes)
        n, dev = self.sizes[-1], runner.device
        self.width = -(-max_model_len // block_size)
        self.tokens = torch.zeros(n, dtype=torch.int64, device=dev)
        self.positions = torch.zeros(n, dtype=torch.int64, device=dev)
        self.slots = torch.full((n,), -1, dtype=torch.int64, device=dev)
        self.context_lens = torch.zeros(n, dtype=torch.int32, device=dev)
        self.block_table = torch.zeros((n, self.width), dtype=torch.int32, device=dev)
        self.query_start = torch.arange(n + 1, dtype=torch.int32, device=dev)
        self.pool = torch.cuda.graph_pool_handle()
        self.graphs: dict[int, tuple[torch.cuda.CUDAGraph, torch.Tensor]] = {}
        with torch.inference_mode():
            for bs in reversed(self.sizes):
                self.graphs[bs] = self.capture(bs)

    def meta(self, bs: int) -> AttentionMetadata:
        ones = np.ones(bs, dtype=np.int32)
        return AttentionMetadata(self.positions[:bs], self.slots[:bs], self.query_start[:bs + 1],
                                 self.context_lens[:bs], self.block_table[:bs], ones, ones, 1, 1)

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

    def can_run(self, meta: AttentionMetadata) -> bool:
        return (meta.decode_only and 0 < len(meta.context_lens_host) <= self.sizes[-1]
                and meta.block_table.shape[1] <= self.width)

    def run(self, tokens: torch.Tensor, meta: AttentionMetadata, rows: torch.Tensor) -> torch.Tensor:
        """Float32 logits [len(rows), V] of a decode step, by graph replay."""
        s = len(meta.context_lens_host)
        bs = next(b for b in self.sizes if b >= s)
        self.tokens[:s].copy_(tokens)
        self.positions[:s].copy_(meta.positions)
        self.slots[:s].copy_(meta.slot_mapping)
        self.context_lens[:s].copy_(meta.context_lens)
        self.block_table[:s, :meta.block_table.shape[1]].copy_(meta.block_table)
        if bs > s:
            self.slots[s:bs].fill_(-1)
            self.context_lens[s:bs].fill_(0)
        graph, logits = self.graphs[bs]
        graph.replay()
        return logits[rows]
