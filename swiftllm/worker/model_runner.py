"""ModelRunner: a worker's whole state (weights, KV cache, last sampled tokens) and its step.

The controller decides what to compute; this runs it: block moves, forward, sampling.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from swiftllm.model_config import ModelConfig, ModelError
from swiftllm.protocol.step import LAST_TOKEN, StepCommand, StepResult, f32, i32
from swiftllm.worker import backend_torch
from swiftllm.worker.kv_cache import KVCache
from swiftllm.worker.metadata import AttentionMetadata
from swiftllm.worker.model import LlamaModel
from swiftllm.worker.parallel import Parallel
from swiftllm.worker.sampler import apply_penalties, sample
from swiftllm.worker.weights import load_weights

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class WorkerConfig:
    model: str  # path to an HF-style directory
    device: str = "auto"  # auto | cpu | cuda
    dtype: str = "auto"  # auto: bfloat16 on cuda, float32 on cpu
    backend: str = "auto"  # auto: triton on cuda, torch on cpu
    load_format: str = "auto"  # auto | dummy
    rank: int = 0
    world_size: int = 1
    cpu_kv_memory_gb: float = 1.0  # KV budget when profiling on CPU, where free memory means little
    gpu_memory_utilization: float = 0.9
    cuda_graphs: bool = True

    @property
    def torch_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device(f"cuda:{self.rank}" if torch.cuda.is_available() else "cpu")
        return torch.device(f"cuda:{self.rank}" if self.device == "cuda" else self.device)

    def torch_dtype(self, checkpoint_dtype: str = "bfloat16") -> torch.dtype:
        """auto: float32 on CPU; on CUDA the checkpoint's float16/bfloat16, else bfloat16."""
        if self.dtype == "auto":
            if self.torch_device.type != "cuda":
                return torch.float32
            return DTYPES[checkpoint_dtype] if checkpoint_dtype in ("float16", "bfloat16") else torch.bfloat16
        if self.dtype not in DTYPES:
            raise ModelError(f"unsupported dtype {self.dtype!r}; choose from {', '.join(DTYPES)}")
        return DTYPES[self.dtype]


