"""The LLaMA forward pass (also Mistral and Qwen2), written once over a backend of ops.

`ops` is backend_torch (reference, CPU) or backend_triton (GPU kernels): same functions, same cache layout."""

from types import ModuleType

import torch

from swiftllm.model_config import ModelConfig
from swiftllm.worker.metadata import AttentionMetadata
from swiftllm.worker.parallel import Parallel
from swiftllm.worker.rope import rope_inv_freq
from swiftllm.worker.weights import ModelWeights


class LlamaModel:
    def __init__(
        self,
        cfg: ModelConfig,
        weights: ModelWeights,
        ops: ModuleType,
        par: Parallel,
        max_positions: int,
    ) -> None:
        self.cfg, self.w, self.ops, self.par = cfg, weights, ops, par
        self.heads, self.kv_heads = (
            cfg.num_heads // par.world_size,
            cfg.num_kv_heads // par.world_size,
        )
        self.scale = cfg.head_dim**-0.5
        freqs = torch.outer(torch.arange(max_positions, dtype=torch.float64), rope_inv_freq(cfg))
        # float32 keeps positions beyond 2^8 distinct in bf16 models
        self.cos_sin = torch.cat((freqs.cos(), freqs.sin()), -1).to(
            weights.embed.device, torch.float32
        )

    def embed(self, token_ids: torch.Tensor) -> torch.Tensor:
        rows = self.w.embed.shape[0]
        if (
            self.par.world_size == 1
        ):  # F.embedding's gather kernel: a third of indexing's time on the GPU
            return torch.nn.functional.embedding(token_ids, self.w.embed)
        local = token_ids - self.par.rank * rows  # vocab-parallel: each rank owns a slice of rows
        inside = (local >= 0) & (local < rows)
        return self.par.all_reduce(self.w.embed[local.clamp(0, rows - 1)] * inside[:, None])

    def forward(
        self,
        token_ids: torch.Tensor,
        meta: AttentionMetadata,
        k_cache: torch.Tensor,
        v_cache: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (hidden, residual) [T, hidden] before the final norm; k/v_cache are [L, N, Hkv, B, D]."""
        ops, cfg, d = self.ops, self.cfg, self.cfg.head_dim
        h, residual = self.embed(token_ids), None
        n_q, n_kv = self.heads * d, self.kv_heads * d
        for i, lw in enumerate(self.w.layers):
            x, residual = ops.rms_norm(h, lw.input_norm, cfg.rms_norm_eps, residual)
            q, k, v = ops.linear(x, lw.qkv, lw.qkv_bias).split([n_q, n_kv, n_kv], dim=-1)
            q = ops.rotary_store_kv(
                q.view(-1, self.heads, d),
                k.view(-1, self.kv_heads, d),
                v.view(-1, self.kv_heads, d),
                meta.positions,
                self.cos_sin,
                k_cache[i],
                v_cache[i],
                meta.slot_mapping,
            )
            attn = ops.attention(q, k_cache[i], v_cache[i], meta, self.scale)
            h = self.par.all_reduce(ops.linear(attn.view(-1, n_q), lw.o))
            x, residual = ops.rms_norm(h, lw.post_norm, cfg.rms_norm_eps, residual)
            h = self.par.all_reduce(ops.silu_mul_linear(ops.linear(x, lw.gate_up), lw.down))
        return h, residual

    def logits(self, hidden: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        """Logits [rows, V] in the activation dtype for the chosen rows of forward's output (bf16 to float32 is
        exact, so greedy takes the argmax as is; sampling and logprobs convert the rows they need)."""
        x, _ = self.ops.rms_norm(hidden, self.w.norm, self.cfg.rms_norm_eps, residual)
        return self.par.all_gather_last(self.ops.linear(x, self.w.lm_head))
