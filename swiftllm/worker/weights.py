"""Checkpoint loading: HF names in, this rank's merged and sharded tensors out.

Supports safetensors (one file or sharded with an index), pytorch_model*.bin (weights_only), and
"dummy" random weights built from the config alone, for benchmarks at real shapes."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import safe_open

from swiftllm.model_config import ModelConfig, ModelError
from swiftllm.worker.parallel import Parallel, Pipeline


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
    """One rank's weights: its pipeline stage's layers; the embedding on the first stage (and the last when
    tied), the LM head on the last (None elsewhere)."""

    embed: torch.Tensor | None  # [V / ws, hidden] vocab-parallel
    layers: list[LayerWeights]
    norm: torch.Tensor
    lm_head: torch.Tensor | None  # the embedding itself when tied


class Checkpoint:
    """A checkpoint's tensors by name, read one at a time and only the rows or columns asked for: a
    safetensors slice reads just those bytes, so each tensor-parallel rank holds about 1/T of the weights."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # name -> a safetensors slice (of the file memory-mapped: indexing it reads just those bytes), a
        # tensor of a .bin file (memory-mapped), or a dummy weight
        self.tensors: dict[str, Any] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}  # every tensor's, read from the file headers
        files = sorted(path.glob("*.safetensors")) or sorted(path.glob("pytorch_model*.bin"))
        if not files:
            raise ModelError(f"no weights in {path} (expected *.safetensors or pytorch_model*.bin)")
        # Sharded checkpoints list their files in an index; reading every matching file gives the same set.
        try:  # a truncated download, a git-lfs pointer left in place: one line naming the file
            for file in files:
                safetensors = file.suffix == ".safetensors"
                if safetensors:  # the file stays open while a slice of it is kept
                    opened = safe_open(str(file), framework="pt")
                    loaded = {name: opened.get_slice(name) for name in opened.keys()}
                else:
                    loaded = torch.load(file, map_location="cpu", weights_only=True, mmap=True)
                for stored_name, tensor in loaded.items():
                    name = stored_name.removeprefix("language_model.")
                    self.tensors[name] = tensor
                    self.shapes[name] = tuple(tensor.get_shape() if safetensors else tensor.shape)
        except Exception as error:
            raise ModelError(f"cannot read {file}: {error}") from None

    def read(self, name: str, dim: int = 0, part: slice = slice(None)) -> torch.Tensor:
        """The named tensor, or only `part` of it along `dim` (0 or 1)."""
        if name not in self.tensors:
            raise ModelError(f"checkpoint in {self.path} lacks tensor {name!r}")
        return self.tensors[name][(slice(None),) * dim + (part,)]  # `part` along `dim`


class DummyCheckpoint(Checkpoint):
    """Random weights of the right shapes behind Checkpoint's reads, drawn where they will live (an 8B model
    in seconds on a GPU)."""

    def __init__(self, cfg: ModelConfig, device: torch.device, dtype: torch.dtype) -> None:
        gen = torch.Generator(device).manual_seed(0)
        self.path = Path("dummy")
        self.shapes = checkpoint_shapes(cfg)
        self.tensors = {}
        for name, shape in self.shapes.items():
            tensor = torch.empty(shape, device=device, dtype=dtype)
            if name.endswith("norm.weight"):
                self.tensors[name] = tensor.fill_(1.0)
            else:  # small values keep bf16 activations finite
                self.tensors[name] = tensor.uniform_(-0.02, 0.02, generator=gen)


