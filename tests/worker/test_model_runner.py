"""ModelRunner: a cache larger than the machine's free memory is refused up front, and nothing is lost."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import queue
import time
import weakref
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from conftest import make_step, runner_for, save_tiny_model

from swiftllm.model_config import ModelConfig, ModelError
from swiftllm.worker import model_runner
from swiftllm.worker.model_runner import WorkerConfig


def test_a_cache_that_cannot_fit_in_memory_is_an_error_not_a_crash(tiny_model_dir: Path) -> None:
    runner = runner_for(tiny_model_dir)
    with pytest.raises(ModelError, match="GiB"):
        runner.init_cache(16, 10**8, 0, 256)
    # the swap space counts too (session 41's fuzzing: it was allocated, and a swap would have
    # touched memory the machine does not have)
    ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGESIZE")
    with pytest.raises(ModelError, match="GiB"):
        runner.init_cache(16, 8, ram // runner.block_bytes(16), 256)
    runner.init_cache(16, 8, 0, 256)  # still usable afterwards
    assert len(runner.step(make_step([0], [[1, 2, 3]], [3], [[0]])).tokens) == 1


def test_a_cache_of_more_token_slots_than_int32_holds_is_refused(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CUDA graphs stage slots as int32: past 2**31 slots they would wrap negative and store nothing. profile
    offers no more (here a device with endless memory is stood in for) and init_cache refuses more."""
    runner = runner_for(tiny_model_dir)
    with pytest.raises(ModelError, match="token slots"):
        runner.init_cache(16, 2**27 + 1, 0, 256)
    with pytest.raises(ModelError, match="token slots"):
        runner.init_cache(1, 2**31 + 1, 0, 256)
    runner.device = torch.device("cuda")
    runner.cache = None
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (2**60, 2**60))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda device: 0)
    assert runner.profile(16) == 2**27
    assert runner.profile(1) == 2**31


