"""bench/sim_worker.py: a protocol-speaking worker whose steps take modelled time. Driven here by the real
controller's WorkerClient: its answers, its device clock (steps back to back, each its modelled time), and its
error replies to bad requests, after which it serves on."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import zmq
from bench_scripts import load_script
from conftest import client_step

from swiftllm.controller.worker_client import WorkerClient, WorkerError
from swiftllm.model_config import ModelConfig
from swiftllm.protocol import codec
from swiftllm.protocol.messages import PER_SEQ_DEFAULTS
from swiftllm.protocol.step import STEP_ARRAYS, StepCommand, i32

sim_worker = load_script("sim_worker")
make_dummy_model = load_script("make_dummy_model")

STEP_MS = 40.0
# every step takes STEP_MS whatever it holds (no compute term, no KV, no fixed cost)
FORTY_MS_A_STEP = sim_worker.StepCostModel(
    weight_read_ms=STEP_MS, matmul_flops=1e30, overlap_loss=0.0, attention_factor=0.0, fixed_ms=0.0
)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dummy_model.make_dummy_model(tmp_path_factory.mktemp("dummy") / "model")


@pytest.fixture
def worker(model_dir: Path) -> Iterator[WorkerClient]:
    server = sim_worker.SimulatedWorkerServer(
        model_dir, "tcp://127.0.0.1:*", FORTY_MS_A_STEP, num_blocks=100, seed=0
    )
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    client = WorkerClient(server.address, timeout_s=10)
    client.hello()
    yield client
    client.shutdown()
    thread.join(10)
    assert not thread.is_alive()  # a shutdown ends serve()
    client.close()
    server.close()


def command(**arrays: np.ndarray) -> StepCommand:
    """A step with these arrays and every other per-sequence array at its default, as a controller sends."""
    rows = len(arrays["seq_ids"])
    for name, default in PER_SEQ_DEFAULTS.items():
        arrays.setdefault(name, np.full(rows, default, STEP_ARRAYS[name].dtype))
    return StepCommand(**arrays)


def decode(seq_id: int, context_len: int, block: int = 0) -> StepCommand:
    return command(
        seq_ids=i32([seq_id]),
        query_lens=i32([1]),
        context_lens=i32([context_len]),
        token_ids=i32([7]),
        block_table=i32([[block]]),
    )


def two_decodes(**arrays: np.ndarray) -> StepCommand:
    """Sequences 1 and 2 decoding a token each (blocks 0 and 1), with the given per-row arrays."""
    return command(
        seq_ids=i32([1, 2]),
        query_lens=i32([1, 1]),
        context_lens=i32([3, 4]),
        token_ids=i32([5, 6]),
        block_table=i32([[0], [1]]),
        **arrays,
    )


def test_hello_describes_the_model_and_profile_the_cache(
    worker: WorkerClient, model_dir: Path
) -> None:
    config = ModelConfig.from_dir(model_dir)
    assert worker.info["model_config"]["vocab_size"] == config.vocab_size
    assert worker.info["model_config"]["max_context"] == config.max_context
    assert worker.info["model_dir"] == str(model_dir.resolve())
    assert worker.info["cache"] is None
    assert worker.call("profile")["num_blocks"] == 100


def test_steps_run_back_to_back_for_their_modelled_time(worker: WorkerClient) -> None:
    worker.init_cache(block_size=16, num_blocks=100, num_cpu_blocks=0, max_model_len=64)
    sent = time.perf_counter()
    worker.send_step(decode(1, 5))
    worker.send_step(decode(2, 9))  # queued behind the first: it ends one step later
    first = worker.recv_step()
    first_at = time.perf_counter() - sent
    second = worker.recv_step()
    second_at = time.perf_counter() - sent
    assert first_at >= STEP_MS / 1e3
    assert second_at >= 2 * STEP_MS / 1e3
    assert first.timings["gpu_ms"] == pytest.approx(STEP_MS)
    # from its arrival: the first step's time and its own
    assert second.timings["wait_ms"] > 1.5 * STEP_MS
    assert list(first.seq_ids) == [1]
    assert list(second.seq_ids) == [2]
    vocab = worker.info["model_config"]["vocab_size"]
    assert 0 <= first.tokens[0] < vocab


def test_a_bad_request_gets_an_error_and_the_worker_serves_on(worker: WorkerClient) -> None:
    with pytest.raises(WorkerError) as before_cache:
        client_step(worker, decode(1, 5))
    assert before_cache.value.type == "CacheNotInitialized"
    worker.init_cache(block_size=16, num_blocks=100, num_cpu_blocks=0, max_model_len=64)
    with pytest.raises(WorkerError) as bad_block:
        client_step(worker, decode(1, 5, block=100))  # blocks are 0..99
    assert bad_block.value.type == "InvalidRequest"
    with pytest.raises(WorkerError) as too_long:
        worker.init_cache(block_size=16, num_blocks=100, num_cpu_blocks=0, max_model_len=10**9)
    assert too_long.value.type == "ValueError"
    with pytest.raises(WorkerError) as after_failure:
        client_step(worker, decode(1, 5))
    assert after_failure.value.type == "CacheNotInitialized"  # as a real worker: no cache now
    worker.init_cache(block_size=16, num_blocks=100, num_cpu_blocks=0, max_model_len=64)
    result = client_step(worker, decode(3, 5))
    assert list(result.seq_ids) == [3]


def test_logprobs_come_back_for_every_sampled_row_once_one_asks(worker: WorkerClient) -> None:
    worker.init_cache(block_size=16, num_blocks=100, num_cpu_blocks=0, max_model_len=64)
    result = client_step(worker, two_decodes(num_logprobs=i32([-1, 3])))
    assert result.logprobs.shape == (2,)
    assert result.top_ids.shape == (2, 3)
    assert np.all(result.logprobs < 0)


def test_sampling_values_out_of_range_fail_their_sequence_alone_as_on_a_real_worker(
    worker: WorkerClient,
) -> None:
    """A real worker names a sequence whose sampling values are out of range in the reply's errors and
    computes it with neutral values (docs/protocol.md); the simulated one sampled it as if they were fine,
    and drew top logprobs for a num_logprobs beyond 20."""
    worker.init_cache(block_size=16, num_blocks=100, num_cpu_blocks=0, max_model_len=64)
    cmd = two_decodes(temperature=np.array([-1.0, 0.0], np.float32), num_logprobs=i32([-1, 1000]))
    result = client_step(worker, cmd)
    assert set(result.errors) == {1, 2}
    assert "temperature" in result.errors[1] and "num_logprobs" in result.errors[2]
    assert list(result.seq_ids) == [1, 2]  # the step still ran for both
    assert result.top_ids.shape[1] <= 20


def test_an_address_other_machines_reach_is_refused(model_dir: Path) -> None:
    with pytest.raises(SystemExit):  # a usage error, before binding anything
        sim_worker.main(["--model", str(model_dir), "--bind", "tcp://0.0.0.0:*"])
    with pytest.raises(ValueError, match="refusing to bind"):
        sim_worker.SimulatedWorkerServer(
            model_dir, "tcp://0.0.0.0:*", FORTY_MS_A_STEP, num_blocks=1, seed=0
        )


def test_garbage_gets_an_error_reply_and_the_session_goes_on(worker: WorkerClient) -> None:
    worker.init_cache(block_size=16, num_blocks=100, num_cpu_blocks=0, max_model_len=64)
    context = zmq.Context()
    raw = context.socket(zmq.DEALER)
    raw.setsockopt(zmq.LINGER, 0)
    raw.connect(worker.address)
    try:
        replies = []
        for payload in (b"\xc1 not msgpack", codec.pack({"op": "fly", "id": 3, "epoch": 1})):
            raw.send(payload)
            assert raw.poll(10_000), "the worker did not answer"
            replies.append(codec.decode_reply(raw.recv()))
    finally:
        raw.close()
        context.term()
    assert replies[0]["id"] is None
    assert replies[0]["error"]["type"] == "MalformedMessage"
    assert replies[1]["id"] == 3
    assert replies[1]["error"]["type"] == "UnknownOp"
    assert list(client_step(worker, decode(4, 5)).seq_ids) == [
        4
    ]  # the session's owner is served on
