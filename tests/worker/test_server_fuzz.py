"""The worker protocol against hostile input, property-based: random bytes, truncated messages, fields of
the wrong type, out-of-range ids, inconsistent lengths, -1 where it means nothing. After each case the
worker answers (an error reply, or a result if the case happens to be valid) and the next valid step
succeeds. SWIFTLLM_FUZZ_EXAMPLES sets max_examples per test."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import pytest
import zmq
from conftest import client_step, encode_step, make_step
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swiftllm.controller.worker_client import WorkerClient
from swiftllm.protocol.codec import pack_array
from swiftllm.protocol.step import STEP_ARRAYS, StepCommand
from swiftllm.worker.model_runner import ModelRunner, WorkerConfig
from swiftllm.worker.server import WorkerServer

FUZZ_EXAMPLES = int(os.environ.get("SWIFTLLM_FUZZ_EXAMPLES", "60"))
TOKEN = "fuzz-token"
ERROR_TYPES = {
    "MalformedMessage",
    "MessageTooLarge",
    "UnknownOp",
    "InvalidRequest",
    "StaleEpoch",
    "CacheNotInitialized",
    "Unauthorized",
    "ValueError",
}
tried = {"cases": 0}


class Harness:
    """A worker on a thread, a client holding its session, and a raw socket for the garbage."""

    def __init__(self, address: str) -> None:
        self.client = WorkerClient(address, timeout_s=30)
        self.client.hello(TOKEN)
        self.client.init_cache(block_size=16, num_blocks=32, num_cpu_blocks=4, max_model_len=128)
        self.context = zmq.Context()
        self.raw = self.context.socket(zmq.DEALER)
        self.raw.setsockopt(zmq.LINGER, 0)
        self.raw.connect(address)

    def answer(self, payload: bytes) -> dict[str, Any]:
        tried["cases"] += 1
        self.raw.send(payload)
        assert self.raw.poll(30_000), "the worker did not answer"
        reply = msgpack.unpackb(self.raw.recv())
        assert isinstance(reply, dict) and "id" in reply
        if "error" in reply:
            assert reply["error"]["type"] in ERROR_TYPES, reply
        return reply

    def assert_serves(self) -> None:
        result = client_step(self.client, make_step([5000], [[3, 4, 5]], [3], [[0]]))
        assert result.seq_ids.tolist() == [5000] and 0 <= result.tokens[0] < 128


@pytest.fixture(scope="module")
def harness(tiny_model_dir: Path) -> Iterator[Harness]:
    runner = ModelRunner(WorkerConfig(model=str(tiny_model_dir), device="cpu"))
    server = WorkerServer(runner, max_message_bytes=1 << 20, token=TOKEN)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    harness = Harness(server.address)
    yield harness
    harness.raw.close()
    harness.context.term()
    harness.client.shutdown()
    harness.client.close()
    thread.join(10)
    server.close()
    print(f"worker protocol fuzzing: {tried['cases']} malformed messages, all answered")


FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
INT32 = st.integers(-(2**31), 2**31 - 1)
SMALL = st.integers(-2, 140)  # around every bound: ids, blocks (32), vocab (128), lengths
garbage = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**64 - 1),  # what msgpack can encode
        st.floats(),
        st.text(max_size=6),
        st.binary(max_size=24),
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def valid_step() -> StepCommand:
    return make_step([1, 2], [[1, 2, 3], [7]], [3, 1], [[1], [2]])


def step_message(epoch: int, cmd: StepCommand) -> dict[str, Any]:
    return msgpack.unpackb(encode_step(7, epoch, cmd))


@FUZZ
@given(data=st.binary(max_size=200))
def test_random_bytes(harness: Harness, data: bytes) -> None:
    assert "error" in harness.answer(data)
    harness.assert_serves()


@FUZZ
@given(cut=st.floats(0, 1, exclude_max=True))
def test_truncated_steps(harness: Harness, cut: float) -> None:
    payload = encode_step(3, harness.client.epoch, valid_step())
    assert "error" in harness.answer(payload[: int(len(payload) * cut)])
    harness.assert_serves()


@FUZZ
@given(
    name=st.sampled_from(["op", "id", "epoch", "token", *STEP_ARRAYS]),
    value=garbage,
)
def test_fields_of_the_wrong_type(harness: Harness, name: str, value: Any) -> None:
    message = step_message(harness.client.epoch, valid_step())
    message[name] = value
    harness.answer(msgpack.packb(message, use_bin_type=True))
    harness.assert_serves()


@FUZZ
@given(
    arrays=st.fixed_dictionaries(
        {},
        optional={
            name: st.lists(st.one_of(SMALL, INT32), max_size=6)
            for name in STEP_ARRAYS
            if STEP_ARRAYS[name].dtype == np.int32
        },
    ),
    floats=st.fixed_dictionaries(
        {},
        optional={
            name: st.lists(st.floats(width=32), max_size=4)
            for name in STEP_ARRAYS
            if STEP_ARRAYS[name].dtype == np.float32
        },
    ),
    width=st.integers(0, 9),
)
def test_out_of_range_ids_inconsistent_lengths_and_misplaced_minus_ones(
    harness: Harness, arrays: dict[str, list[int]], floats: dict[str, list[float]], width: int
) -> None:
    """Each array replaced by random values, lengths unrelated: ids, blocks and token ids out of range,
    -1 in token_ids or penalty_tokens where no token was sampled."""
    message = step_message(harness.client.epoch, valid_step())
    for name, values in {**arrays, **floats}.items():
        prototype = STEP_ARRAYS[name]
        array = np.array(values, dtype=prototype.dtype)
        if prototype.ndim == 2:
            columns = width
            if name in ("swap_out", "swap_in", "copy"):
                columns = 2
            rows = len(array) // max(columns, 1)
            array = array[: rows * columns].reshape(rows, columns)
        message[name] = pack_array(array, prototype)
    harness.answer(msgpack.packb(message, use_bin_type=True))
    harness.assert_serves()


def test_hello_without_the_token_is_refused_and_changes_nothing(harness: Harness) -> None:
    for fields in ({}, {"token": "wrong"}, {"token": 12}):
        reply = harness.answer(msgpack.packb({"op": "hello", "id": 1, **fields}))
        assert reply["error"]["type"] in ("Unauthorized", "InvalidRequest"), reply
    harness.assert_serves()  # the session, its epoch and its cache are as they were