class ModelRunner:
    def __init__(self, cfg: WorkerConfig) -> None:
        self.cfg = cfg
        self.device = cfg.torch_device
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        self.model_config = ModelConfig.from_dir(cfg.model)
        self.dtype = cfg.torch_dtype(self.model_config.torch_dtype)
        self.backend = cfg.backend if cfg.backend != "auto" else ("triton" if self.device.type == "cuda" else "torch")
        if self.backend == "triton":  # imports Triton: only where kernels run
            from swiftllm.worker import backend_triton as ops
        self.ops = ops if self.backend == "triton" else backend_torch
        self.par = Parallel(cfg.rank, cfg.world_size)
        self.weights = load_weights(Path(cfg.model), self.model_config, self.par, self.dtype, self.device,
                                    cfg.load_format)
        self.model: LlamaModel | None = None
        self.cache: KVCache | None = None
        self.last_tokens: dict[int, int] = {}
        self.graphs = None

    def block_bytes(self, block_size: int) -> int:
        mc = self.model_config  # K and V, every layer, this rank's heads
        kv_heads = mc.num_kv_heads // self.par.world_size
        return 2 * mc.num_layers * kv_heads * block_size * mc.head_dim * self.dtype.itemsize

    def profile(self, block_size: int = 16) -> int:
        """How many KV blocks fit: on CUDA the free memory after weights, less headroom for activations."""
        per_block = self.block_bytes(block_size)
        if self.device.type != "cuda":
            return int(self.cfg.cpu_kv_memory_gb * 2**30) // per_block
        torch.cuda.empty_cache()
        free, total = torch.cuda.mem_get_info(self.device)
        headroom = total * (1 - self.cfg.gpu_memory_utilization) + 2 * 2**30  # activations, graphs, logits
        return max(int((free - headroom) // per_block), 0)

    def init_cache(self, block_size: int, num_blocks: int, num_cpu_blocks: int, max_model_len: int) -> None:
        mc = self.model_config
        if max_model_len > mc.max_context:
            raise ModelError(f"max_model_len {max_model_len} exceeds the model's limit {mc.max_context}")
        self.cache = None  # free the old cache before allocating a new one
        need = num_blocks * self.block_bytes(block_size)
        ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGESIZE")
        if self.device.type == "cpu" and need > ram:  # the kernel would kill us on first touch instead
            raise ModelError(f"a KV cache of {num_blocks} blocks needs {need / 2**30:.1f} GiB; RAM: {ram / 2**30:.1f}")
        self.cache = KVCache(mc.num_layers, mc.num_kv_heads // self.par.world_size, mc.head_dim, block_size,
                             num_blocks, num_cpu_blocks, self.dtype, self.device)
        self.model = LlamaModel(mc, self.weights, self.ops, self.par, max_model_len)
        self.max_model_len = max_model_len
        self.last_tokens.clear()
        if self.cfg.cuda_graphs and self.device.type == "cuda" and hasattr(self.ops, "GraphRunner"):
            self.graphs = self.ops.GraphRunner(self, block_size, max_model_len)

    def resolve_tokens(self, cmd: StepCommand) -> np.ndarray:
        tokens = cmd.token_ids.copy()
        missing = np.nonzero(tokens == LAST_TOKEN)[0]
        if len(missing):
            owner = cmd.seq_ids[np.searchsorted(np.cumsum(cmd.query_lens), missing, side="right")]
            try:
                tokens[missing] = [self.last_tokens[s] for s in owner.tolist()]
            except KeyError as e:
                raise ValueError(f"token -1 for sequence {e.args[0]} which has no sampled token") from None
        return tokens

    @torch.inference_mode()
    def step(self, cmd: StepCommand) -> StepResult:
        assert self.cache is not None and self.model is not None, "init_cache first"
        t0 = time.perf_counter()
        self.cache.apply(cmd.swap_out, cmd.swap_in, cmd.copy)
        result = StepResult()
        if cmd.num_seqs:
            sampled = np.nonzero(cmd.sample)[0]
            if self.graphs is not None and self.graphs.can_run(cmd):
                logits = self.graphs.run(self.resolve_tokens(cmd), cmd, sampled)
            else:
                tokens = torch.from_numpy(self.resolve_tokens(cmd)).to(self.device, non_blocking=True)
                meta = AttentionMetadata.build(cmd.query_lens, cmd.context_lens, cmd.block_table,
                                               self.cache.block_size, self.device)
                rows = torch.from_numpy(np.cumsum(cmd.query_lens)[sampled] - 1).to(self.device)
                hidden, residual = self.model.forward(tokens, meta, self.cache.k, self.cache.v)
                logits = self.model.logits(hidden[rows], residual[rows])
            t1 = time.perf_counter()
            result = self.sample(cmd, sampled, logits)
            self.last_tokens.update(zip(result.seq_ids.tolist(), result.tokens.tolist(), strict=False))
            result.timings = {"forward_ms": (t1 - t0) * 1e3, "sample_ms": (time.perf_counter() - t1) * 1e3}
        for s in cmd.finished.tolist():
            self.last_tokens.pop(s, None)
        return result

    def sample(self, cmd: StepCommand, sampled: np.ndarray, logits: torch.Tensor) -> StepResult:
        if len(cmd.penalty_tokens) and len(sampled):
            lens = cmd.penalty_lens
            starts = np.concatenate(([0], np.cumsum(lens)))
            picked = np.concatenate([cmd.penalty_tokens[starts[i]:starts[i + 1]] for i in sampled])
            owner = np.repeat(cmd.seq_ids[sampled], lens[sampled])
            for j in np.nonzero(picked == LAST_TOKEN)[0]:  # a token the controller has not read back yet
                picked[j] = self.last_tokens.get(int(owner[j]), 0)
            logits = apply_penalties(logits, cmd.presence_penalty[sampled], cmd.frequency_penalty[sampled],
                                     lens[sampled], picked)
        tokens = sample(logits, cmd.temperature[sampled], cmd.top_p[sampled], cmd.top_k[sampled],
                        cmd.seed[sampled], cmd.context_lens[sampled])
        result = StepResult(seq_ids=cmd.seq_ids[sampled], tokens=i32(tokens.cpu()))
        n_top = int(cmd.num_logprobs[sampled].max(initial=-1)) if len(cmd.num_logprobs) else -1
        if n_top >= 0:
            logp = logits.log_softmax(-1)
            result.logprobs = f32(logp.gather(-1, tokens[:, None]).squeeze(-1).cpu())
            top = logp.topk(n_top, -1) if n_top > 0 else None
            if top is not None:
                result.top_ids, result.top_logprobs = i32(top.indices.cpu()), f32(top.values.cpu())
        return result
