"""The LLaMA forward pass (also Mistral and Qwen2), written once over a backend of ops.

`ops` is backend_torch (reference, CPU) or backend_triton (GPU kernels): same functions, same cache layout.
Rotary position embedding frequencies come with the scalings LLaMA-family checkpoints declare (rope_inv_freq)."""

import math
from types import ModuleType

import torch

from swiftllm.model_config import ModelConfig
from swiftllm.worker.metadata import AttentionMetadata
from swiftllm.worker.parallel import Parallel
from swiftllm.worker.weights import ModelWeights


def rope_inv_freq(config: ModelConfig) -> torch.Tensor:
    """Inverse rotary frequencies [head_dim / 2], float64, with linear or llama3 scaling applied."""
    exponents = torch.arange(0, config.head_dim, 2, dtype=torch.float64) / config.head_dim
    inv_freq = 1.0 / (config.rope_theta**exponents)
    scaling = config.rope_scaling
    if scaling["rope_type"] == "linear":
        return inv_freq / scaling["factor"]
    if scaling["rope_type"] != "llama3":
        return inv_freq
    factor = scaling["factor"]
    low_freq_factor = scaling["low_freq_factor"]
    high_freq_factor = scaling["high_freq_factor"]
    old_len = scaling["original_max_position_embeddings"]
    wavelen = 2 * math.pi / inv_freq
    smooth = (old_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smooth = smooth.clamp(0, 1)
    # long wavelengths are divided by factor, short ones kept, the band between blends the two
    blended = (1 - smooth) * inv_freq / factor + smooth * inv_freq
    short_or_blended = torch.where(wavelen < old_len / high_freq_factor, inv_freq, blended)
    return torch.where(wavelen > old_len / low_freq_factor, inv_freq / factor, short_or_blended)


class LlamaModel:
    def __init__(
        self,
        cfg: ModelConfig,
        weights: ModelWeights,
        ops: ModuleType,
        par: Parallel,
        max_positions: int,
    ) -> None:
        self.cfg = cfg
        self.weights = weights
        self.ops = ops
        self.par = par
        self.heads = cfg.num_heads // par.world_size  # this rank's
        self.kv_heads = par.kv_heads(cfg.num_kv_heads)  # one replicated head when fewer than ranks
        self.scale = cfg.head_dim**-0.5
        freqs = torch.outer(torch.arange(max_positions, dtype=torch.float64), rope_inv_freq(cfg))
        cos_sin = torch.cat((freqs.cos(), freqs.sin()), -1)
        # float32 keeps positions beyond 2^8 distinct in bf16 models
        self.cos_sin = cos_sin.to(weights.norm.device, torch.float32)

    def embed(self, token_ids: torch.Tensor) -> torch.Tensor:
        table = self.weights.embed
        rows = table.shape[0]
        if self.par.world_size == 1:
            # F.embedding's gather kernel: a third of indexing's time on the GPU
            return torch.nn.functional.embedding(token_ids, table)
        local = token_ids - self.par.rank * rows  # vocab-parallel: each rank owns a slice of rows
        inside = (local >= 0) & (local < rows)
        return self.par.all_reduce(table[local.clamp(0, rows - 1)] * inside[:, None])

    def forward(
        self,
        token_ids: torch.Tensor,
        meta: AttentionMetadata,
        k_cache: torch.Tensor,
        v_cache: torch.Tensor,
        stage_input: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (hidden, residual) [T, hidden] after this rank's layers (before the final norm); k/v_cache
        are [L, N, Hkv, B, D] for those layers. `stage_input`: the previous pipeline stage's (hidden,
        residual), in place of the embedding of token_ids."""
        ops = self.ops
        eps = self.cfg.rms_norm_eps
        h, residual = (self.embed(token_ids), None) if stage_input is None else stage_input
        for layer, layer_weights in enumerate(self.weights.layers):
            x, residual = ops.rms_norm(h, layer_weights.input_norm, eps, residual)
            qkv = ops.linear(x, layer_weights.qkv, layer_weights.qkv_bias)
            heads = qkv.unflatten(1, (-1, self.cfg.head_dim))  # [T, H + 2 Hkv, D]
            q, k, v = heads.split([self.heads, self.kv_heads, self.kv_heads], dim=1)
            x = ops.rotary_attention(
                q, k, v, meta, self.cos_sin, k_cache[layer], v_cache[layer], self.scale
            )
            # partial: o's and down's outputs go to an rms_norm, which may add split-K partial sums (the
            # GPU backend's); the last layer's leaves forward, so it is whole. x.flatten(1): [T, H D]
            h = self.par.all_reduce(ops.linear(x.flatten(1), layer_weights.o_proj, partial=True))
            x, residual = ops.rms_norm(h, layer_weights.post_norm, eps, residual)
            # the MLP's peak (a prefill's largest) then holds only x, residual and its own tensors: qkv and o's
            # output would otherwise stay bound until the next layer rebinds their names (36 of 136 KiB a
            # token for Llama-3-8B; bench/activation_formula.py)
            del qkv, heads, q, k, v, h
            last = layer == len(self.weights.layers) - 1
            h = ops.mlp(x, layer_weights.gate_up, layer_weights.down, partial=not last)
            h = self.par.all_reduce(h)
        return h, residual

    def logits(self, hidden: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        """Logits [rows, V] in the activation dtype for the chosen rows of forward's output (bf16 to float32 is
        exact, so greedy takes the argmax as is; sampling and logprobs convert the rows they need)."""
        x, _ = self.ops.rms_norm(hidden, self.weights.norm, self.cfg.rms_norm_eps, residual)
        return self.par.all_gather_last(self.ops.linear(x, self.weights.lm_head))