def checkpoint_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor a checkpoint of this config holds, by HF name, at its whole (unsplit) shape."""
    hidden = cfg.hidden_size
    shapes = {"model.embed_tokens.weight": (cfg.vocab_size, hidden), "model.norm.weight": (hidden,)}
    if not cfg.tie_word_embeddings:
        shapes["lm_head.weight"] = (cfg.vocab_size, hidden)
    for layer in range(cfg.num_layers):
        prefix = f"model.layers.{layer}."
        projections = {
            "self_attn.q_proj": (cfg.q_size, hidden),
            "self_attn.k_proj": (cfg.kv_size, hidden),
            "self_attn.v_proj": (cfg.kv_size, hidden),
            "self_attn.o_proj": (hidden, cfg.q_size),
            "mlp.gate_proj": (cfg.intermediate_size, hidden),
            "mlp.up_proj": (cfg.intermediate_size, hidden),
            "mlp.down_proj": (hidden, cfg.intermediate_size),
        }
        shapes.update({prefix + name + ".weight": shape for name, shape in projections.items()})
        shapes[prefix + "input_layernorm.weight"] = (hidden,)
        shapes[prefix + "post_attention_layernorm.weight"] = (hidden,)
        if cfg.qkv_bias:
            for name in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"):
                shapes[prefix + name + ".bias"] = projections[name][:1]
    return shapes


def check_shapes(ckpt: Checkpoint, cfg: ModelConfig) -> None:
    """Raise ModelError, naming the tensor, where the checkpoint disagrees with config.json (before: torch's
    shape error at the first step, the server already up)."""
    for name, shape in checkpoint_shapes(cfg).items():
        # a missing tensor: Checkpoint.read names it
        if (stored := ckpt.shapes.get(name, shape)) != shape:
            raise ModelError(
                f"{name} in {ckpt.path} is {list(stored)}; config.json's sizes make it {list(shape)}"
            )


def load_weights(
    path: Path | None,
    cfg: ModelConfig,
    par: Parallel,
    dtype: torch.dtype,
    device: torch.device,
    load_format: str,
    pipe: Pipeline,
) -> ModelWeights:
    """This rank's weights: its tensor-parallel slices of its pipeline stage's layers (`load_format` "dummy":
    random ones of the same shapes). The split must divide the model (config.check_split: ModelRunner checks
    it before the rendezvous)."""
    # dummy: every rank draws the whole model from the same seed, then keeps its slices: ranks agree
    ckpt = DummyCheckpoint(cfg, device, dtype) if load_format == "dummy" else Checkpoint(Path(path))
    check_shapes(ckpt, cfg)

    def get(name: str, dim: int = 0, part: slice = slice(None)) -> torch.Tensor:
        """The named tensor, only `part` along `dim` (the whole of it at world size 1: check_shapes has
        matched each dim to the config's size that Parallel splits), on the device."""
        return ckpt.read(name, dim, part).to(device=device, dtype=dtype).contiguous()

    def stacked(parts: dict[str, slice], suffix: str = ".weight") -> torch.Tensor:
        """A merged projection: each named tensor's (name + suffix) rows parts[name], one above the next."""
        return torch.cat([get(name + suffix, 0, rows) for name, rows in parts.items()])

    q_rows = par.rows(cfg.q_size)
    kv_rows = par.kv_rows(cfg.num_kv_heads, cfg.head_dim)
    intermediate_rows = par.rows(cfg.intermediate_size)
    layers = []
    for layer in pipe.layers:
        prefix = f"model.layers.{layer}."
        attn = prefix + "self_attn."
        mlp = prefix + "mlp."
        qkv_parts = {attn + "q_proj": q_rows, attn + "k_proj": kv_rows, attn + "v_proj": kv_rows}
        gate_up_parts = {mlp + "gate_proj": intermediate_rows, mlp + "up_proj": intermediate_rows}
        layers.append(
            LayerWeights(
                input_norm=get(prefix + "input_layernorm.weight"),
                qkv=stacked(qkv_parts),
                qkv_bias=stacked(qkv_parts, ".bias") if cfg.qkv_bias else None,
                o_proj=get(attn + "o_proj.weight", 1, q_rows),
                post_norm=get(prefix + "post_attention_layernorm.weight"),
                gate_up=stacked(gate_up_parts),
                down=get(mlp + "down_proj.weight", 1, intermediate_rows),
            )
        )
        # drop the layer's checkpoint tensors: host memory freed as layers are loaded
        ckpt.tensors = {name: t for name, t in ckpt.tensors.items() if not name.startswith(prefix)}
    vocab_rows = par.rows(cfg.vocab_size)
    # untied but no lm_head.weight: refused (Checkpoint.read names it), not served with the embedding
    tied = cfg.tie_word_embeddings
    embed = None
    if pipe.first or (pipe.last and tied):
        embed = get("model.embed_tokens.weight", 0, vocab_rows)
    lm_head = None
    if pipe.last:
        lm_head = embed if tied else get("lm_head.weight", 0, vocab_rows)
    return ModelWeights(embed=embed, layers=layers, norm=get("model.norm.weight"), lm_head=lm_head)
