"""The controller process's configuration: one frozen `EngineConfig`, every default stated once, here.

`swiftctl generate` / `swiftctl launch` build their flags from these fields (type, default, choices and help
text: swiftllm/launch/args.py), and `LLM(model, **options)` passes its keyword arguments straight to
`EngineConfig`, so a default or a check written here holds for all three. Values are checked when the
config is built, before any model loads. The scheduler gets what it needs, and the cache its size, through
`EngineConfig.scheduler_config`; the worker process has its own config (`WorkerConfig`,
swiftllm/worker/model_runner.py), whose options the launcher passes on as flags.

Plain data, no torch: the controller process imports this (and controller/scheduler.py, whose `SchedulerConfig`
it derives and whose policy it checks)."""

import math
import os
from dataclasses import dataclass, field, fields
from typing import Any

from swiftllm.controller.scheduler import SchedulerConfig, scheduler_class
from swiftllm.field_rules import NUMBER, Field
from swiftllm.model_config import ModelConfig, ModelError

DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "float32", "float16", "bfloat16")
LOAD_FORMATS = ("auto", "dummy")
# what a field's annotation asks of its value (a bool is no number; an int is a float here)
KINDS = {
    bool: Field((bool,), "True or False"),
    float: Field(NUMBER, "a number"),
    str: Field((str,), "a string"),
    str | None: Field((str, type(None)), "a string"),
}


def option(default: Any, doc: str, **extras: Any) -> Any:
    """A config field: its default, the help text of its flag, and extras: for the flag (`choices`, `flag`,
    `aliases`), for the check at construction (`choices` again; `minimum`: an integer at least this and
    below 2**64, or None where None is the default), and for the commands that take it (`server`: only
    `swiftctl launch`; `worker`: a worker process too, as a flag of `swiftctl worker`: launch/args.py)."""
    return field(default=default, metadata={"help": doc, **extras})


