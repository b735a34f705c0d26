"""WorkerGroup against fake ranks (ROUTER sockets on threads): the handshake's checks, the minimum cache,
errors read from every rank before one is raised, and a dead rank noticed while waiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import zmq

from swiftllm.controller import worker_group
from swiftllm.controller.worker_client import WorkerError
from swiftllm.controller.worker_group import WorkerGroup
from swiftllm.protocol import codec

Answer = Callable[[str, dict[str, Any]], dict[str, Any]]


class FakeRank:
    """Answers each request with answer(op, fields); an answer holding "error" becomes an error reply,
    and None is no answer at all (a rank that hangs)."""

    def __init__(self, context: zmq.Context, answer: Answer) -> None:
        self.socket = context.socket(zmq.ROUTER)
        self.address = f"inproc://rank-{id(self)}"
        self.socket.bind(self.address)
        self.answer = answer
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                *envelope, payload = self.socket.recv_multipart()
            except zmq.ZMQError:
                return  # the context was terminated
            request = codec.decode_request(payload)
            fields = self.answer(request.op, request.fields)
            if fields is None:
                continue
            if "raw" in fields:  # bytes of its own (given the request's id), a reply or not
                reply = fields["raw"](request.id)
            elif "error" in fields:
                reply = codec.encode_error(request.id, fields["error"], "fake failure")
            else:
                reply = codec.encode_reply(request.id, **fields)
            self.socket.send_multipart([*envelope, reply])


def hello_fields(rank: int, world_size: int, dtype: str = "float32") -> dict[str, Any]:
    return {
        "epoch": 5 + rank,
        "protocol_version": codec.PROTOCOL_VERSION,
        "model_config": {"num_heads": 8},
        "rank": rank,
        "world_size": world_size,
        "pipeline_size": 1,
        "dtype": dtype,
        "device": "cpu",
    }


def rank_answer(rank: int, world_size: int, num_blocks: int, **overrides: Any) -> Answer:
    def answer(op: str, fields: dict[str, Any]) -> dict[str, Any]:
        if op == "hello":
            return {**hello_fields(rank, world_size), **overrides.get("hello", {})}
        if op == "profile":
            return {"num_blocks": num_blocks, "block_bytes": 1024}
        return overrides.get(op, {})

    return answer


@pytest.fixture
def context() -> Iterator[zmq.Context]:
    context = zmq.Context.instance()
    yield context


def group_of(
    context: zmq.Context, answers: list[Answer], **options: Any
) -> tuple[WorkerGroup, list[FakeRank]]:
    ranks = [FakeRank(context, answer) for answer in answers]
    group = WorkerGroup([rank.address for rank in ranks], **options)
    for client in group.clients:  # inproc needs the ranks' context
        client.socket.close()
        client.socket = context.socket(zmq.DEALER)
        client.socket.connect(client.address)
    return group, ranks


def test_the_cache_is_the_smallest_ranks_and_each_rank_keeps_its_epoch(
    context: zmq.Context,
) -> None:
    group, _ = group_of(context, [rank_answer(0, 2, 300), rank_answer(1, 2, 200)])
    group.hello()
    assert [client.epoch for client in group.clients] == [5, 6]
    assert group.devices == ["cpu", "cpu"]  # every rank's: the server's start-up summary lists them
    num_blocks, _ = group.profile(16)
    assert num_blocks == 200


def test_a_rank_out_of_place_is_refused(context: zmq.Context) -> None:
    group, _ = group_of(context, [rank_answer(1, 2, 300), rank_answer(0, 2, 300)])
    with pytest.raises(WorkerError, match="is rank 1 of 2, expected rank 0 of 2"):
        group.hello()


def test_a_rank_of_another_dtype_is_refused(context: zmq.Context) -> None:
    other = rank_answer(1, 2, 300, hello={"dtype": "bfloat16"})
    group, _ = group_of(context, [rank_answer(0, 2, 300), other])
    with pytest.raises(WorkerError, match="rank 1's dtype differs"):
        group.hello()


def test_a_mistyped_rank_or_version_is_named_as_sent(context: zmq.Context) -> None:
    """A worker's hello with the string "0" as its rank (or "3" as its protocol version) was refused as
    "is rank 0 of 1, expected rank 0 of 1" ("speaks version 3, this controller 3"): the values are quoted."""
    group, _ = group_of(context, [rank_answer(0, 1, 300, hello={"rank": "0"})])
    with pytest.raises(WorkerError, match="is rank '0' of 1, expected rank 0 of 1"):
        group.hello()
    group, _ = group_of(context, [rank_answer(0, 1, 300, hello={"protocol_version": "3"})])
    with pytest.raises(WorkerError, match="worker speaks version '3', this controller 3"):
        group.hello()


# hellos that a group's controller cannot work with: each raised a bare KeyError (a field missing), TypeError,
# AttributeError (a model_config not a map) or ZeroDivisionError (pipeline_size 0), or set a sampling rank past
# the group (pipeline_size 3 or -1 of 2), whose first step then raised IndexError
BAD_HELLOS: dict[str, tuple[dict[str, Any], str]] = {
    "no epoch": ({"epoch": None}, r"hello has no valid \['epoch'\]"),
    "a string epoch": ({"epoch": "5"}, r"hello has no valid \['epoch'\]"),
    "a bool epoch": ({"epoch": True}, r"hello has no valid \['epoch'\]"),
    "a model_config list": ({"model_config": [8]}, r"no valid \['model_config'\]"),
    "no device": ({"device": None}, r"no valid \['device'\]"),
    "no dtype": ({"dtype": None}, r"no valid \['dtype'\]"),
    "a string pipeline_size": ({"pipeline_size": "1"}, r"no valid \['pipeline_size'\]"),
    "no pipeline_size": ({"pipeline_size": None}, r"no valid \['pipeline_size'\]"),
    "pipeline_size 0": ({"pipeline_size": 0}, "2 ranks in 0 pipeline stages"),
    "pipeline_size -1": ({"pipeline_size": -1}, "2 ranks in -1 pipeline stages"),
    "pipeline_size 3": ({"pipeline_size": 3}, "2 ranks in 3 pipeline stages"),
    "no rank": ({"rank": None}, "is rank None of 2, expected rank 0 of 2"),
    "no world_size": ({"world_size": None}, "is rank 0 of None, expected rank 0 of 2"),
}


@pytest.mark.parametrize("name", BAD_HELLOS)
def test_a_hello_the_controller_cannot_read_is_a_worker_error(
    context: zmq.Context, name: str
) -> None:
    changes, message = BAD_HELLOS[name]

    def hello(rank: int) -> Answer:
        fields = {**hello_fields(rank, 2), **changes}  # None: the field is left out
        return lambda op, _: {key: value for key, value in fields.items() if value is not None}

    group, _ = group_of(context, [hello(0), hello(1)])
    with pytest.raises(WorkerError, match=message):
        group.hello()


@pytest.mark.parametrize(
    "num_blocks, block_bytes", [(None, 1024), ("300", 1024), (300.0, 1024), (300, 0), (300, None)]
)
def test_a_profile_reply_the_controller_cannot_read_is_a_worker_error(
    context: zmq.Context, num_blocks: object, block_bytes: object
) -> None:
    """A missing number raised a bare KeyError, a string TypeError (in min() over the ranks), and block_bytes 0
    a ZeroDivisionError where a CPU group sizes its cache from the memory budget."""
    sizes = {"num_blocks": num_blocks, "block_bytes": block_bytes}

    def odd_profile(op: str, fields: dict[str, Any]) -> dict[str, Any]:
        if op == "profile":  # None: the field is left out
            return {key: value for key, value in sizes.items() if value is not None}
        return rank_answer(1, 2, 300)(op, fields)

    group, _ = group_of(context, [rank_answer(0, 2, 300), odd_profile])
    group.hello()
    with pytest.raises(
        WorkerError, match=r"profile \(num_blocks, block_bytes\): \[\(300, 1024\), "
    ) as error:
        group.profile(16)
    assert error.value.type == "InvalidReply"
    assert all(not client.in_flight for client in group.clients)  # both replies read: still in step


def test_an_error_is_raised_after_every_rank_answered(context: zmq.Context) -> None:
    failing = rank_answer(0, 2, 300, init_cache={"error": "ModelError"})
    group, _ = group_of(context, [failing, rank_answer(1, 2, 300)])
    group.hello()
    with pytest.raises(WorkerError, match="ModelError"):
        group.init_cache(block_size=16, num_blocks=10, num_cpu_blocks=0, max_model_len=64)
    assert all(not client.in_flight for client in group.clients)  # rank 1's reply was read too
    assert len(group.call("shutdown")) == 2  # the streams are still in step


def not_msgpack(request_id: int) -> bytes:
    return b"\xc1 not msgpack"


def torn_array(request_id: int) -> bytes:
    """A step reply whose seq_ids are 3 bytes: no whole number of int32s."""
    return codec.encode_reply(request_id, seq_ids=b"ab3")


@pytest.mark.parametrize("raw", [not_msgpack, torn_array])
def test_a_reply_the_controller_cannot_read_names_its_worker(
    context: zmq.Context, raw: Callable[[int], bytes]
) -> None:
    """A reply the codec cannot read raised its ProtocolError, naming no worker, before the other ranks'
    replies were read: now a WorkerError naming the rank's address, once every rank answered."""
    group, ranks = group_of(context, [rank_answer(0, 2, 300), rank_answer(1, 2, 300)])
    group.hello()
    ranks[1].answer = lambda op, fields: {"raw": raw}
    for client in group.clients:
        client.send_request("shutdown")
    with pytest.raises(WorkerError, match=f"worker at {ranks[1].address}: ") as error:
        group.recv_all(lambda client: codec.decode_result(client.recv()))
    assert error.value.type == "InvalidReply"
    assert all(not client.in_flight for client in group.clients)  # every reply read: still in step


