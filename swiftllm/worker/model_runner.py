"""ModelRunner: a worker's whole state (weights, KV cache, last sampled tokens) and its step.

The controller decides what to compute; this runs it: block moves, forward, sampling. A step is launched
(queued on the device) and later collected (its tokens read back), so the next step can be launched while
the device still runs this one: a -1 token ("what you just sampled") is then filled in on the device."""

import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

import numpy as np
import torch

from swiftllm.model_config import ModelConfig, ModelError
from swiftllm.protocol.step import LAST_TOKEN, StepCommand, StepResult
from swiftllm.worker import backend_torch
from swiftllm.worker.kv_cache import KVCache
from swiftllm.worker.metadata import AttentionMetadata, to_device
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
        kind = (
            self.device
            if self.device != "auto"
            else ("cuda" if torch.cuda.is_available() else "cpu")
        )
        return torch.device(f"cuda:{self.rank}" if kind == "cuda" else kind)

    def torch_dtype(self, checkpoint_dtype: str = "bfloat16") -> torch.dtype:
        """auto: float32 on CPU; on CUDA the checkpoint's float16/bfloat16, else bfloat16."""
        if self.dtype == "auto":
            cuda_dtype = torch.float16 if checkpoint_dtype == "float16" else torch.bfloat16
            return cuda_dtype if self.torch_device.type == "cuda" else torch.float32
        if self.dtype not in DTYPES:
            raise ModelError(f"unsupported dtype {self.dtype!r}; choose from {', '.join(DTYPES)}")
        return DTYPES[self.dtype]


@dataclass
class Launched:
    """A step queued on the device; its result arrays are being copied to the host behind it."""

    seq_ids: np.ndarray
    finished: np.ndarray
    host: dict[str, torch.Tensor] = field(default_factory=dict)
    done: torch.cuda.Event | None = None
    timings: dict[str, float] = field(default_factory=dict)
    result: StepResult | None = None

    def ready(self) -> bool:
        return self.done is None or self.done.query()


