"""ModelRunner: a worker's whole state (weights, KV cache, last sampled tokens) and its step.

The controller decides what to compute; this runs it: block moves, forward, sampling. A step is launched
(queued on the device) and later collected (its tokens read back), so the next step can be launched while
the device still runs this one: a -1 token ("what you just sampled") is then filled in on the device."""

import os
import time
from collections import deque
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

import numpy as np
import torch

from swiftllm.config import EngineConfig, check_split, cpu_threads_per_worker
from swiftllm.model_config import ModelConfig, ModelError
from swiftllm.protocol.messages import CacheGeometry, refuse_bad_values
from swiftllm.protocol.step import LAST_TOKEN, StepCommand, StepResult
from swiftllm.worker.kv_cache import KVCache
from swiftllm.worker.metadata import AttentionMetadata, PendingTokens, to_device
from swiftllm.worker.model import LlamaModel
from swiftllm.worker.parallel import Arrival, Parallel, Pipeline, init_process_group
from swiftllm.worker.sampler import apply_penalties, sample
from swiftllm.worker.weights import load_weights

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
# token slots a cache may have: CUDA graphs stage each token's slot as int32 (graph_inputs.py), and a
# larger cache (a toy model on a large GPU) would wrap them negative, which stores no K/V at all
MAX_SLOTS = 2**31


@dataclass(frozen=True)
class WorkerConfig:
    """A worker process's configuration. The options it shares with the controller's EngineConfig (the
    flags of `swiftctl worker`) take their defaults from there: every default is stated once."""

    model: str  # path to an HF-style directory
    device: str = EngineConfig.device  # auto | cpu | cuda
    dtype: str = EngineConfig.dtype  # auto: see torch_dtype
    backend: str = "auto"  # auto: triton on cuda, torch on cpu
    load_format: str = EngineConfig.load_format  # auto | dummy
    rank: int = 0
    # every rank of the group: pipeline_size stages of world_size / pipeline_size tensor-parallel ranks
    world_size: int = 1
    pipeline_size: int = 1
    # tcp://HEAD:PORT, the torch.distributed rendezvous when world_size > 1; None there: torch's env://
    # (MASTER_ADDR / MASTER_PORT, as torchrun sets them). `swiftctl worker` asks for --dist-init instead
    dist_init: str | None = None
    # torch threads on CPU (default: the cores shared out, config.cpu_threads_per_worker)
    threads: int | None = EngineConfig.threads
    # KV budget when profiling on CPU, where free memory means little
    cpu_kv_memory_gb: float = EngineConfig.kv_cache_memory_gb
    # the fraction of the GPU's total memory this worker may use, weights and activations included
    gpu_memory_utilization: float = EngineConfig.gpu_memory_utilization
    cuda_graphs: bool = EngineConfig.cuda_graphs
    # the scheduler's limits, which profile keeps room for (activation_bytes)
    max_num_batched_tokens: int = EngineConfig.max_num_batched_tokens
    max_num_seqs: int = EngineConfig.max_num_seqs

    @property
    def torch_device(self) -> torch.device:
        kind = self.device
        if kind == "auto":
            kind = "cuda" if torch.cuda.is_available() else "cpu"
        if kind == "cuda":
            if not torch.cuda.is_available():
                raise ModelError(f"--device cuda: no CUDA device here (torch {torch.__version__})")
            # one GPU per rank on each host (ranks are numbered host by host)
            return torch.device(f"cuda:{self.rank % max(1, torch.cuda.device_count())}")
        return torch.device(kind)

    def torch_dtype(self, checkpoint_dtype: str = "bfloat16") -> torch.dtype:
        """auto: float32 on CPU; on CUDA the checkpoint's float16/bfloat16, else bfloat16."""
        if self.dtype == "auto":
            cuda_dtype = torch.float16 if checkpoint_dtype == "float16" else torch.bfloat16
            return cuda_dtype if self.torch_device.type == "cuda" else torch.float32
        if self.dtype not in DTYPES:
            raise ModelError(f"unsupported dtype {self.dtype!r}; choose from {', '.join(DTYPES)}")
        return DTYPES[self.dtype]


