"""The wire codec: every message round-trips, and every malformed or out-of-range message is a ProtocolError."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import msgpack
import numpy as np
import pytest
from conftest import encode_step, make_step
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swiftllm.protocol.codec import (
    STEP_ARRAYS,
    decode_reply,
    decode_request,
    decode_result,
    decode_step,
    encode_error,
    encode_reply,
    encode_request,
    pack,
    result_fields,
)
from swiftllm.protocol.messages import CacheGeometry, ProtocolError, refuse_bad_values
from swiftllm.protocol.step import StepCommand, StepResult, f32, i32, pairs, u64

GEO = CacheGeometry(
    vocab_size=128,
    block_size=4,
    num_blocks=16,
    num_cpu_blocks=4,
    max_model_len=32,
    max_num_seqs=4,
    max_num_batched_tokens=24,
)


def base_step() -> StepCommand:
    """A prefill chunk (3 new tokens after 2 cached) and a decode of the last sampled token (-1)."""
    cmd = make_step([7, 9], [[1, 2, 3], [-1]], [5, 9], [[0, 1], [2, 3, 4]])
    cmd.swap_out = pairs([[5, 0]])
    cmd.swap_in = pairs([[1, 6]])
    cmd.copy = pairs([[7, 8]])
    cmd.finished = i32([3])
    return cmd


def roundtrip(cmd: StepCommand, geo: CacheGeometry = GEO) -> StepCommand:
    request = decode_request(encode_step(11, 2, cmd))
    assert (request.op, request.id, request.epoch) == ("step", 11, 2)
    return decode_step(request.fields, geo)


def assert_steps_equal(a: StepCommand, b: StepCommand) -> None:
    for f in dataclasses.fields(StepCommand):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y, equal_nan=True), (
            f.name
        )


def step_fields(cmd: StepCommand) -> dict[str, Any]:
    return decode_request(encode_step(1, 1, cmd)).fields


def test_step_roundtrip() -> None:
    cmd = base_step()
    assert_steps_equal(roundtrip(cmd), cmd)


def test_optional_step_fields_get_defaults() -> None:
    fields = {
        k: v
        for k, v in step_fields(base_step()).items()
        if k in ("seq_ids", "query_lens", "context_lens", "token_ids", "block_table")
    }
    cmd = decode_step(fields, GEO)
    assert (
        cmd.sample.tolist() == [1, 1]
        and cmd.top_p.tolist() == [1, 1]
        and cmd.num_logprobs.tolist() == [-1, -1]
    )
    assert cmd.swap_out.shape == (0, 2) and len(cmd.finished) == 0


def test_empty_step_roundtrip() -> None:
    cmd = StepCommand(finished=i32([1, 2]), copy=pairs([[0, 1]]))
    assert_steps_equal(roundtrip(cmd), cmd)


@st.composite
def steps(draw: st.DrawFn) -> StepCommand:
    n = draw(st.integers(0, 4))
    seq_ids = draw(st.lists(st.integers(-(2**31), 2**31 - 1), min_size=n, max_size=n, unique=True))
    query = [draw(st.integers(1, 6)) for _ in range(n)]
    context = [q + draw(st.integers(0, GEO.max_model_len - q)) for q in query]
    width = draw(
        st.integers(
            -(-max(context, default=0) // GEO.block_size), GEO.max_model_len // GEO.block_size
        )
    )
    tokens = [
        draw(st.integers(-1 if q == 1 else 0, GEO.vocab_size - 1)) for q in query for _ in range(q)
    ]
    table = draw(
        st.lists(
            st.lists(st.integers(0, GEO.num_blocks - 1), min_size=width, max_size=width),
            min_size=n,
            max_size=n,
        )
    )
    cmd = StepCommand(
        seq_ids=i32(seq_ids),
        query_lens=i32(query),
        context_lens=i32(context),
        token_ids=i32(tokens),
        block_table=i32(table).reshape(n, width),
    )

    def per_seq(elements: st.SearchStrategy) -> list:
        return draw(st.lists(elements, min_size=n, max_size=n))

    reals = st.floats(-2, 2, width=32)
    cmd.sample = i32(per_seq(st.integers(0, 1)))
    cmd.top_k = i32(per_seq(st.integers(0, 200)))
    cmd.seed = u64(per_seq(st.integers(0, 2**64 - 1)))
    cmd.temperature = f32(per_seq(st.floats(0, 5, width=32)))
    cmd.top_p = f32(per_seq(st.floats(0, 1, exclude_min=True, width=32)))
    cmd.presence_penalty = f32(per_seq(reals))
    cmd.frequency_penalty = f32(per_seq(reals))
    cmd.repetition_penalty = f32(per_seq(st.floats(0.5, 2, width=32)))
    cmd.min_p = f32(per_seq(st.floats(0, 1, width=32)))
    cmd.num_logprobs = i32(per_seq(st.integers(-1, 20)))
    cmd.penalty_lens = i32(per_seq(st.integers(0, 3)))
    cmd.penalty_tokens = i32(
        draw(
            st.lists(
                st.integers(0, 127),
                min_size=int(cmd.penalty_lens.sum()),
                max_size=int(cmd.penalty_lens.sum()),
            )
        )
    )
    # each destination once (validate_step)
    pair = st.tuples(st.integers(0, 3), st.integers(0, 3))
    pair_list = st.lists(
        pair, max_size=3, unique_by=lambda source_destination: source_destination[1]
    )
    cmd.swap_out = pairs(draw(pair_list))
    cmd.swap_in = pairs(draw(pair_list))
    cmd.copy = pairs(draw(pair_list))
    cmd.finished = i32(draw(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=3)))
    return cmd


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps())
def test_generated_steps_roundtrip(cmd: StepCommand) -> None:
    assert_steps_equal(roundtrip(cmd), cmd)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_only_raise_protocol_errors(data: bytes) -> None:
    try:
        decode_request(data)
    except ProtocolError:
        pass


wire_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(),
    st.text(max_size=4),
    st.binary(max_size=12),
    st.lists(st.integers(-2, 5), max_size=3),
    st.fixed_dictionaries(
        {"shape": st.lists(st.integers(-1, 3), max_size=3), "data": st.binary(max_size=16)}
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(STEP_ARRAYS)), wire_values))
def test_random_step_fields_only_raise_protocol_errors(fields: dict[str, Any]) -> None:
    try:
        decode_step(fields, GEO)
    except ProtocolError as e:
        assert e.type == "InvalidRequest"


def test_small_ops_roundtrip() -> None:
    hello = decode_request(encode_request("hello", 0))
    assert (hello.op, hello.id, hello.epoch, hello.fields) == ("hello", 0, None, {})
    assert decode_request(encode_request("profile", 1, 3)).fields == {"block_size": 16}
    init = dict(block_size=16, num_blocks=10, num_cpu_blocks=0, max_model_len=256)
    assert decode_request(encode_request("init_cache", 2**64 - 1, 3, **init)).fields == init
    assert decode_request(encode_request("shutdown", 5, 3)).op == "shutdown"


def test_replies_roundtrip() -> None:
    result = StepResult(
        seq_ids=i32([7, 9]),
        tokens=i32([5, 6]),
        logprobs=f32([-0.5, np.nan]),
        top_ids=i32([[5, 1], [6, 2]]),
        top_logprobs=f32([[-0.5, -1], [-0.1, -3]]),
        timings={"forward_ms": 1.5, "queue_ms": 0.25},
        errors={9: "top_p must lie in (0, 1]"},
    )
    back = decode_result(decode_reply(encode_reply(4, **result_fields(result))))
    for f in dataclasses.fields(StepResult):
        x, y = getattr(result, f.name), getattr(back, f.name)
        assert (
            x == y
            if f.name in ("timings", "errors")
            else np.array_equal(x, y, equal_nan=True) and x.dtype == y.dtype
        )
    # a timing that is not finite is dropped: in /metrics' running totals a NaN stayed NaN
    fields = result_fields(result) | {
        "timings": {"a": math.nan, "b": -math.inf, "c": 2, "d": 1e309}
    }
    assert decode_result(decode_reply(encode_reply(5, **fields))).timings == {"c": 2.0}
    assert decode_reply(encode_reply(3, num_blocks=12)) == {"id": 3, "num_blocks": 12}
    assert decode_reply(encode_error(None, "MalformedMessage", "x"))["error"] == {
        "type": "MalformedMessage",
        "message": "x",
    }
    # a nil error was taken, and WorkerClient.recv then failed on reading its type (a TypeError)
    for error in ("boom", None, {"type": "X"}, {"type": "X", "message": 3}):
        with pytest.raises(ProtocolError, match="a reply's error must be"):
            decode_reply(pack({"id": 1, "error": error}))


def test_a_success_reply_must_name_its_request() -> None:
    """A nil id means the worker could not read the request, so it comes only with an error: a success reply
    with a nil id was taken as the answer to whatever request was oldest."""
    for reply in ({"id": None, "num_blocks": 3}, {"id": None}):
        with pytest.raises(
            ProtocolError, match="a reply's id must be an integer, or nil in an error"
        ):
            decode_reply(pack(reply))
    assert decode_reply(encode_error(None, "MalformedMessage", "x"))["id"] is None


def mutate(**changes: Any) -> Callable[[StepCommand], None]:
    def change(cmd: StepCommand) -> None:
        for name, value in changes.items():
            setattr(cmd, name, value)

    return change


STEP_REJECTIONS: dict[str, Callable[[StepCommand], None]] = {
    "short query_lens": mutate(query_lens=i32([3])),
    "short top_p": mutate(top_p=f32([1.0])),
    "duplicate seq ids": mutate(seq_ids=i32([7, 7])),
    "query_len 0": mutate(query_lens=i32([0, 1]), token_ids=i32([-1])),
    "query_len > context_len": mutate(context_lens=i32([2, 9])),
    "context_len > max_model_len": mutate(context_lens=i32([5, 33])),
    "sum(query_lens) != len(token_ids)": mutate(token_ids=i32([1, 2, 3, 4, 5])),
    "block_table rows != S": mutate(block_table=i32([[0, 1, 2]])),
    "context beyond block_table": mutate(block_table=i32([[0, 1], [2, 3]])),
    "block_table wider than max_model_len": mutate(block_table=i32(np.zeros((2, 9)))),
    "block id = num_blocks": mutate(block_table=i32([[0, 1, 0], [2, 3, 16]])),
    "negative block id": mutate(block_table=i32([[0, -1, 0], [2, 3, 4]])),
    "token id = vocab": mutate(token_ids=i32([1, 2, 128, -1])),
    "token id -2": mutate(token_ids=i32([1, 2, 3, -2])),
    "-1 inside a prefill chunk": mutate(token_ids=i32([1, -1, 3, 4])),
    "-1 first of a multi-token query": mutate(token_ids=i32([-1, 2, 3, 4])),
    "sample 2": mutate(sample=i32([1, 2])),
    "penalty_lens don't sum": mutate(penalty_lens=i32([1, 1]), penalty_tokens=i32([5])),
    "negative penalty_len": mutate(penalty_lens=i32([-1, 1]), penalty_tokens=i32([])),
    "penalty token out of vocab": mutate(penalty_lens=i32([1, 0]), penalty_tokens=i32([128])),
    "swap_out gpu block out of range": mutate(swap_out=pairs([[16, 0]])),
    "swap_out cpu block out of range": mutate(swap_out=pairs([[0, 4]])),
    "swap_in cpu block out of range": mutate(swap_in=pairs([[4, 0]])),
    "swap_in gpu block out of range": mutate(swap_in=pairs([[0, -1]])),
    "copy out of range": mutate(copy=pairs([[0, 16]])),
    "swap_out to one cpu block twice": mutate(swap_out=pairs([[5, 0], [6, 0]])),
    "swap_in to one gpu block twice": mutate(swap_in=pairs([[1, 6], [2, 6]])),
    "copy to one block twice": mutate(copy=pairs([[7, 8], [9, 8]])),
    "pairs of 3": mutate(copy=i32([[0, 1, 2]])),
}


# per-sequence sampling values: the step runs, the bad sequence (row 0 or 1) is refused alone
SEQUENCE_REFUSALS: dict[str, Callable[[StepCommand], None]] = {
    "negative temperature": mutate(temperature=f32([0, -0.5])),
    "NaN temperature": mutate(temperature=f32([np.nan, 0])),
    "infinite temperature": mutate(temperature=f32([np.inf, 0])),
    "top_p 0": mutate(top_p=f32([0, 1])),
    "top_p > 1": mutate(top_p=f32([1.5, 1])),
    "NaN top_p": mutate(top_p=f32([np.nan, 1])),
    "negative top_k": mutate(top_k=i32([-1, 0])),
    "NaN penalty": mutate(frequency_penalty=f32([0, np.nan])),
    "num_logprobs > 20": mutate(num_logprobs=i32([21, -1])),
    "num_logprobs -2": mutate(num_logprobs=i32([-2, -1])),
    "temperature 1e-40": mutate(temperature=f32([1e-40, 0])),
}


@pytest.mark.parametrize("name", SEQUENCE_REFUSALS)
def test_bad_sampling_values_refuse_that_sequence_alone(name: str) -> None:
    cmd = base_step()
    SEQUENCE_REFUSALS[name](cmd)
    bad_rows = [
        row
        for row in range(2)
        if not (
            np.isfinite(cmd.temperature[row])
            and (cmd.temperature[row] == 0 or cmd.temperature[row] >= 1e-5)
            and 0 < cmd.top_p[row] <= 1
            and cmd.top_k[row] >= 0
            and np.isfinite(cmd.frequency_penalty[row])
            and -1 <= cmd.num_logprobs[row] <= 20
        )
    ]
    decoded = roundtrip(cmd)  # the step as a whole is valid
    problems = refuse_bad_values(decoded, GEO)
    assert len(bad_rows) == 1
    assert set(problems) == {int(cmd.seq_ids[bad_rows[0]])}
    # the refused sequence runs with neutral values; the other keeps its own
    assert decoded.temperature[bad_rows[0]] == 0 and decoded.top_p[bad_rows[0]] == 1
    assert decoded.num_logprobs[bad_rows[0]] == -1 and decoded.top_k[bad_rows[0]] == 0
    good_row = 1 - bad_rows[0]
    assert decoded.temperature[good_row] == cmd.temperature[good_row]
    assert decoded.top_p[good_row] == cmd.top_p[good_row]


@pytest.mark.parametrize("name", STEP_REJECTIONS)
def test_invalid_steps_rejected(name: str) -> None:
    cmd = base_step()
    STEP_REJECTIONS[name](cmd)
    with pytest.raises(ProtocolError) as e:
        roundtrip(cmd)
    assert e.value.type == "InvalidRequest"


def test_a_step_beyond_the_workers_limits_is_refused() -> None:
    """At most max_num_seqs rows and max_num_batched_tokens tokens (the worker's own flags): its
    activation room holds no more, and a small message must not make it allocate gigabytes."""
    rows = make_step([1, 2, 3, 4, 5], [[5]] * 5, [1] * 5, [[0]] * 5)
    tokens = make_step([1, 2], [[5] * 20, [6] * 5], [20, 5], [[0, 1, 2, 3, 4], [5, 6]])
    for cmd, limit in (
        (rows, "more sequences than 4"),
        (tokens, "more tokens than the worker takes"),
    ):
        with pytest.raises(ProtocolError, match=limit) as e:
            roundtrip(cmd)
        assert e.value.type == "InvalidRequest"
    tokens.query_lens[0] = tokens.context_lens[0] = 19
    tokens.token_ids = tokens.token_ids[1:]
    assert roundtrip(tokens).num_tokens == 24  # at the limit: fine


def test_last_token_reference_allowed_only_alone() -> None:
    cmd = make_step([1, 2], [[-1], [-1]], [3, 4], [[0], [1, 2]])
    assert roundtrip(cmd).token_ids.tolist() == [-1, -1]


FIELD_REJECTIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "unknown field": lambda f: f.update(temprature=b""),
    "missing token_ids": lambda f: f.pop("token_ids"),
    "array as a list": lambda f: f.update(seq_ids=[7, 9]),
    "array as a string": lambda f: f.update(seq_ids="\x07\x00\x00\x00"),
    "byte length not a multiple of 4": lambda f: f.update(seq_ids=f["seq_ids"] + b"\x00"),
    "2-D array as bin": lambda f: f.update(block_table=f["block_table"]["data"]),
    "2-D array shape mismatch": lambda f: f["block_table"].update(shape=[2, 4]),
    "2-D array negative shape": lambda f: f["block_table"].update(shape=[-2, -3]),
    "2-D array shape of bools": lambda f: f["block_table"].update(shape=[True, 3]),
    "2-D array extra key": lambda f: f["block_table"].update(dtype="int32"),
}


@pytest.mark.parametrize("name", FIELD_REJECTIONS)
def test_malformed_step_fields_rejected(name: str) -> None:
    fields = step_fields(base_step())
    FIELD_REJECTIONS[name](fields)
    with pytest.raises(ProtocolError) as e:
        decode_step(fields, GEO)
    assert e.value.type == "InvalidRequest"


def nested(depth: int) -> bytes:
    return b"\x91" * depth + b"\x00"  # fixarray of one element, nested


MESSAGE_REJECTIONS: dict[str, tuple[bytes, str]] = {
    "garbage": (b"\xc1\xc1\xc1", "MalformedMessage"),
    "empty": (b"", "MalformedMessage"),
    "truncated": (encode_request("hello", 1)[:-2], "MalformedMessage"),
    "trailing bytes": (encode_request("hello", 1) + b"\x00", "MalformedMessage"),
    "not a map": (msgpack.packb([1, 2, 3]), "MalformedMessage"),
    "integer keys": (msgpack.packb({1: 2}), "MalformedMessage"),
    "bin keys": (msgpack.packb({b"op": "hello", b"id": 1}), "MalformedMessage"),
    "extension type": (
        pack({"op": "hello", "id": 1, "x": msgpack.ExtType(5, b"x")}),
        "MalformedMessage",
    ),
    "timestamp": (
        b"\x83\xa2op\xa5hello\xa2id\x01\xa1x\xd6\xff\x00\x00\x00\x00",
        "MalformedMessage",
    ),
    "deep nesting": (b"\x83\xa2op\xa5hello\xa2id\x01\xa1x" + nested(5000), "MalformedMessage"),
    "too many arrays": (pack({"op": "hello", "id": 1, "x": [[]] * 300}), "MalformedMessage"),
    "long array": (pack({"op": "hello", "id": 1, "x": [0] * 5000}), "MalformedMessage"),
    "invalid utf-8": (b"\x82\xa2op\xa2\xff\xfe\xa2id\x01", "MalformedMessage"),
    "no id": (pack({"op": "hello"}), "MalformedMessage"),
    "negative id": (pack({"op": "hello", "id": -1}), "MalformedMessage"),
    "bool id": (pack({"op": "hello", "id": True}), "MalformedMessage"),
    "string id": (pack({"op": "hello", "id": "1"}), "MalformedMessage"),
    "unknown op": (encode_request("reboot", 1, 1), "UnknownOp"),
    "no op": (pack({"id": 1, "epoch": 1}), "UnknownOp"),
    "no epoch": (encode_request("profile", 1), "InvalidRequest"),
    "bool epoch": (encode_request("profile", 1, True), "InvalidRequest"),
    "string block_size": (encode_request("profile", 1, 1, block_size="16"), "InvalidRequest"),
    "float block_size": (encode_request("profile", 1, 1, block_size=16.0), "InvalidRequest"),
    "zero block_size": (encode_request("profile", 1, 1, block_size=0), "InvalidRequest"),
    "huge block_size": (encode_request("profile", 1, 1, block_size=2**31), "InvalidRequest"),
    "extra field": (encode_request("shutdown", 1, 1, now=True), "InvalidRequest"),
    "init_cache missing a field": (
        encode_request("init_cache", 1, 1, block_size=16, num_blocks=4, num_cpu_blocks=0),
        "InvalidRequest",
    ),
}


@pytest.mark.parametrize("name", MESSAGE_REJECTIONS)
def test_malformed_messages_rejected(name: str) -> None:
    data, error_type = MESSAGE_REJECTIONS[name]
    with pytest.raises(ProtocolError) as e:
        decode_request(data)
    assert e.value.type == error_type
    if error_type != "MalformedMessage":
        assert e.value.request_id == 1  # so the error reply names the request it answers


def test_size_limit_checked_before_unpacking() -> None:
    data = encode_step(1, 1, base_step())
    assert decode_request(data, max_bytes=len(data)).op == "step"
    with pytest.raises(ProtocolError) as e:
        decode_request(data, max_bytes=len(data) - 1)
    assert e.value.type == "MessageTooLarge"


def test_an_extension_type_that_passes_the_length_cap_is_refused_by_its_hook() -> None:
    """An empty ext payload passes max_ext_len=0 and reaches the ext hook, which must refuse it too."""
    data = pack({"op": "hello", "id": 1, "x": msgpack.ExtType(5, b"")})
    with pytest.raises(ProtocolError, match="msgpack extension type 5 is not allowed") as e:
        decode_request(data)
    assert e.value.type == "MalformedMessage"
