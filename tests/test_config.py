"""EngineConfig: bad values fail at construction with a message naming the option."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from swiftllm.config import EngineConfig, check_split
from swiftllm.controller.scheduler import Scheduler, SchedulerConfig
from swiftllm.model_config import ModelConfig, ModelError

MODEL = ModelConfig.from_dict(
    {
        "vocab_size": 128,
        "hidden_size": 64,
        "intermediate_size": 96,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "max_position_embeddings": 1024,
    }
)


@pytest.mark.parametrize(
    "options,message",
    [
        (
            {"max_num_batched_tokens": 0},
            r"max_num_batched_tokens must be an integer in \[1, 2\*\*64\)",
        ),
        ({"max_num_batched_tokens": 1.5}, "max_num_batched_tokens"),
        ({"block_size": 12}, "block_size must be a positive power of two"),
        ({"block_size": 0}, "block_size"),
        ({"block_size": -16}, "block_size"),
        ({"max_num_seqs": 0}, r"max_num_seqs must be an integer in \[1, 2\*\*64\)"),
        ({"swap_space_gb": -1.0}, r"swap_space_gb \(--swap-space\) must be finite and >= 0"),
        ({"kv_cache_memory_gb": 0.0}, "kv_cache_memory_gb must be finite and > 0"),
        ({"max_model_len": 1}, r"max_model_len must be an integer in \[2, 2\*\*64\)"),
        ({"num_gpu_blocks": 0}, r"num_gpu_blocks must be an integer in \[1, 2\*\*64\)"),
        ({"workers": 0}, r"workers must be an integer in \[1, 2\*\*64\)"),
        ({"port": 70000}, "port must be in"),
        ({"health_timeout": 0.0}, "health_timeout must be >= 2"),
        ({"health_timeout": 1.0}, "health_timeout must be >= 2"),
        ({"gil_switch_interval": 0.0}, "gil_switch_interval must be finite and > 0"),
        ({"device": "tpu"}, "device must be one of auto, cpu, cuda, not 'tpu'"),
        ({"dtype": "int8"}, "dtype must be one of"),
        ({"load_format": "pt"}, "load_format must be one of auto, dummy"),
        # session 41's fuzzing: an empty key served without one; no address divided by zero
        ({"api_key": ""}, "api_key must be printable text, not empty"),
        ({"api_key": "key\n"}, "api_key must be printable"),  # no client could send it
        ({"api_key": " key "}, "without outer spaces"),  # HTTP strips them: no client could either
        # session 45's probe: inf became an OverflowError's traceback, or (GIL) a 0 s interval
        ({"kv_cache_memory_gb": math.inf}, "kv_cache_memory_gb must be finite and > 0"),
        ({"swap_space_gb": math.inf}, r"swap_space_gb \(--swap-space\) must be finite and >= 0"),
        ({"gil_switch_interval": math.inf}, "gil_switch_interval must be finite and > 0"),
        ({"max_num_seqs": 2**64}, "max_num_seqs must be an integer in"),  # hello could not pack it
        ({"host": ""}, "host must not be empty"),  # session 44's probe: it listened everywhere
        ({"cuda_graphs": "no"}, "cuda_graphs must be True or False, not 'no'"),  # "no" was True
        ({"enable_prefix_caching": 0}, "enable_prefix_caching must be True or False"),
        # a number or string of the wrong type: a TypeError that named no field (session 45)
        ({"gpu_memory_utilization": None}, "gpu_memory_utilization must be a number, not None"),
        ({"health_timeout": "60"}, "health_timeout must be a number, not '60'"),
        ({"swap_space_gb": True}, "swap_space_gb must be a number"),
        ({"host": 0}, "host must be a string, not 0"),
        ({"api_key": 1234}, "api_key must be a string"),
        ({"model": 7}, "model must be a string"),
        ({"worker_addrs": ""}, r"--worker-addrs names 0 workers \(at least one\)"),
        ({"worker_addrs": " , ,"}, r"--worker-addrs names 0 workers \(at least one\)"),
    ],
)
def test_bad_values_fail_at_construction(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EngineConfig(**options)
    with pytest.raises(ValueError, match=message):  # a changed copy is checked again
        dataclasses.replace(EngineConfig(), **options)


def test_defaults_are_valid_and_frozen() -> None:
    config = EngineConfig()
    assert (config.block_size, config.max_num_seqs, config.max_num_batched_tokens) == (
        16,
        512,
        2048,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.block_size = 32  # type: ignore[misc]


@pytest.mark.parametrize(
    "policy,message",
    [
        ("shortest-first", "invalid format"),  # neither built in nor module:Class
        ("nosuch.module:Policy", "No module named 'nosuch'"),
        ("swiftllm.controller.scheduler:Nope", "has no attribute 'Nope'"),
        (":Policy", "invalid format"),
        ("swiftllm.controller.scheduler", "is not a subclass of Scheduler"),  # a module, no class
        ("swiftllm.controller.scheduler:Batch", "is not a subclass of Scheduler"),
        ("os:sep", "is not a subclass of Scheduler"),  # not a class at all
    ],
)
def test_schedule_policy_is_checked_when_the_config_is_built(policy: str, message: str) -> None:
    """A policy is built in or names a Scheduler subclass that imports; found out before any model loads."""
    with pytest.raises(ValueError) as refused:
        EngineConfig(schedule_policy=policy)
    assert message in str(refused.value)

    assert f"schedule_policy {policy!r}" in str(refused.value)
    policy = "swiftllm.controller.scheduler:Scheduler"  # a class that subclasses Scheduler: itself
    assert EngineConfig(schedule_policy=policy).schedule_policy == policy


@pytest.mark.parametrize(
    "source,message",
    [
        ("class P(Scheduler)\n", "expected ':'"),  # a SyntaxError: a traceback before
        ("raise RuntimeError('no GPU here')\n", "no GPU here"),  # one line, no policy named
        ("1 / 0\n", "division by zero"),  # a traceback before
        ("import nosuch_dependency\n", "No module named 'nosuch_dependency'"),
    ],
)
def test_a_policy_module_that_fails_to_import_is_refused_naming_the_policy(
    source: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever importing the policy's module raises, the config refuses it with one ValueError that
    names the policy and says why (session 60's catch let a SyntaxError or a module's own exception
    through: a traceback from swiftctl, or the module's message with no policy named)."""
    (tmp_path / "broken_policy.py").write_text(
        "from swiftllm.controller.scheduler import Scheduler\n" + source
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError) as refused:
        EngineConfig(schedule_policy="broken_policy:P")
    assert "schedule_policy 'broken_policy:P': no such policy or module:Class" in str(refused.value)
    assert message in str(refused.value)