@dataclass
class LaunchedStep:
    """A step queued on the device; its result arrays are being copied to the host behind it."""

    seq_ids: np.ndarray  # the sequences it samples a token for
    finished: np.ndarray  # sequence ids whose last token is dropped once it is read back
    host_results: dict[str, torch.Tensor] = field(default_factory=dict)  # StepResult's fields
    done: torch.cuda.Event | None = None  # recorded behind the copies; None on CPU
    # GPU: recorded before the step's first op, and the step before's `done` if that one was still in
    # flight when this was launched: their distance is the device's idle time between the two steps
    begun: torch.cuda.Event | None = None
    previous_done: torch.cuda.Event | None = None
    # StepResult's fields on the device: a -1 of the next step may refer to `tokens` (sequence id -> row)
    device_results: dict[str, torch.Tensor] = field(default_factory=dict)
    rows: dict[int, int] = field(default_factory=dict)
    arrival: Arrival | None = None  # first pipeline stage: the receive that fills device `tokens`
    timings: dict[str, float] = field(default_factory=dict)
    # sequences refused for their sampling values (protocol.messages.refuse_bad_values): id -> why
    errors: dict[int, str] = field(default_factory=dict)
    result: StepResult | None = None  # set once read back

    def ready(self) -> bool:
        """Whether the device has run the step (reading it back will not wait)."""
        arrived = self.arrival is None or self.arrival.done  # the last pipeline stage's tokens
        return arrived and (self.done is None or self.done.query())

    def wait_for_device(self) -> None:
        if self.arrival is not None:
            self.arrival.wait()
        if self.done is not None:
            self.done.synchronize()


def timing_event() -> torch.cuda.Event:
    """A CUDA event that keeps its time, recorded now on the current stream."""
    event = torch.cuda.Event(enable_timing=True)
    event.record()
    return event