class ModelRunner:
    def __init__(self, cfg: WorkerConfig) -> None:
        self.cfg = cfg
        self.device = cfg.torch_device
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        self.model_config = ModelConfig.from_dir(cfg.model)
        self.dtype = cfg.torch_dtype(self.model_config.torch_dtype)
        self.backend = (
            cfg.backend
            if cfg.backend != "auto"
            else ("triton" if self.device.type == "cuda" else "torch")
        )
        # Triton is imported only where kernels run
        self.ops = (
            import_module("swiftllm.worker.backend_triton")
            if self.backend == "triton"
            else backend_torch
        )
        self.par = Parallel(cfg.rank, cfg.world_size)
        self.weights = load_weights(
            Path(cfg.model), self.model_config, self.par, self.dtype, self.device, cfg.load_format
        )
        self.model: LlamaModel | None = None
        self.cache: KVCache | None = None
        self.last_tokens: dict[int, int] = {}  # from steps collected
        self.newest: tuple[dict[int, int], torch.Tensor | None] = (
            {},
            None,
        )  # last launch: seq -> row, tokens
        self.in_flight: deque[Launched] = deque()
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
        headroom = (
            total * (1 - self.cfg.gpu_memory_utilization) + 2 * 2**30
        )  # activations, graphs, logits
        return max(int((free - headroom) // per_block), 0)

    def init_cache(
        self, block_size: int, num_blocks: int, num_cpu_blocks: int, max_model_len: int
    ) -> None:
        mc = self.model_config
        if max_model_len > mc.max_context:
            raise ModelError(
                f"max_model_len {max_model_len} exceeds the model's limit {mc.max_context}"
            )
        self.cache = None  # free the old cache before allocating a new one
        need, ram = (
            num_blocks * self.block_bytes(block_size),
            os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGESIZE"),
        )
        if (
            self.device.type == "cpu" and need > ram
        ):  # the kernel would kill us on first touch instead
            raise ModelError(
                f"a KV cache of {num_blocks} blocks needs {need / 2**30:.1f} GiB; RAM: {ram / 2**30:.1f}"
            )
        self.cache = KVCache(
            mc.num_layers,
            mc.num_kv_heads // self.par.world_size,
            mc.head_dim,
            block_size,
            num_blocks,
            num_cpu_blocks,
            self.dtype,
            self.device,
        )
        self.model = LlamaModel(mc, self.weights, self.ops, self.par, max_model_len)
        self.forget()
        if self.cfg.cuda_graphs and self.device.type == "cuda" and hasattr(self.ops, "GraphRunner"):
            self.graphs = self.ops.GraphRunner(self, block_size, max_model_len)

    def forget(self) -> None:
        """Drop every sampled token kept for -1 references (a new controller, or a failed step)."""
        while self.in_flight:
            self.collect(self.in_flight[-1])
        self.last_tokens.clear()
        self.newest = ({}, None)

    def resolve_tokens(
        self, cmd: StepCommand
    ) -> tuple[np.ndarray, Callable[[torch.Tensor], None] | None]:
        """The step's token ids, and what fills in on the device the -1s whose step is not collected yet."""
        tokens = cmd.token_ids.copy()
        missing = np.nonzero(tokens == LAST_TOKEN)[0]
        owner = cmd.seq_ids[np.searchsorted(np.cumsum(cmd.query_lens), missing, side="right")]
        rows, newest = self.newest
        pending = []  # (index in the step, row of the newest launch's tokens)
        for i, s in zip(missing.tolist(), owner.tolist()):
            if s in rows:  # a placeholder id on the host; fix() writes the real one on the device
                pending.append((i, rows[s]))
                tokens[i] = 0
            elif s in self.last_tokens:
                tokens[i] = self.last_tokens[s]
            else:
                raise ValueError(f"token -1 for sequence {s} which has no sampled token")
        if not pending:
            return tokens, None
        at_t, src_t = (to_device(np.array(a), self.device) for a in zip(*pending))

        def fix(ids: torch.Tensor) -> None:
            ids[at_t] = newest[src_t].to(ids.dtype)

        return tokens, fix

    def step(self, cmd: StepCommand) -> StepResult:
        return self.collect(self.launch(cmd))

    @torch.inference_mode()
    def launch(self, cmd: StepCommand) -> Launched:
        """Queue the step on the device; nothing here waits for it (collect does)."""
        assert self.cache is not None and self.model is not None, "init_cache first"
        while len(self.in_flight) > 1 or (self.in_flight and len(cmd.penalty_tokens)):
            self.collect(
                self.in_flight[0]
            )  # -1 may only refer to the newest launch; penalties read the host's
        t0 = time.perf_counter()
        self.cache.apply(cmd.swap_out, cmd.swap_in, cmd.copy)
        sampled = np.nonzero(cmd.sample)[0]
        step = Launched(cmd.seq_ids[sampled], cmd.finished)
        if cmd.num_seqs:
            tokens, fix = self.resolve_tokens(cmd)
            if self.graphs is not None and self.graphs.can_run(cmd):
                logits = self.graphs.run(tokens, fix, cmd, sampled)
            else:
                ids = to_device(tokens, self.device)
                if fix:
                    fix(ids)
                meta = AttentionMetadata.build(
                    cmd.query_lens,
                    cmd.context_lens,
                    cmd.block_table,
                    self.cache.block_size,
                    self.device,
                )
                rows = to_device(np.cumsum(cmd.query_lens)[sampled] - 1, self.device)
                hidden, residual = self.model.forward(ids, meta, self.cache.k, self.cache.v)
                logits = self.model.logits(hidden[rows], residual[rows])
            t1 = time.perf_counter()
            out = self.sample(cmd, sampled, logits)
            self.newest = (dict(zip(step.seq_ids.tolist(), range(len(sampled)))), out["tokens"])
            pin = self.device.type == "cuda"
            step.host = {
                k: torch.empty(v.shape, dtype=v.dtype, pin_memory=pin).copy_(v, non_blocking=pin)
                for k, v in out.items()
            }
            step.timings = {
                "forward_ms": (t1 - t0) * 1e3,
                "sample_ms": (time.perf_counter() - t1) * 1e3,
            }
        if self.device.type == "cuda":
            step.done = torch.cuda.current_stream().record_event()
        self.in_flight.append(step)
        return step

    def collect(self, step: Launched) -> StepResult:
        """The step's result, once the device has run it (steps are read back in launch order)."""
        while step.result is None:
            first, t0 = self.in_flight.popleft(), time.perf_counter()
            if first.done is not None:
                first.done.synchronize()
            first.result = StepResult(
                first.seq_ids,
                **{k: v.numpy() for k, v in first.host.items()},
                timings=first.timings,
            )
            self.last_tokens.update(
                zip(first.seq_ids.tolist(), first.result.tokens.tolist(), strict=True)
            )
            for s in first.finished.tolist():
                self.last_tokens.pop(s, None)
            first.timings["wait_ms"] = (time.perf_counter() - t0) * 1e3
        return step.result

    def sample(
        self, cmd: StepCommand, sampled: np.ndarray, logits: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """The step's result arrays, on the device: tokens, and logprobs if any row asked."""
        if len(cmd.penalty_tokens) and len(sampled):
            lens = cmd.penalty_lens
            picked = cmd.penalty_tokens[
                np.repeat(cmd.sample != 0, lens)
            ]  # the sampled rows' tokens
            owner = np.repeat(cmd.seq_ids[sampled], lens[sampled])
            for j in np.nonzero(picked == LAST_TOKEN)[
                0
            ]:  # a token the controller has not read back yet
                picked[j] = self.last_tokens.get(int(owner[j]), 0)
            logits = apply_penalties(
                logits.float(),
                cmd.presence_penalty[sampled],
                cmd.frequency_penalty[sampled],
                lens[sampled],
                picked,
            )
        tokens = sample(
            logits,
            cmd.temperature[sampled],
            cmd.top_p[sampled],
            cmd.top_k[sampled],
            cmd.seed[sampled],
            cmd.context_lens[sampled],
        )
        out = {"tokens": tokens.int()}  # named and typed as StepResult's fields
        n_top = int(cmd.num_logprobs[sampled].max(initial=-1)) if len(cmd.num_logprobs) else -1
        if n_top >= 0:
            logp = logits.float().log_softmax(-1)
            out["logprobs"] = logp.gather(-1, tokens[:, None]).squeeze(-1)
            if n_top > 0:
                out["top_logprobs"], top_ids = logp.topk(n_top, -1)
                out["top_ids"] = top_ids.int()
        return out