class NeedsAThreshold(Scheduler):
    """A policy whose __init__ wants more than the SchedulerConfig the engine builds it with."""

    def __init__(self, cfg: SchedulerConfig, threshold: int) -> None:
        super().__init__(cfg)
        self.threshold = threshold


class TakesNothing(Scheduler):
    """A policy whose __init__ takes no config at all."""

    def __init__(self) -> None:
        pass


class KeywordsWithDefaults(Scheduler):
    """A policy whose extra arguments have defaults: built as Class(config), it is accepted."""

    def __init__(self, cfg: SchedulerConfig, threshold: int = 3, **options: object) -> None:
        super().__init__(cfg)
        self.threshold = threshold


@pytest.mark.parametrize(
    "name,message",
    [
        ("NeedsAThreshold", "missing a required argument: 'threshold'"),
        ("TakesNothing", "too many positional arguments"),
    ],
)
def test_a_policy_that_cannot_be_built_from_the_config_is_refused_before_any_model_loads(
    name: str, message: str
) -> None:
    """The engine builds a policy as Class(scheduler_config): another __init__ signature is refused when the
    config is built, naming the policy (session 60 let it through: a TypeError traceback once the workers had
    loaded the model)."""
    policy = f"{__name__}:{name}"
    with pytest.raises(ValueError) as refused:
        EngineConfig(schedule_policy=policy)
    assert f"schedule_policy {policy!r} is not built as Class(config)" in str(refused.value)
    assert message in str(refused.value)
    policy = f"{__name__}:KeywordsWithDefaults"
    assert EngineConfig(schedule_policy=policy).schedule_policy == policy


def test_cpu_threads_leave_a_core_to_the_controller(monkeypatch: pytest.MonkeyPatch) -> None:
    # the cores this process may run on count (a container or taskset), not the machine's
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(9)))
    assert EngineConfig().cpu_threads == 8
    assert EngineConfig(workers=3).cpu_threads == 2
    assert EngineConfig(threads=5).cpu_threads == 5
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0})
    assert EngineConfig().cpu_threads == 1
    monkeypatch.delattr("os.sched_getaffinity")  # macOS has no affinity: every core counts
    assert EngineConfig(workers=3).cpu_threads == 21
    for options in ({"threads": 0}, {"gpu_memory_utilization": 1.5}, {"seed": -1}):
        with pytest.raises(ValueError, match=next(iter(options))):
            EngineConfig(**options)