def test_a_dead_rank_is_reported_while_waiting(context: zmq.Context) -> None:
    hanging = rank_answer(1, 2, 300, shutdown=None)
    group, _ = group_of(
        context, [rank_answer(0, 2, 300), hanging], liveness=lambda: "rank 1 exited with code -9"
    )
    group.hello()
    with pytest.raises(WorkerError, match="rank 1 exited with code -9"):
        group.call("shutdown")


def test_ranks_silent_after_another_ranks_error_end_the_wait(
    context: zmq.Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rank whose step fails leaves the others blocked in a collective: once one rank has answered with an
    error, the group waits ERROR_GRACE_MS for the rest, not their timeouts (2 x 300 s before session 37)."""
    monkeypatch.setattr(worker_group, "ERROR_GRACE_MS", 1000)
    failing = rank_answer(0, 2, 300, init_cache={"error": "OutOfMemoryError"})
    hanging = rank_answer(1, 2, 300, init_cache=None)
    group, _ = group_of(context, [failing, hanging], liveness=lambda: None)
    group.hello()
    for client in group.clients:
        client.timeout_s = 30
    started = time.monotonic()
    with pytest.raises(WorkerError, match="after another rank's error: OutOfMemoryError") as error:
        group.init_cache(block_size=16, num_blocks=10, num_cpu_blocks=0, max_model_len=64)
    assert error.value.type == "Timeout"  # the group is done for: its streams are out of step
    assert time.monotonic() - started < 10


def test_a_frozen_rank_times_out_once(context: zmq.Context) -> None:
    """Session 47's probe: a rank alive but silent (SIGSTOP) was waited for the client's timeout here, then
    as long again in WorkerClient.recv (600 s with the 300 s default); now the Timeout comes after one."""
    hanging = rank_answer(1, 2, 300, init_cache=None)
    group, _ = group_of(context, [rank_answer(0, 2, 300), hanging], liveness=lambda: None)
    group.hello()
    for client in group.clients:
        client.timeout_s = 1
    started = time.monotonic()
    with pytest.raises(WorkerError, match="rank 1 silent for 1 s") as error:
        group.init_cache(block_size=16, num_blocks=10, num_cpu_blocks=0, max_model_len=64)
    assert error.value.type == "Timeout"
    assert 0.9 < time.monotonic() - started < 1.8


def test_a_rank_whose_reply_was_read_before_an_interrupt_is_skipped_once(
    context: zmq.Context,
) -> None:
    """Two requests in flight on both ranks, and rank 0's first reply read alone (as when Ctrl-C lands while
    the group waits for rank 1): the next read takes rank 1's first reply only, the one after both second
    replies, and the streams are in step again (LLM.generate's reset relies on it)."""
    group, _ = group_of(context, [rank_answer(0, 2, 300), rank_answer(1, 2, 200)])
    group.hello()
    for _ in range(2):
        for client in group.clients:
            client.send_request("profile", block_size=16)
    group.clients[0].recv()  # then the interrupt
    first = group.recv_all(lambda client: client.recv())
    assert first[0] is None and first[1]["num_blocks"] == 200
    second = group.recv_all(lambda client: client.recv())
    assert [reply["num_blocks"] for reply in second] == [300, 200]
    assert all(not client.in_flight for client in group.clients)
    num_blocks, _ = group.profile(16)  # and the group serves on
    assert num_blocks == 200


def test_workers_serving_another_model_are_refused() -> None:
    """Session 47's probe: `launch --model A --worker-addrs ...` attached to workers serving model B served
    B's tokens under A's name and tokenizer. start_engine compares their hello's shapes with A's first."""
    from dataclasses import asdict
    from types import SimpleNamespace

    from swiftllm.model_config import ModelConfig, ModelError

    sizes = {"vocab_size": 128, "hidden_size": 64, "intermediate_size": 96}
    ours = ModelConfig.from_dict({**sizes, "num_hidden_layers": 2, "num_attention_heads": 4})
    config = SimpleNamespace(model="/models/a", block_size=16)

    def group_serving(model_config: dict[str, Any]) -> SimpleNamespace:
        def profile(block_size: int) -> None:
            raise RuntimeError("profiled")  # reached only past the check

        return SimpleNamespace(info={"model_config": model_config}, profile=profile)

    for change in (
        {"hidden_size": 128},
        {"num_layers": 3},
        {"vocab_size": 256},
        {"num_kv_heads": 2},
    ):
        other = group_serving({**asdict(ours), **change})
        with pytest.raises(ModelError, match="the workers' model is not /models/a"):
            worker_group.start_engine(config, other, ours, None)  # type: ignore[arg-type]
    same = group_serving({**asdict(ours), "eos_token_ids": [], "max_context": 2048})
    with pytest.raises(RuntimeError, match="profiled"):
        worker_group.start_engine(config, same, ours, None)  # type: ignore[arg-type]


def test_workers_that_take_smaller_steps_than_the_server_are_refused(context: zmq.Context) -> None:
    """Session 57's probe: `swiftctl worker --max-num-batched-tokens 64` attached by a `launch` of the default
    2,048 served until the first prompt of more than 64 tokens, whose step the worker refused ("more tokens
    than the worker takes"), and that error ended the server. start_engine now reads the workers' limits
    from hello once the cache is set, and refuses to start with larger ones of its own."""
    from dataclasses import asdict

    from swiftllm.config import EngineConfig
    from swiftllm.model_config import ModelConfig, ModelError

    sizes = {"vocab_size": 128, "hidden_size": 64, "intermediate_size": 96}
    ours = ModelConfig.from_dict({**sizes, "num_hidden_layers": 2, "num_attention_heads": 4})

    def worker_of(
        max_num_seqs: int, max_num_batched_tokens: int, rank: int = 0, world_size: int = 1
    ) -> Answer:
        cache: dict[str, Any] = {}

        def answer(op: str, fields: dict[str, Any]) -> dict[str, Any]:
            # as a real worker: its own limits beside the geometry it is sent
            if op == "init_cache":
                cache.update(fields, vocab_size=128, max_num_seqs=max_num_seqs)
                cache.update(max_num_batched_tokens=max_num_batched_tokens)
            hello = {
                **hello_fields(rank, world_size),
                "model_config": asdict(ours),
                "cache": cache or None,
            }
            return rank_answer(rank, world_size, 1000, hello=hello)(op, fields)

        return answer

    config = EngineConfig(model="/models/a", max_model_len=64, kv_cache_memory_gb=0.01)
    refused = "takes max_num_.* < .*, ours"
    for limits in ((512, 64), (4, 2048), (4, 64)):
        group, _ = group_of(context, [worker_of(*limits)])
        group.hello()  # as launch does before start_engine
        with pytest.raises(ModelError, match=refused):
            worker_group.start_engine(config, group, ours, None)
    # every rank checks a step against its own limits: a second rank's smaller ones are refused too
    group, _ = group_of(context, [worker_of(512, 2048, 0, 2), worker_of(512, 64, 1, 2)])
    group.hello()
    with pytest.raises(ModelError, match=refused) as second:
        worker_group.start_engine(config, group, ours, None)
    assert group.clients[1].address in str(second.value)
    group, _ = group_of(context, [worker_of(512, 2048)])  # the defaults on both sides
    group.hello()
    engine = worker_group.start_engine(config, group, ours, None)
    assert engine.scheduler.cfg.max_num_batched_tokens == 2048


def test_a_hello_without_the_cache_limits_after_init_cache_is_refused(context: zmq.Context) -> None:
    """A worker whose hello reports no cache map once init_cache succeeded (nil, as a minimal worker might
    always send) made start_engine raise a bare TypeError; it is refused as one whose limits are too small."""
    from dataclasses import asdict

    from swiftllm.config import EngineConfig
    from swiftllm.model_config import ModelConfig, ModelError

    sizes = {"vocab_size": 128, "hidden_size": 64, "intermediate_size": 96}
    ours = ModelConfig.from_dict({**sizes, "num_hidden_layers": 2, "num_attention_heads": 4})
    config = EngineConfig(model="/models/a", max_model_len=64, kv_cache_memory_gb=0.01)
    odd_caches = [
        (None, "None"),
        ({"max_num_seqs": "512", "max_num_batched_tokens": 2048}, "'512'"),
        ([512, 2048], "None"),  # not a map
    ]
    for cache, shown in odd_caches:
        hello = {**hello_fields(0, 1), "model_config": asdict(ours), "cache": cache}
        group, _ = group_of(context, [rank_answer(0, 1, 1000, hello=hello)])
        group.hello()
        with pytest.raises(ModelError, match=f"takes max_num_seqs {shown} < 512, ours"):
            worker_group.start_engine(config, group, ours, None)
