"""The GPU backend: backend_torch's ops, implemented by the Triton kernels in swiftllm/kernels."""

import torch

from swiftllm.kernels.decode_attention import decode_attention
from swiftllm.kernels.gemv import gemv
from swiftllm.kernels.prefill_attention import prefill_attention
from swiftllm.kernels.rmsnorm import rms_norm
from swiftllm.kernels.rotary_store import rotary_store_kv
from swiftllm.kernels.silu_mul import silu_and_mul
from swiftllm.worker.cuda_graphs import GraphRunner
from swiftllm.worker.metadata import AttentionMetadata

__all__ = ["GraphRunner", "attention", "linear", "rms_norm", "rotary_store_kv", "silu_and_mul", "silu_mul_linear"]
GEMV_MAX_ROWS = 16  # up to this many rows our GEMV beats cuBLAS on the H100 (bench/forward.py, gemv table)


# `linear` is for a model that routes its projections through the backend: at a few rows it streams the weights
# through our GEMV kernel (faster than cuBLAS there, see bench/forward.py), else cuBLAS.
def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    if x.shape[0] <= GEMV_MAX_ROWS and x.stride(-1) == 1:
        return gemv(x, weight, bias)
    return torch.nn.functional.linear(x, weight, bias)


# At one row the GEMV computes the SiLU as it loads x (2% off a layer, H100); at 2-16 rows that SiLU, on tl.dot's
# operand tiles, made the down projection 5x slower, so it is not fused there.
def silu_mul_linear(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """linear(silu_and_mul(x), weight)."""
    return gemv(x, weight, silu=True) if x.shape[0] == 1 else linear(silu_and_mul(x), weight)


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
