"""The GPU backend: backend_torch's ops, implemented by the Triton kernels in swiftllm/kernels."""

from __future__ import annotations

import torch

from swiftllm.kernels.decode_attention import decode_attention
from swiftllm.kernels.gemv import gemv
from swiftllm.kernels.kv_store import store_kv
from swiftllm.kernels.prefill_attention import prefill_attention
from swiftllm.kernels.rmsnorm import rms_norm
from swiftllm.kernels.rotary import rotary
from swiftllm.kernels.silu_mul import silu_and_mul
from swiftllm.worker.cuda_graphs import GraphRunner
from swiftllm.worker.metadata import AttentionMetadata

__all__ = ["GraphRunner", "attention", "linear", "rms_norm", "rotary", "silu_and_mul", "store_kv"]
GEMV_MAX_ROWS = 16  # up to this many rows our GEMV beats cuBLAS on the H100 (bench/forward.py, gemv table)


# `linear` is for a model that routes its projections through the backend: at a few rows it streams the weights
# through our GEMV kernel (faster than cuBLAS there, see bench/forward.py), else cuBLAS.
def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    if x.shape[0] <= GEMV_MAX_ROWS and x.stride(-1) == 1:
        return gemv(x, weight, bias)
    return torch.nn.functional.linear(x, weight, bias)


# Decode-only steps (every query length 1) run paged decode attention, whose grid depends only on the batch shape
# so a captured CUDA graph replays it; any other step (prefill chunks, or chunks mixed with decode tokens) runs the
# prefill kernel, which takes any query length >= 1. A mixed batch is not split: a decode row costs the prefill
# kernel one tile of its KV head, about what the decode kernel would spend on it, and one launch beats two.
def attention(q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor, meta: AttentionMetadata,
              scale: float, out: torch.Tensor | None = None) -> torch.Tensor:
    """Causal attention of each sequence's new tokens (already stored) over its cached context. q [T, H, D];
    out, if given, receives the result (the static buffer of a piecewise CUDA graph)."""
    if meta.decode_only:
        return decode_attention(q, k_cache, v_cache, meta.block_table, meta.context_lens, scale, out=out)
    return prefill_attention(q, k_cache, v_cache, meta.query_start, meta.context_lens, meta.block_table,
                             meta.max_query_len, scale, out)