def test_a_new_cache_is_allocated_after_the_old_one_and_its_graphs_are_released(
    tiny_model_dir: Path,
) -> None:
    """A second init_cache (a new controller) must not hold two caches at once: on a GPU the old CUDA graphs
    keep the old cache alive. Stood in for on the CPU by an object that holds it as a GraphRunner does."""

    class GraphsHoldingTheCache:
        def __init__(self, cache: object) -> None:
            self.cache = cache

    runner = runner_for(tiny_model_dir)
    old = weakref.ref(runner.cache)
    runner.graphs = GraphsHoldingTheCache(runner.cache)
    freed_before_allocating = []
    make_cache = model_runner.KVCache

    def cache_after_the_old_is_gone(*args: object) -> object:
        freed_before_allocating.append(old() is None)
        return make_cache(*args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(model_runner, "KVCache", cache_after_the_old_is_gone)
        runner.init_cache(16, 8, 0, 256)
    assert freed_before_allocating == [True]
    assert runner.graphs is None  # no CUDA graphs on the CPU
    assert len(runner.step(make_step([0], [[1, 2, 3]], [3], [[0]])).tokens) == 1


def test_profile_offers_a_new_controller_the_room_of_the_cache_it_would_replace(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a GPU the first controller's cache and CUDA graphs are reserved memory and not free; profile must
    count them as the room init_cache will reuse. The device's accounting is stood in for: 100 GiB, 10 GiB
    of weights, 3 GiB of graphs."""
    gib = 2**30
    runner = runner_for(tiny_model_dir)
    runner.device = torch.device("cuda")
    held = runner.cache.k.nbytes + runner.cache.v.nbytes
    reserved = {"bytes": 10 * gib}
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    monkeypatch.setattr(
        torch.cuda, "mem_get_info", lambda device: (100 * gib - reserved["bytes"], 100 * gib)
    )
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda device: reserved["bytes"])
    cache = runner.cache
    runner.cache = None
    first = runner.profile(16)  # a first controller: no cache yet
    runner.cache = cache
    reserved["bytes"] += held
    assert first > 0
    assert runner.profile(16) == first
    runner.graphs = SimpleNamespace(nbytes=3 * gib)  # what GraphRunner measured its capture to hold
    reserved["bytes"] += 3 * gib
    assert runner.profile(16) == first


def decode_chain(runner: object, launch_ahead: int, n: int = 6) -> list[list[int]]:
    """Two sequences decode n steps by -1 references, with `launch_ahead` steps launched beyond the oldest
    one not collected (0: each step collected before the next is launched); returns each step's tokens."""
    steps = [make_step([1, 2], [[5, 9, 2, 7], [3, 3, 8]], [4, 3], [[0], [1]])]
    steps += [make_step([1, 2], [[-1], [-1]], [5 + i, 4 + i], [[0], [1]]) for i in range(n)]
    launched, out = [], []
    for cmd in steps:
        launched.append(runner.launch(cmd))
        if len(launched) > launch_ahead:
            out.append(runner.collect(launched.pop(0)).tokens.tolist())
    return out + [runner.collect(x).tokens.tolist() for x in launched]


def test_steps_launched_ahead_of_collection_decode_the_same_tokens(tiny_model_dir: Path) -> None:
    one_by_one = decode_chain(runner_for(tiny_model_dir), launch_ahead=0)
    assert decode_chain(runner_for(tiny_model_dir), launch_ahead=1) == one_by_one
    # the runner collects for us
    assert decode_chain(runner_for(tiny_model_dir), launch_ahead=3) == one_by_one
    assert len({tuple(t) for t in one_by_one}) > 1  # the chain really moves


def test_forget_drops_the_tokens_of_steps_not_collected(tiny_model_dir: Path) -> None:
    runner = runner_for(tiny_model_dir)
    runner.launch(make_step([1], [[5, 6]], [2], [[0]]))
    runner.forget()
    with pytest.raises(ValueError, match="no sampled token"):
        runner.launch(make_step([1], [[-1]], [3], [[0]]))


def test_a_cpu_worker_takes_its_share_of_the_cores_unless_given_threads(
    tiny_model_dir: Path,
) -> None:
    before = torch.get_num_threads()
    try:
        runner_for(tiny_model_dir, threads=5)
        assert torch.get_num_threads() == 5
        runner_for(tiny_model_dir)
        assert torch.get_num_threads() == max(1, len(os.sched_getaffinity(0)) - 1)
    finally:
        torch.set_num_threads(before)  # the other tests run with their own


def test_device_cuda_without_a_cuda_device_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--device cuda` where torch sees no GPU: a ModelError naming the flag (swiftctl prints it as one line),
    not torch's AttributeError from deep inside `torch.cuda` (found by session 38's docs audit)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    config = model_runner.WorkerConfig(model="unused", device="cuda")
    with pytest.raises(ModelError, match="--device cuda: no CUDA device"):
        print(config.torch_device)


def test_a_dtype_torch_has_no_kernels_for_here_is_a_one_line_error(tiny_model_dir: Path) -> None:
    """A WorkerConfig built in Python is not checked by EngineConfig's choices: its dtype is checked when
    the runner resolves it."""
    config = WorkerConfig(model=str(tiny_model_dir), device="cpu", dtype="float64")
    why = "^unsupported dtype 'float64'; choose from float32, float16, bfloat16$"
    with pytest.raises(ModelError, match=why):
        model_runner.ModelRunner(config)


BENCH = Path(__file__).resolve().parents[2] / "bench"
# bench/activation_memory.py on the H200 (session 39): eager steps of the Llama-3-8B shape, bf16
H200_MEMORY = BENCH / "results/h200/activation_memory_s39_3cc7228.json"


def llama3_8b() -> ModelConfig:
    spec = importlib.util.spec_from_file_location("bench_shapes", BENCH / "shapes.py")
    shapes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shapes)
    return ModelConfig.from_dict(shapes.LLAMA3_8B)


def activation_bytes(tokens: int, rows: int, cuda_graphs: bool, stages: int = 1) -> int:
    """ModelRunner.activation_bytes at the Llama-3-8B shape in bfloat16, without a runner: one worker, or
    a stage of a pipeline of `stages` workers (its tensor-parallel world is 1 either way)."""
    config = WorkerConfig(
        "m",
        cuda_graphs=cuda_graphs,
        max_num_batched_tokens=tokens,
        max_num_seqs=rows,
        world_size=stages,
        pipeline_size=stages,
    )
    runner = SimpleNamespace(
        model_config=llama3_8b(),
        dtype=torch.bfloat16,
        parallel=SimpleNamespace(world_size=1),
        cfg=config,
    )
    return model_runner.ModelRunner.activation_bytes(runner)


def test_the_activation_room_covers_every_step_and_the_graphs_measured_on_the_h200() -> None:
    """profile keeps activation_bytes beside the cache. For the limits of every eager step
    bench/activation_memory.py ran on the H200 (2,048-65,536 tokens, 1-512 rows, greedy and top-p), the
    room without graphs must cover the most any of those steps reserved above what was reserved before it,
    plus cuBLAS's lasting workspaces; the graphs' share must cover what GraphRunner held at max_model_len
    131,072; and neither may waste more than 2.5x / 1.5x of it (the cache loses what is over-reserved)."""
    measured = json.loads(H200_MEMORY.read_text())
    lasting = measured["first_step_lasting_bytes"]
    assert measured["device"] == "NVIDIA H200" and len(measured["steps"]) == 19
    need: dict[tuple[int, int], int] = {}
    for step in measured["steps"]:
        limits = (step["args"]["T"], step["args"]["R"])
        step_need = max(step["reserved_peak"], step["peak"]) + lasting
        need[limits] = max(need.get(limits, 0), step_need)
    assert len(need) == 11
    for (tokens, rows), most in need.items():
        room = activation_bytes(tokens, rows, cuda_graphs=False)
        assert most <= room <= 2.5 * most + 2**29, (tokens, rows)
    graphs = activation_bytes(2048, 512, True) - activation_bytes(2048, 512, False)
    assert measured["graphs"]["nbytes"] <= graphs <= 1.5 * measured["graphs"]["nbytes"]
    # the fixed 2 GiB kept before session 39 was short of the default limits' step and graphs
    assert need[(2048, 512)] + measured["graphs"]["nbytes"] > 2 * 2**30


def test_pipeline_stages_keep_no_room_for_graphs() -> None:
    """A pipeline stage steps through staged_results, which replays no graph: session 67's help hunt found
    its stages capturing graphs (and keeping their room) for nothing, as its tensor-parallel world is 1."""
    staged = activation_bytes(2048, 512, cuda_graphs=True, stages=2)
    assert staged == activation_bytes(2048, 512, cuda_graphs=False, stages=2)
    assert activation_bytes(2048, 512, cuda_graphs=True) > staged


def test_worker_defaults_are_the_engine_configs() -> None:
    """Every default stated once: a WorkerConfig built in Python (tests, a researcher's script) runs as
    `swiftctl worker` with no flags, whose defaults are EngineConfig's (launch/args.py)."""
    from swiftllm.config import EngineConfig
    from swiftllm.launch.args import WORKER_OPTIONS

    worker = WorkerConfig(model="unused")
    engine = EngineConfig()
    for name in set(WORKER_OPTIONS) - {"model"}:
        assert getattr(worker, name) == getattr(engine, name), name
    assert worker.cpu_kv_memory_gb == engine.kv_cache_memory_gb


def env_rendezvous_rank(path: str, rank: int, port: int, out: object) -> None:
    """One rank of a tensor-parallel pair with no dist_init: torch's env:// (as torchrun sets it)."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1]))  # conftest's helpers, in a spawned process
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    runner = runner_for(Path(path), world_size=2, rank=rank, threads=1)
    out.put((rank, decode_chain(runner, launch_ahead=0)))


def rank_chains(target: object, path: Path, shared: object, world_size: int) -> dict[int, list]:
    """Each rank's decode chain, `target(str(path), rank, shared, out)` run in a spawned process a rank,
    by rank. A rank that dies fails the test at once, not at the 120 s deadline."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    ranks = [
        context.Process(target=target, args=(str(path), rank, shared, out))
        for rank in range(world_size)
    ]
    for process in ranks:
        process.start()
    chains: dict[int, list] = {}
    deadline = time.monotonic() + 120
    try:
        while len(chains) < len(ranks):
            with contextlib.suppress(queue.Empty):
                rank, chain = out.get(timeout=0.2)
                chains[rank] = chain
            died = {rank: process.exitcode for rank, process in enumerate(ranks)}
            died = {rank: code for rank, code in died.items() if code not in (None, 0)}
            assert not died and time.monotonic() < deadline, f"ranks' exit codes: {died}"
    finally:
        for process in ranks:
            process.join(timeout=30 if len(chains) == len(ranks) else 0)
            process.kill()
    return chains


def test_a_group_without_dist_init_meets_at_torchs_env_rendezvous(tiny_model_dir: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    chains = rank_chains(env_rendezvous_rank, tiny_model_dir, port, world_size=2)
    # one worker is the oracle: both ranks sample the whole vocabulary's greedy token
    assert chains[0] == chains[1] == decode_chain(runner_for(tiny_model_dir), launch_ahead=0)


def pipeline_rank(path: str, rank: int, dist_init: str, out: object) -> None:
    """One rank of a three-stage pipeline of one worker each, its steps launched one ahead."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1]))  # conftest's helpers, in a spawned process
    runner = runner_for(Path(path), world_size=3, pipeline_size=3, rank=rank, dist_init=dist_init)
    out.put((rank, decode_chain(runner, launch_ahead=1)))


def test_a_three_stage_pipeline_decodes_what_one_worker_does(tmp_path: Path) -> None:
    """Each step is launched before the one before it is collected, its -1s naming that step's tokens:
    the first stage waits for them to arrive from the last before it embeds them, the middle stage returns
    zeros in their place, and the first and last stages read back the tokens one worker samples."""
    from swiftllm.launch.workers import free_port

    save_tiny_model(tmp_path, num_hidden_layers=3)
    dist_init = f"tcp://127.0.0.1:{free_port()}"
    chains = rank_chains(pipeline_rank, tmp_path, dist_init, world_size=3)
    reference = decode_chain(runner_for(tmp_path), launch_ahead=0)
    assert len({tuple(tokens) for tokens in reference}) > 1  # the chain really moves
    assert chains[0] == chains[2] == reference
    assert chains[1] == [[0, 0]] * len(reference)
