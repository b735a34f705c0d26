"""Checkpoint loading: HF names in, this rank's merged and sharded tensors out.

Supports safetensors (one file or sharded with an index), pytorch_model*.bin (weights_only), and
"dummy" random weights built from the config alone, for benchmarks at real shapes."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import safe_open

from swiftllm.model_config import ModelConfig, ModelError
from swiftllm.worker.parallel import Parallel


@dataclass
class LayerWeights:
    input_norm: torch.Tensor
    qkv: torch.Tensor  # [(H + 2 Hkv) D / ws, hidden]: this rank's heads of q, k, v stacked
    qkv_bias: torch.Tensor | None
    o_proj: torch.Tensor  # [hidden, H D / ws]
    post_norm: torch.Tensor
    gate_up: torch.Tensor  # [2 I / ws, hidden]
    down: torch.Tensor  # [hidden, I / ws]


@dataclass
class ModelWeights:
    embed: torch.Tensor  # [V / ws, hidden] vocab-parallel
    layers: list[LayerWeights]
    norm: torch.Tensor
    lm_head: torch.Tensor  # the embedding itself when tied


def iter_checkpoint(path: Path) -> Iterator[tuple[str, torch.Tensor]]:
    # Sharded checkpoints list their files in an index; reading every matching file gives the same set.
    files = sorted(path.glob("*.safetensors")) or sorted(path.glob("pytorch_model*.bin"))
    if not files:
        raise ModelError(f"no weights in {path} (expected *.safetensors or pytorch_model*.bin)")
    for file in files:
        if file.suffix == ".safetensors":
            with safe_open(str(file), framework="pt") as tensors:
                for name in tensors.keys():
                    yield name, tensors.get_tensor(name)
        else:
            yield from torch.load(file, map_location="cpu", weights_only=True, mmap=True).items()


def dummy_checkpoint(
    cfg: ModelConfig, device: torch.device, dtype: torch.dtype
) -> dict[str, torch.Tensor]:
    """Random weights of the right shapes, drawn where they will live (an 8B model in seconds on a GPU)."""
    gen = torch.Generator(device).manual_seed(0)

    def rand(*shape: int) -> torch.Tensor:  # small values keep bf16 activations finite
        return torch.empty(shape, device=device, dtype=dtype).uniform_(-0.02, 0.02, generator=gen)

    def ones(size: int) -> torch.Tensor:
        return torch.ones(size, device=device, dtype=dtype)

    hidden = cfg.hidden_size
    intermediate = cfg.intermediate_size
    ckpt = {
        "model.embed_tokens.weight": rand(cfg.vocab_size, hidden),
        "model.norm.weight": ones(hidden),
    }
    if not cfg.tie_word_embeddings:
        ckpt["lm_head.weight"] = rand(cfg.vocab_size, hidden)
    for layer in range(cfg.num_layers):
        prefix = f"model.layers.{layer}."
        shapes = {
            "self_attn.q_proj": (cfg.q_size, hidden),
            "self_attn.k_proj": (cfg.kv_size, hidden),
            "self_attn.v_proj": (cfg.kv_size, hidden),
            "self_attn.o_proj": (hidden, cfg.q_size),
            "mlp.gate_proj": (intermediate, hidden),
            "mlp.up_proj": (intermediate, hidden),
            "mlp.down_proj": (hidden, intermediate),
        }
        for name, shape in shapes.items():
            ckpt[prefix + name + ".weight"] = rand(*shape)
        ckpt[prefix + "input_layernorm.weight"] = ones(hidden)
        ckpt[prefix + "post_attention_layernorm.weight"] = ones(hidden)
        if cfg.qkv_bias:
            for proj in ("q_proj", "k_proj", "v_proj"):
                out_features = shapes[f"self_attn.{proj}"][0]
                ckpt[prefix + f"self_attn.{proj}.bias"] = rand(out_features)
    return ckpt


def load_weights(
    path: Path | None,
    cfg: ModelConfig,
    par: Parallel,
    dtype: torch.dtype,
    device: torch.device,
    load_format: str = "auto",
) -> ModelWeights:
    ckpt = (
        dummy_checkpoint(cfg, device, dtype)
        if load_format == "dummy"
        else {
            name.removeprefix("language_model."): tensor
            for name, tensor in iter_checkpoint(Path(path))
        }
    )

    def get(name: str, shard_dim: int | None = None) -> torch.Tensor:
        """The named tensor (this rank's slice along shard_dim, if given) on the device."""
        if name not in ckpt:
            raise ModelError(f"checkpoint in {path} lacks tensor {name!r}")
        tensor = ckpt[name]
        if shard_dim is not None:
            tensor = par.shard(tensor, shard_dim)
        return tensor.to(device=device, dtype=dtype).contiguous()

    if cfg.num_heads % par.world_size or cfg.num_kv_heads % par.world_size:
        raise ModelError(
            f"{cfg.num_heads} heads / {cfg.num_kv_heads} KV heads do not split over "
            f"{par.world_size} workers"
        )
    layers = []
    for layer in range(cfg.num_layers):
        prefix = f"model.layers.{layer}."
        qkv = [prefix + f"self_attn.{proj}" for proj in ("q_proj", "k_proj", "v_proj")]
        input_norm = get(prefix + "input_layernorm.weight")
        qkv_weight = torch.cat([get(name + ".weight", 0) for name in qkv])
        qkv_bias = None
        if cfg.qkv_bias:
            qkv_bias = torch.cat([get(name + ".bias", 0) for name in qkv])
        layers.append(
            LayerWeights(
                input_norm=input_norm,
                qkv=qkv_weight,
                qkv_bias=qkv_bias,
                o_proj=get(prefix + "self_attn.o_proj.weight", 1),
                post_norm=get(prefix + "post_attention_layernorm.weight"),
                gate_up=torch.cat(
                    [
                        get(prefix + "mlp.gate_proj.weight", 0),
                        get(prefix + "mlp.up_proj.weight", 0),
                    ]
                ),
                down=get(prefix + "mlp.down_proj.weight", 1),
            )
        )
        for name in [name for name in ckpt if name.startswith(prefix)]:
            del ckpt[name]  # free host memory as we go
    embed = get("model.embed_tokens.weight", 0)
    lm_head = (
        embed
        if cfg.tie_word_embeddings or "lm_head.weight" not in ckpt
        else get("lm_head.weight", 0)
    )
    return ModelWeights(embed=embed, layers=layers, norm=get("model.norm.weight"), lm_head=lm_head)