def test_the_group_size_comes_from_either_spelling_or_the_addresses() -> None:
    assert EngineConfig().world_size == 1
    assert EngineConfig(workers=4).world_size == 4
    assert EngineConfig(tensor_parallel_size=3).world_size == 3
    assert EngineConfig(worker_addrs="tcp://a:1, tcp://b:2").world_size == 2
    # pipeline stages alone, a worker each (session 47's probe: "1 workers do not form 2 stages")
    assert EngineConfig(pipeline_parallel_size=2).world_size == 2
    for workers in (
        1,
        2,
    ):  # --workers given counts every worker (a worker process passes its world)
        with pytest.raises(ValueError, match=f"{workers} workers do not form 4 pipeline stages"):
            EngineConfig(workers=workers, pipeline_parallel_size=4)
    with pytest.raises(ValueError, match="--workers 1 and --tensor-parallel-size 2 x --pp 1"):
        EngineConfig(workers=1, tensor_parallel_size=2)
    with pytest.raises(
        ValueError, match=r"--worker-addrs names 2 workers \(at least one\), the group has 1"
    ):
        EngineConfig(workers=1, worker_addrs="tcp://a:1,tcp://b:2")
    with pytest.raises(
        ValueError, match="--workers 2 and --tensor-parallel-size 4 x --pp 1 disagree"
    ):
        EngineConfig(workers=2, tensor_parallel_size=4)
    # --workers counts every worker (session 41: 2 with tp 2 x pp 2 started 4, and 4 was refused)
    with pytest.raises(ValueError, match="--workers 2 and --tensor-parallel-size 2 x --pp 2"):
        EngineConfig(workers=2, tensor_parallel_size=2, pipeline_parallel_size=2)
    # session 57's probe: --pp 0 was "0 workers do not form 0 pipeline stages of equal size"
    for stages in (0, -1, True):
        with pytest.raises(ValueError, match=r"pipeline_parallel_size must be an integer in \[1,"):
            EngineConfig(pipeline_parallel_size=stages)
    both = EngineConfig(workers=4, tensor_parallel_size=2, pipeline_parallel_size=2)
    assert both.world_size == 4
    with pytest.raises(
        ValueError, match=r"--worker-addrs names 3 workers \(at least one\), the group has 2"
    ):
        EngineConfig(workers=2, worker_addrs="a,b,c")
    with pytest.raises(ValueError, match="threads must be"):
        EngineConfig(threads=0)


def test_a_split_names_every_number_that_does_not_divide() -> None:
    check_split(MODEL, 2, 1)  # 4 heads, 4 KV heads, 96, 128: all divide
    check_split(dataclasses.replace(MODEL, num_kv_heads=1), 4, 1)  # one KV head, replicated
    with pytest.raises(ModelError) as refused:
        check_split(MODEL, 3, 1)
    message = str(refused.value)
    assert "does not split over 3 tensor-parallel workers: 3 does not divide 4 attention" in message
    assert "4 attention heads" in message
    assert "4 KV heads" in message
    assert "a vocabulary of 128" in message
    assert "intermediate" not in message  # 96 divides by 3


def test_scheduler_config_sizes_the_cache() -> None:
    config = EngineConfig(swap_space_gb=1.0)
    # the longest sequence defaults to what both MODEL (a context of 1024) and the cache (10 blocks of 16)
    # allow; a GiB of
    # swap is 1024 blocks of a MiB
    small = config.scheduler_config(MODEL, 10, 2**20)
    assert (small.num_gpu_blocks, small.num_cpu_blocks, small.max_model_len) == (10, 1024, 160)
    assert config.scheduler_config(MODEL, 1000, 2**20).max_model_len == 1024
    short = EngineConfig(max_model_len=100)
    assert short.scheduler_config(MODEL, 10, 2**20).max_model_len == 100
    with pytest.raises(ModelError, match="exceeds the model's context of 1024"):
        EngineConfig(max_model_len=2048).scheduler_config(MODEL, 1000, 2**20)
    with pytest.raises(ModelError, match="does not fit the KV cache"):
        EngineConfig(max_model_len=512).scheduler_config(MODEL, 10, 2**20)
    # a cache of no blocks (or one of a token) was "a context of 0 tokens" (docs/reliability_log.md, session 49)
    for blocks in (0, 1):
        with pytest.raises(
            ModelError, match=f"a context of 2 tokens does not fit the KV cache \\({blocks} "
        ):
            EngineConfig(block_size=1).scheduler_config(MODEL, blocks, 2**20)


def test_scheduler_config_takes_the_step_limits() -> None:
    config = EngineConfig(
        block_size=32,
        max_num_seqs=8,
        max_num_batched_tokens=100,
        schedule_policy="longest-first",
        max_model_len=400,
        swap_space_gb=7 / 1024,
    )
    scheduler = config.scheduler_config(MODEL, 50, 2**20)
    assert scheduler == SchedulerConfig(
        max_model_len=400,
        num_gpu_blocks=50,
        num_cpu_blocks=7,
        block_size=32,
        max_num_seqs=8,
        max_num_batched_tokens=100,
        enable_prefix_caching=True,
        pipeline_stages=1,
        schedule_policy="longest-first",
    )


def test_more_pipeline_stages_than_layers_are_refused() -> None:
    """Each pipeline stage needs a layer: 3 stages of a 2-layer model are refused, naming both numbers."""
    check_split(MODEL, 2, 2)
    with pytest.raises(
        ModelError, match="3 pipeline stages need at least as many layers; the model has 2"
    ):
        check_split(MODEL, 3, 3)


def test_an_intermediate_size_that_does_not_divide_is_named() -> None:
    """An intermediate size of 97 does not split over 2 ranks: it is the one number named."""
    model = dataclasses.replace(MODEL, intermediate_size=97)
    with pytest.raises(ModelError, match="2 does not divide an intermediate size of 97$"):
        check_split(model, 2, 1)