class ModelRunner:
    """One worker's model, cache and step. `launch` queues a step and `collect` returns its result; at most
    one step is left in flight behind a launch, and steps are read back in launch order."""

    def __init__(self, cfg: WorkerConfig) -> None:
        self.cfg = cfg
        self.device = cfg.torch_device
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        if self.device.type == "cpu":
            # one busy core beside torch's default pool makes a CPU step 10-30x slower
            torch.set_num_threads(cfg.threads or cpu_threads_per_worker(cfg.world_size))
        self.model_config = ModelConfig.from_dir(cfg.model)
        self.dtype = cfg.torch_dtype(self.model_config.torch_dtype)
        self.backend = cfg.backend
        if self.backend == "auto":
            self.backend = "triton" if self.device.type == "cuda" else "torch"
        # the ops of backend X are module backend_X, imported only when chosen (Triton only where kernels run)
        self.ops = import_module(f"swiftllm.worker.backend_{self.backend}")
        # checked before the rendezvous: a refusal needs no peers. That the stages divide the workers,
        # EngineConfig checks (swiftctl worker's flags, LocalWorkers' and LLM's options all pass through one)
        check_split(self.model_config, cfg.world_size, cfg.pipeline_size)
        self.pipeline = Pipeline.of_rank(
            cfg.rank, cfg.world_size, cfg.pipeline_size, self.model_config.num_layers
        )
        stage_group = None
        if cfg.world_size > 1:
            stage_group = init_process_group(
                cfg.rank, cfg.world_size, cfg.pipeline_size, cfg.dist_init, self.device
            )
        self.parallel = Parallel(self.pipeline.tp_rank, self.pipeline.tp_size, stage_group)
        self.weights = load_weights(
            Path(cfg.model),
            self.model_config,
            self.parallel,
            self.dtype,
            self.device,
            cfg.load_format,
            self.pipeline,
        )
        self.model: LlamaModel | None = None
        self.cache: KVCache | None = None
        self.geometry: CacheGeometry | None = None  # steps are validated against it; see init_cache
        self.last_tokens: dict[int, int] = {}  # sequence id -> its token of the steps read back
        self.in_flight: deque[LaunchedStep] = deque()
        self.graphs = None  # the backend's GraphRunner, if it has one and CUDA graphs are on

    def block_bytes(self, block_size: int) -> int:
        """Bytes of one KV block: K and V, every layer, this rank's heads."""
        kv_heads = self.parallel.kv_heads(self.model_config.num_kv_heads)
        per_layer = kv_heads * block_size * self.model_config.head_dim * self.dtype.itemsize
        return 2 * len(self.pipeline.layers) * per_layer

    def profile(self, block_size: int = 16) -> int:
        """How many KV blocks fit. On CUDA (vLLM's meaning of gpu_memory_utilization): this worker may use
        that fraction of the device's total memory; the cache gets it less the weights and activation_bytes,
        and never more than is free now (other processes keep theirs).
        A cache already allocated counts as free, with the CUDA graphs captured over it (GraphRunner.nbytes):
        init_cache replaces both, and a new controller (a second hello) profiles before it does."""
        per_block = self.block_bytes(block_size)
        if self.device.type != "cuda":
            return int(self.cfg.cpu_kv_memory_gb * 2**30) // per_block
        torch.cuda.empty_cache()
        free, total = torch.cuda.mem_get_info(self.device)
        held = self.cache.k.nbytes + self.cache.v.nbytes if self.cache is not None else 0
        if self.graphs is not None:
            held += self.graphs.nbytes
        # the weights, loaded by now; the old cache and graphs aside
        ours = torch.cuda.memory_reserved(self.device) - held
        activations = self.activation_bytes()
        budget = min(total * self.cfg.gpu_memory_utilization - ours, free + held) - activations
        return max(min(int(budget // per_block), MAX_SLOTS // block_size), 0)

    def activation_bytes(self) -> int:
        """The room profile keeps beside the cache, an upper bound: the largest eager step the scheduler's
        limits allow (max_num_batched_tokens tokens, max_num_seqs rows sampled with top-p and penalties),
        the CUDA graphs' pools, and 0.5 GiB for cuBLAS's workspaces and the allocator's gaps. The step's
        forward and its sampling both count: the caching allocator may keep the forward's blocks reserved
        while sampling reserves its own. Checked against the H200's measurements (bench/activation_memory.py)
        in tests/worker/test_model_runner.py; bench/activation_formula.py states each phase exactly."""
        # Triton's modules: profile asks for this on CUDA only (the backend's import_module above)
        from swiftllm.kernels.decode_attention import MAX_SPLITS
        from swiftllm.worker.cuda_graphs import BATCH_SIZES, TOKEN_SIZES

        m = self.model_config
        b = self.dtype.itemsize
        world = self.parallel.world_size
        # a forward's peak, at most: a middle layer's MLP (x, residual, gate_up [T, 2I] and its SiLU
        # product [T, I]) beside decode attention's float32 split partials at MAX_SPLITS for every row;
        # x1.5 since the caching allocator reserves 1.36-1.40x what a long step's forward holds (H200)
        per_token = 3 * b * (2 * m.hidden_size + 3 * m.intermediate_size // world) // 2
        per_row = 4 * m.num_heads // world * MAX_SPLITS * ((1 << (m.head_dim - 1).bit_length()) + 1)
        # and a row's sampling: ~40 bytes a logit beside the logits (the sort's, penalties' copies); the
        # hidden and residual rows kept alive through it fall within the forward's 1.5x
        room = self.cfg.max_num_batched_tokens * per_token + 2**29
        room += self.cfg.max_num_seqs * (per_row + (b + 40) * m.vocab_size)
        # as init_cache captures them: for a group of one worker (a pipeline stage's tensor-parallel
        # world is 1 too, but staged steps never replay graphs: its stages captured them for nothing)
        if self.cfg.cuda_graphs and self.cfg.world_size == 1:
            # the mixed graphs' pool, the decode graphs' pool and their logits: per decode row, two
            # rows' partials (one in each pool) and a row of logits
            graph_row = 2 * per_row + b * m.vocab_size
            room += (TOKEN_SIZES[-1] + BATCH_SIZES[-1]) * per_token + BATCH_SIZES[-1] * graph_row
        return room

    def init_cache(
        self, block_size: int, num_blocks: int, num_cpu_blocks: int, max_model_len: int
    ) -> None:
        model_config = self.model_config
        self.geometry = None  # a failed init leaves no cache to validate steps against
        if max_model_len > model_config.max_context:
            raise ModelError(
                f"max_model_len {max_model_len} exceeds the model's limit {model_config.max_context}"
            )
        if num_blocks * block_size > MAX_SLOTS:
            raise ModelError(f"a KV cache holds at most {MAX_SLOTS} token slots (2**31)")
        # free the old cache before allocating a new one: the old graphs hold it (and their memory pool) too
        self.cache = None
        self.graphs = None
        # in host memory: the swap space, and on a CPU the cache too
        host_blocks = num_cpu_blocks + (num_blocks if self.device.type == "cpu" else 0)
        need = host_blocks * self.block_bytes(block_size) / 2**30
        ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGESIZE") / 2**30
        # the kernel would kill us on first touch instead
        if need > ram:
            raise ModelError(f"{host_blocks} host-memory KV blocks: {need:.1f} GiB; RAM {ram:.1f}")
        self.cache = KVCache(
            len(self.pipeline.layers),
            self.parallel.kv_heads(model_config.num_kv_heads),
            model_config.head_dim,
            block_size,
            num_blocks,
            num_cpu_blocks,
            self.dtype,
            self.device,
        )
        self.model = LlamaModel(model_config, self.weights, self.ops, self.parallel, max_model_len)
        self.forget()
        if self.device.type == "cuda" and hasattr(self.ops, "compile_ahead"):
            self.ops.compile_ahead(self.cache.k[0], self.cache.v[0], self.model.heads)
        # graphs are captured for one worker only: collectives inside a capture are not tested yet, and
        # pipeline stages step through staged_results, which replays none
        use_graphs = self.cfg.cuda_graphs and self.cfg.world_size == 1
        if use_graphs and self.device.type == "cuda" and hasattr(self.ops, "GraphRunner"):
            self.graphs = self.ops.GraphRunner(self.model, self.cache, max_model_len)
        self.geometry = CacheGeometry(
            vocab_size=model_config.vocab_size,
            block_size=block_size,
            num_blocks=num_blocks,
            num_cpu_blocks=num_cpu_blocks,
            max_model_len=max_model_len,
            max_num_seqs=self.cfg.max_num_seqs,
            max_num_batched_tokens=self.cfg.max_num_batched_tokens,
        )

    def forget(self) -> None:
        """Drop every sampled token kept for -1 references (a new controller, or a failed step)."""
        while self.in_flight:
            self.read_back_oldest()
        self.last_tokens.clear()

    def resolve_tokens(self, cmd: StepCommand) -> tuple[np.ndarray, PendingTokens | None]:
        """The step's token ids with each -1 replaced: by the token read back for its sequence, or, if that
        token is still on the device (the step launched just before, in flight), by a placeholder that the
        returned PendingTokens overwrites there."""
        tokens = cmd.token_ids.copy()
        missing = np.nonzero(tokens == LAST_TOKEN)[0]
        owners = cmd.seq_ids[np.searchsorted(np.cumsum(cmd.query_lens), missing, side="right")]
        newest_rows = self.in_flight[-1].rows if self.in_flight else {}
        # the sequences the step in flight (launch leaves one at most) finished: its token is dropped when
        # that step is read back, so a -1 sent before that is an error as one sent after it is
        finished = set(self.in_flight[-1].finished.tolist()) if self.in_flight else set()
        pending_indices = []
        pending_rows = []  # rows of the newest launch's tokens
        for index, seq_id in zip(missing.tolist(), owners.tolist()):
            if seq_id in finished:
                raise ValueError(f"token -1 for sequence {seq_id}, which a step before finished")
            if seq_id in newest_rows:
                pending_indices.append(index)
                pending_rows.append(newest_rows[seq_id])
                tokens[index] = 0
            elif seq_id in self.last_tokens:
                tokens[index] = self.last_tokens[seq_id]
            else:
                raise ValueError(f"token -1 for sequence {seq_id} which has no sampled token")
        if not pending_indices:
            return tokens, None
        newest = self.in_flight[-1]
        if newest.arrival is not None:
            newest.arrival.wait()  # the last stage's tokens for the step just before
        return tokens, PendingTokens(
            indices=to_device(np.array(pending_indices), self.device),
            rows=to_device(np.array(pending_rows), self.device),
            sampled=newest.device_results["tokens"],
        )

    def step(self, cmd: StepCommand) -> StepResult:
        """Launch the step and wait for its result."""
        return self.collect(self.launch(cmd))

    @torch.inference_mode()
    def launch(self, cmd: StepCommand) -> LaunchedStep:
        """Queue the step on the device and return at once; `collect` waits for its result.

        The step must be valid (protocol.messages.validate_step: the server and InProcessWorker check it
        first). A sequence whose sampling values are out of range (protocol.messages.refuse_bad_values) is
        computed with neutral ones and named in the result's errors, so that the step still runs for the
        others. Its token -1s may refer to the step launched just before, not read
        back yet: steps older than that are read back first, and every one is when the step has penalties
        (they read the host's tokens)."""
        assert self.cache is not None and self.model is not None, "init_cache first"
        while len(self.in_flight) > 1 or (self.in_flight and len(cmd.penalty_tokens)):
            self.read_back_oldest()
        self.check_penalty_references(cmd)
        start = time.perf_counter()
        sampled = np.nonzero(cmd.sample)[0]
        step = LaunchedStep(cmd.seq_ids[sampled], cmd.finished)
        step.errors = refuse_bad_values(cmd, self.geometry)  # before anything reads the values
        if self.device.type == "cuda":
            step.begun = timing_event()
            if self.in_flight:
                step.previous_done = self.in_flight[-1].done
        self.cache.apply(cmd)
        if cmd.num_seqs:
            tokens, pending = self.resolve_tokens(cmd)
            if self.pipeline.num_stages > 1:
                results = self.staged_results(tokens, pending, cmd, sampled, step)
                forward_end = time.perf_counter()
            else:
                if self.graphs is not None and self.graphs.can_replay(cmd):
                    logits = self.graphs.replay(tokens, pending, cmd, sampled)
                else:
                    hidden, residual = self.eager_forward(tokens, pending, cmd)
                    logits = self.sampled_logits(hidden, residual, cmd, sampled)
                forward_end = time.perf_counter()
                results = self.sample_results(cmd, sampled, logits)
            step.device_results = results
            step.rows = dict(zip(step.seq_ids.tolist(), range(len(sampled))))
            pinned = self.device.type == "cuda"
            step.host_results = {
                name: torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=pinned).copy_(
                    tensor, non_blocking=pinned
                )
                for name, tensor in results.items()
            }
            step.timings = {
                "forward_ms": (forward_end - start) * 1e3,
                "sample_ms": (time.perf_counter() - forward_end) * 1e3,
            }
        if self.device.type == "cuda":
            step.done = timing_event()
        self.in_flight.append(step)
        return step

    def check_penalty_references(self, cmd: StepCommand) -> None:
        """Raise ValueError, before anything runs, if a -1 in penalty_tokens names a sequence with no
        sampled token here (all steps before a penalised one are read back, so last_tokens is complete)."""
        owners = np.repeat(cmd.seq_ids, cmd.penalty_lens)[cmd.penalty_tokens == LAST_TOKEN]
        if unknown := set(owners.tolist()) - self.last_tokens.keys():
            raise ValueError(f"penalty token -1 for sequences {sorted(unknown)}: no sampled token")

    def eager_forward(
        self, tokens: np.ndarray, pending: PendingTokens | None, cmd: StepCommand
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(hidden, residual) after this stage's layers, run op by op; a stage after the first starts from
        the previous stage's (hidden, residual) in place of the embedding."""
        pipe = self.pipeline
        ids = to_device(tokens, self.device)
        if pending is not None:
            pending.write_into(ids)
        meta = AttentionMetadata.build(
            cmd.query_lens, cmd.context_lens, cmd.block_table, self.cache.block_size, self.device
        )
        stage_input = None
        if not pipe.first:
            # the previous stage's hidden, then its residual, alike in shape (staged_results sends both)
            shape = (len(tokens), self.model_config.hidden_size)
            recv_args = (shape, self.dtype, self.device, pipe.stage - 1)
            stage_input = (pipe.recv(*recv_args), pipe.recv(*recv_args))
        return self.model.forward(ids, meta, self.cache.k, self.cache.v, stage_input)

    def sampled_logits(
        self, hidden: torch.Tensor, residual: torch.Tensor, cmd: StepCommand, sampled: np.ndarray
    ) -> torch.Tensor:
        """Logits [len(sampled), V] of the sampled sequences' last tokens, from eager_forward's output."""
        rows = to_device(np.cumsum(cmd.query_lens)[sampled] - 1, self.device)
        return self.model.logits(hidden[rows], residual[rows])

    def staged_results(
        self,
        tokens: np.ndarray,
        pending: PendingTokens | None,
        cmd: StepCommand,
        sampled: np.ndarray,
        step: LaunchedStep,
    ) -> dict[str, torch.Tensor]:
        """One pipeline stage's part of the step: the embedding (first stage) or the previous stage's
        (hidden, residual), this stage's layers, then the activations on to the next stage, or (last
        stage) sampling. The last stage sends the sampled tokens (int32) to the first, so that a -1 there
        still means "what you just sampled" (the first stage receives them into `step.arrival`); middle stages
        return zeros in their place."""
        pipe = self.pipeline
        hidden, residual = self.eager_forward(tokens, pending, cmd)
        if not pipe.last:
            pipe.send(hidden, pipe.stage + 1)
            pipe.send(residual, pipe.stage + 1)
            if pipe.first and len(sampled):
                # received behind our back: the next step's layers run meanwhile (see LaunchedStep.arrival)
                sampled_tokens = torch.empty(len(sampled), dtype=torch.int32, device=self.device)
                step.arrival = Arrival(sampled_tokens, pipe.rank_of(pipe.num_stages - 1))
                return {"tokens": sampled_tokens}
            return {"tokens": torch.zeros(len(sampled), dtype=torch.int32, device=self.device)}
        logits = self.sampled_logits(hidden, residual, cmd, sampled)
        results = self.sample_results(cmd, sampled, logits)
        if len(sampled):
            pipe.send(results["tokens"], 0)
        return results

    def collect(self, step: LaunchedStep) -> StepResult:
        """The launched step's result, once the device has run it; the steps launched before it are read back
        first (in launch order)."""
        while step.result is None:
            self.read_back_oldest()
        return step.result

    def read_back_oldest(self) -> None:
        """Wait for the oldest step in flight and keep its tokens for the -1s of later steps."""
        oldest = self.in_flight.popleft()
        start = time.perf_counter()
        oldest.wait_for_device()
        if oldest.arrival is not None:  # the tokens came after launch: copy them now
            oldest.host_results = {
                name: tensor.to("cpu", copy=True) for name, tensor in oldest.device_results.items()
            }
        if oldest.begun is not None:  # the device's time on the step, and idle before it
            oldest.timings["gpu_ms"] = oldest.begun.elapsed_time(oldest.done)
            if oldest.previous_done is not None:
                idle_ms = oldest.previous_done.elapsed_time(oldest.begun)
                oldest.timings["gpu_idle_ms"] = max(idle_ms, 0.0)
        host_arrays = {name: tensor.numpy() for name, tensor in oldest.host_results.items()}
        oldest.result = StepResult(
            oldest.seq_ids, **host_arrays, timings=oldest.timings, errors=oldest.errors
        )
        self.last_tokens.update(
            zip(oldest.seq_ids.tolist(), oldest.result.tokens.tolist(), strict=True)
        )
        for seq_id in oldest.finished.tolist():
            self.last_tokens.pop(seq_id, None)
        oldest.timings["wait_ms"] = (time.perf_counter() - start) * 1e3

    def sample_results(
        self, cmd: StepCommand, sampled: np.ndarray, logits: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """The step's result arrays, on the device: tokens, and logprobs if any row asked."""
        if len(cmd.penalty_tokens) and len(sampled):
            logits = self.penalized(cmd, sampled, logits)
        # the sampled rows' values, in sample's order (a row's position: its context length)
        columns = (cmd.temperature, cmd.top_p, cmd.top_k, cmd.seed, cmd.context_lens, cmd.min_p)
        tokens = sample(logits, *(column[sampled] for column in columns))
        results = {"tokens": tokens.int()}  # named and typed as StepResult's fields
        num_top = int(cmd.num_logprobs[sampled].max(initial=-1)) if len(cmd.num_logprobs) else -1
        if num_top >= 0:
            logprobs = logits.float().log_softmax(-1)
            results["logprobs"] = logprobs.gather(-1, tokens[:, None]).squeeze(-1)
            if num_top > 0:
                top_logprobs, top_ids = logprobs.topk(num_top, -1)
                results.update(top_logprobs=top_logprobs, top_ids=top_ids.int())
        return results

    def penalized(
        self, cmd: StepCommand, sampled: np.ndarray, logits: torch.Tensor
    ) -> torch.Tensor:
        """The sampled rows' logits after their repetition, presence and frequency penalties (float32)."""
        lens = cmd.penalty_lens
        picked = cmd.penalty_tokens[np.repeat(cmd.sample != 0, lens)]  # the sampled rows' tokens
        owners = np.repeat(cmd.seq_ids[sampled], lens[sampled])
        for index in np.nonzero(picked == LAST_TOKEN)[0]:  # a token not read back by the controller
            picked[index] = self.last_tokens[int(owners[index])]  # checked at launch
        return apply_penalties(
            logits.float(),
            cmd.presence_penalty[sampled],
            cmd.frequency_penalty[sampled],
            lens[sampled],
            picked,
            cmd.repetition_penalty[sampled],
        )