@dataclass(frozen=True)
class EngineConfig:
    """What a served (or in-process) engine is configured by. Frozen: derive a changed copy with
    `dataclasses.replace`, which checks the values again."""

    # the model and how the worker runs it
    model: str | None = option(
        None, "HF-style model directory (default: the embedded SmolLM2-135M-Instruct)", worker=True
    )
    device: str = option("auto", "auto: cuda if there is one", choices=DEVICES, worker=True)
    dtype: str = option(
        "auto",
        "auto: float32 on cpu; on cuda float16 for a float16 checkpoint, else bfloat16",
        choices=DTYPES,
        worker=True,
    )
    load_format: str = option(
        "auto", "dummy: random weights, no weight file is read", choices=LOAD_FORMATS, worker=True
    )
    cuda_graphs: bool = option(True, "replay steps from captured CUDA graphs", worker=True)
    threads: int | None = option(
        None,
        "torch threads of a CPU worker (default: max(1, (cores - 1) // workers))",
        minimum=1,
        worker=True,
    )
    seed: int | None = option(
        None, "seeds the per-request seeds of requests that set none (default: random)", minimum=0
    )
    tensor_parallel_size: int | None = option(
        None,
        "tensor-parallel ranks a pipeline stage (vLLM's meaning): tp x pp workers in all, where --workers "
        "counts them all",
        minimum=1,
    )
    pipeline_parallel_size: int = option(
        1,
        "pipeline stages: P stages of workers / P tensor-parallel ranks (alone: a worker a stage)",
        aliases=("--pp",),
        minimum=1,  # checked before the stages' split below (--pp 0 was "0 workers do not form 0 stages")
    )
    # the KV cache
    block_size: int = option(16, "tokens per KV cache block (a power of two)")
    num_gpu_blocks: int | None = option(None, "device KV blocks (default: profiled)", minimum=1)
    gpu_memory_utilization: float = option(
        0.9,
        "fraction of the GPU's total memory this worker may use for everything (weights, "
        "activations, graphs, KV cache); the KV cache gets what is left",
        worker=True,
    )
    kv_cache_memory_gb: float = option(1.0, "KV cache size in GiB when the worker is on CPU")
    swap_space_gb: float = option(
        4.0, "CPU swap space for preempted sequences, GiB", flag="--swap-space"
    )
    max_model_len: int | None = option(
        None,
        "longest sequence, prompt and output (default: what both model and cache allow)",
        minimum=2,
    )
    enable_prefix_caching: bool = option(
        True,
        "reuse the KV cache of prompt prefixes already computed (full blocks, LRU eviction)",
        flag="--prefix-caching",
        aliases=("--enable-prefix-caching",),
    )
    # the scheduler
    # 512: on the H200 the 1000-request set ran in 19.6 s at 512 and 1024, 23.1 s at 256 (bench/results/h200)
    max_num_seqs: int = option(512, "sequences running at once", minimum=1, worker=True)
    max_num_batched_tokens: int = option(
        2048, "tokens per step: decodes first, prefill chunks fill up", minimum=1, worker=True
    )
    # longest-first: bench/throughput.py on the H200 (docs/performance_log.md, "Offline throughput")
    schedule_policy: str = option(
        "fcfs",
        "fcfs: first come first served. longest-first: for batches whose max_tokens are their "
        "lengths (offline, or a benchmark's ignore_eos requests); while a backlog waits, starts the "
        "longest requests first and spreads the work evenly over their steps (higher throughput, "
        "later first tokens), longest first within an arrival group of a second, a later group behind "
        "an earlier one; without a backlog, as fcfs (controller/scheduler.py). paced: fcfs's order "
        "with longest-first's pacing of a backlog. module:Class: a subclass of "
        "swiftllm.controller.scheduler.Scheduler, imported from the module (on PYTHONPATH), that "
        "replaces the policy (docs/architecture.md)",
        aliases=("--scheduler-policy",),
    )
    # the controller's engine thread shares the GIL with the REST event loop (LLM: with the model's thread);
    # at Python's 0.005 s a step's tokens could wait that long for it. All 200 at once over HTTP on the H200:
    # the device waited 0.10-0.28 s a run for the host at 0.005 s, 0.02-0.08 s at 0.0005
    # (docs/performance_log.md, session 31)
    gil_switch_interval: float = option(
        0.0005, "seconds a thread holds the GIL while another waits (sys.setswitchinterval)"
    )
    # the tokenizer
    chat_template: str | None = option(None, "a Jinja chat template file, in place of the model's")
    # the server (`swiftctl launch`)
    # unset: tensor x pipeline parallel sizes, or one a --worker-addrs address, or one a pipeline stage
    workers: int | None = option(
        None, "worker processes (default: tp x pp, or one an address)", minimum=1, server=True
    )
    worker_addrs: str | None = option(
        None,
        "attach to workers started by hand (`swiftctl worker --bind ...`): their ZMQ addresses, "
        "comma separated, in rank order",
        server=True,
    )
    host: str = option("127.0.0.1", "address the REST server listens on", server=True)
    port: int = option(8000, "0 picks a free port (printed)", server=True)
    api_key: str | None = option(
        None,
        "require 'Authorization: Bearer KEY' on all but /health, /metrics, /version (default: $SWIFTLLM_API_KEY)",
        server=True,
    )
    health_timeout: float = option(60.0, "seconds without engine progress = unhealthy", server=True)
    served_model_name: str | None = option(
        None, "the model's name in the API (default: the model directory's name)", server=True
    )
    log_requests: bool = option(
        False, "log one line per HTTP request, /health probes too (an access log)", server=True
    )
    # a server's only: only a server listens (generate took the flag and did nothing, session 67)
    warm_up: bool = option(
        True, "GPU workers: fill one step with throwaway requests before listening", server=True
    )
    stats_interval: float = option(
        5.0, "seconds between the status lines logged while busy (0: none)", server=True
    )
    shutdown_timeout: float = option(
        10.0,
        "on SIGTERM/SIGINT, seconds running requests get to finish before they end in an error",
        server=True,
    )
    token_file: str | None = option(
        None,
        "with --worker-addrs: a file (mode 0600) holding the workers' session token "
        "(default: $SWIFTLLM_WORKER_TOKEN)",
        server=True,
    )

    def __post_init__(self) -> None:
        for config_field in fields(self):
            name = config_field.name
            value = getattr(self, name)
            # a field typed bool, float or str must hold one ("no" was True; None failed a comparison
            # with a TypeError naming no field); int fields are checked by `minimum`
            kind = KINDS.get(config_field.type)
            if kind is not None and not kind.is_kind(value):
                raise ValueError(f"{name} must be {kind.what}, not {value!r}")
            choices = config_field.metadata.get("choices")
            if choices is not None and value not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
            minimum = config_field.metadata.get("minimum")
            unset = value is None and config_field.default is None
            if minimum is not None and not unset and not _is_int_at_least(value, minimum):
                raise ValueError(f"{name} must be an integer in [{minimum}, 2**64)")
        checks = [
            (_is_power_of_two(self.block_size), "block_size must be a positive power of two"),
            # sizes in GiB become block counts: inf overflowed the int conversion in a traceback
            (
                0 <= self.swap_space_gb < math.inf,
                "swap_space_gb (--swap-space) must be finite and >= 0",
            ),
            # more than any machine has cores; 100,000 crashed libgomp at the worker's start
            (self.threads is None or self.threads <= 1024, "threads must be at most 1024"),
            (0 < self.kv_cache_memory_gb < math.inf, "kv_cache_memory_gb must be finite and > 0"),
            (  # --workers counts every worker: with --tensor-parallel-size, tp x pp (before, tp alone)
                self.tensor_parallel_size is None or self.workers in (None, self.world_size),
                f"--workers {self.workers} and --tensor-parallel-size {self.tensor_parallel_size} "
                f"x --pp {self.pipeline_parallel_size} disagree (give one)",
            ),
            (
                self.world_size % self.pipeline_parallel_size == 0,
                f"{self.world_size} workers do not form {self.pipeline_parallel_size} pipeline stages "
                "of equal size (--workers, or a worker's --world-size, counts every worker; "
                "--tensor-parallel-size, those a stage)",
            ),
            (
                self.worker_addrs is None
                or (self.worker_address_list and len(self.worker_address_list) == self.world_size),
                f"--worker-addrs names {len(self.worker_address_list)} workers (at least one), "
                f"the group has {self.world_size} (--workers)",
            ),
            (_is_int_at_least(self.port, 0) and self.port <= 65535, "port must be in [0, 65535]"),
            # a newline or other control character could never arrive in an Authorization header, and
            # HTTP strips the header's outer spaces: no client could send such a key
            (
                self.api_key is None
                or (
                    self.api_key != ""
                    and self.api_key.isprintable()
                    and self.api_key == self.api_key.strip()
                ),
                "api_key must be printable text, not empty, without outer spaces (leave it out to "
                "serve without a key)",
            ),
            # aiohttp takes "" as every interface: the server would be open where 127.0.0.1 was meant
            (self.host != "", "host must not be empty: to listen on every interface, give 0.0.0.0"),
            # an idle engine beats once a second: at 1 s or less /health flapped 200 / 503 (session 67)
            (self.health_timeout >= 2, "health_timeout must be >= 2 (seconds)"),
            # sys.setswitchinterval takes inf as 0
            (0 < self.gil_switch_interval < math.inf, "gil_switch_interval must be finite and > 0"),
            (0 < self.gpu_memory_utilization <= 1, "gpu_memory_utilization must be in (0, 1]"),
            (self.stats_interval >= 0, "stats_interval must be >= 0"),
            (self.shutdown_timeout >= 0, "shutdown_timeout must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        # a policy other than the built-in ones names a Scheduler subclass: imported now, so a bad one
        # fails before any model loads
        scheduler_class(self.schedule_policy)

    def scheduler_config(
        self, model: ModelConfig, num_gpu_blocks: int, block_bytes: int
    ) -> SchedulerConfig:
        """The cache to allocate and the step limits, given `num_gpu_blocks` device blocks (this config's
        if set, else what the worker profiled) of `block_bytes` each.

        The longest sequence defaults to what both the model and the cache allow; one that does not fit
        either raises ModelError. Swap gets `swap_space_gb` worth of blocks."""
        capacity = num_gpu_blocks * self.block_size
        max_model_len = self.max_model_len or min(model.max_context, capacity)
        if max_model_len > model.max_context:
            raise ModelError(
                f"max_model_len {max_model_len} exceeds the model's context of {model.max_context}"
            )
        if max_model_len > capacity or max_model_len < 2:
            raise ModelError(  # max_model_len is at least 2 where set; below it, the cache's capacity
                f"a context of {max(max_model_len, 2)} tokens does not fit the KV cache "
                f"({num_gpu_blocks} blocks of {self.block_size} = {capacity} tokens)"
            )
        return SchedulerConfig(
            max_model_len=max_model_len,
            num_gpu_blocks=num_gpu_blocks,
            num_cpu_blocks=int(self.swap_space_gb * 2**30) // block_bytes,
            block_size=self.block_size,
            max_num_seqs=self.max_num_seqs,
            max_num_batched_tokens=self.max_num_batched_tokens,
            enable_prefix_caching=self.enable_prefix_caching,
            pipeline_stages=self.pipeline_parallel_size,
            schedule_policy=self.schedule_policy,
        )

    @property
    def cpu_threads(self) -> int:
        """Torch threads per CPU worker: `threads`, else cpu_threads_per_worker's share."""
        return self.threads if self.threads is not None else cpu_threads_per_worker(self.world_size)

    @property
    def world_size(self) -> int:
        """Worker processes: --workers, or tensor x pipeline parallel sizes, or the addresses given;
        --pp alone, a worker a stage."""
        if self.tensor_parallel_size is not None:
            return self.tensor_parallel_size * self.pipeline_parallel_size
        if self.worker_addrs is not None and self.workers is None:
            return len(self.worker_address_list)
        return self.workers or self.pipeline_parallel_size

    @property
    def worker_address_list(self) -> list[str]:
        return [part.strip() for part in (self.worker_addrs or "").split(",") if part.strip()]


def cpu_threads_per_worker(workers: int) -> int:
    """The cores this process may run on, less one for the controller, shared among this host's workers
    (torch's default, every core per process, collapses when processes share a few cores). Not
    os.cpu_count(), which in a container or under taskset counts cores the process may not use; where the OS
    cannot say which (macOS), every core. EngineConfig's default for its workers, and a worker's own when
    started by hand."""
    cores = os.cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    return max(1, (cores - 1) // workers)


def check_split(model: ModelConfig, world_size: int, pipeline_size: int) -> None:
    """Raise ModelError, naming the numbers, if the model cannot run as `pipeline_size` stages of
    `world_size / pipeline_size` tensor-parallel ranks: a stage needs a layer; heads, intermediate size and
    vocabulary must divide by the ranks; KV heads must divide or be divided by them (fewer KV heads than
    ranks are replicated)."""
    if pipeline_size > model.num_layers:
        raise ModelError(
            f"{pipeline_size} pipeline stages need at least as many layers; the model has "
            f"{model.num_layers}"
        )
    ranks = world_size // pipeline_size  # tensor-parallel ranks a stage
    problems = []
    if model.num_heads % ranks:
        problems.append(f"{model.num_heads} attention heads")
    if model.num_kv_heads % ranks and ranks % model.num_kv_heads:
        problems.append(f"{model.num_kv_heads} KV heads (nor is {ranks} a multiple of them)")
    if model.intermediate_size % ranks:
        problems.append(f"an intermediate size of {model.intermediate_size}")
    if model.vocab_size % ranks:
        problems.append(f"a vocabulary of {model.vocab_size}")
    if problems:
        raise ModelError(
            f"the model does not split over {ranks} tensor-parallel workers: "
            f"{ranks} does not divide {', '.join(problems)}"
        )


def _is_int_at_least(value: object, minimum: int) -> bool:
    """Below 2**64 too: msgpack packs no larger integer, and a worker told --max-num-seqs 2**64 could
    not answer hello (its reply holds the limit)."""
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value < 2**64


def _is_power_of_two(value: object) -> bool:
    return _is_int_at_least(value, 1) and value & (value - 1) == 0
