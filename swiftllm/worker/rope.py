"""Rotary position embedding frequencies, with the scalings LLaMA-family checkpoints declare."""

import math

import torch

from swiftllm.model_config import ModelConfig


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
