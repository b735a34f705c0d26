"""The worker protocol on the wire: msgpack maps whose arrays travel as packed little-endian bytes.

A request is {"op", "id", "epoch", ...op fields}; a reply is {"id", ...results} or {"id", "error": {"type",
"message"}}. What the fields mean and which values are valid: messages.py and docs/protocol.md.
msgpack only: no pickle, no extension types, and limits on everything before Python allocates it."""

import math
from typing import Any

import msgpack
import numpy as np

from swiftllm.protocol import messages
from swiftllm.protocol.messages import OP_FIELDS, STEP_REQUIRED, ProtocolError, is_int, require
from swiftllm.protocol.step import RESULT_ARRAYS, STEP_ARRAYS, StepCommand, StepResult

PROTOCOL_VERSION = 3  # 2: steps may carry repetition_penalty and min_p; 3: seeds are uint64
DEFAULT_MAX_MESSAGE_BYTES = 64 << 20
# Bulk data travels as bin, so a message needs few maps and arrays, each short; only a hostile peer sends more,
# and these caps keep its message from making Python allocate far more than the message's size.
MAX_CONTAINERS = 256
MAX_CONTAINER_LEN = 4096
MAX_STR_LEN = 1 << 20


def pack_array(array: np.ndarray, prototype: np.ndarray) -> bytes | dict[str, Any]:
    data = np.ascontiguousarray(array, dtype=prototype.dtype.newbyteorder("<")).tobytes()
    return data if prototype.ndim == 1 else {"shape": list(array.shape), "data": data}


def pack_arrays(message: object, prototypes: dict[str, np.ndarray]) -> dict[str, Any]:
    """The array fields of a StepCommand or StepResult named in `prototypes`, each packed (pack_array)."""
    return {name: pack_array(getattr(message, name), proto) for name, proto in prototypes.items()}


def unpack_array(name: str, value: object, prototype: np.ndarray) -> np.ndarray:
    if prototype.ndim == 2:  # a map {shape, data}: the data packed as a 1-D array's
        require(
            isinstance(value, dict) and set(value) == {"shape", "data"},
            f"{name} must be a map {{shape, data}}",
        )
        shape = value["shape"]
        require(
            isinstance(shape, list)
            and len(shape) == 2
            and all(is_int(size) and 0 <= size < messages.INT32_LIMIT for size in shape),
            f"{name}.shape must be [rows, cols]",
        )
        array = unpack_array(name, value["data"], prototype.ravel())
        require(
            shape[0] * shape[1] == len(array),
            f"{name}.shape {shape} does not match its {len(array)} values",
        )
        return array.reshape(shape)
    # dtype.str ("<i4"), not str(dtype): a message is formatted on every call, and str(dtype) is slow Python
    require(isinstance(value, bytes), f"{name} must be bin: packed {prototype.dtype.str}")
    size = prototype.dtype.itemsize
    require(len(value) % size == 0, f"{name} has {len(value)} bytes, not a multiple of {size}")
    # a writable copy
    return np.frombuffer(value, dtype=prototype.dtype.newbyteorder("<")).astype(prototype.dtype)


def pack(message: dict[str, Any]) -> bytes:
    return msgpack.packb(message, use_bin_type=True)


def unpack_map(data: bytes, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> dict[str, Any]:
    require(
        len(data) <= max_bytes,
        f"message of {len(data)} bytes exceeds the limit of {max_bytes}",
        "MessageTooLarge",
    )
    budget = iter(range(MAX_CONTAINERS))  # one item per map or array

    def count(container: Any) -> Any:
        if next(budget, None) is None:
            raise ValueError(f"more than {MAX_CONTAINERS} maps and arrays")
        return container

    def no_ext(code: int, data: bytes) -> None:
        raise ValueError(f"msgpack extension type {code} is not allowed")

    try:
        message = msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            object_hook=count,
            list_hook=count,
            ext_hook=no_ext,
            max_ext_len=0,
            max_str_len=MAX_STR_LEN,
            max_array_len=MAX_CONTAINER_LEN,
            max_map_len=MAX_CONTAINER_LEN,
        )
    # msgpack raises several types (ValueError, FormatError, StackError, ExtraData ...)
    except Exception as e:
        raise ProtocolError(
            "MalformedMessage", f"not a msgpack message: {type(e).__name__}: {e}"
        ) from None
    require(
        isinstance(message, dict) and all(isinstance(key, str) for key in message),
        "a message must be a msgpack map with string keys",
        "MalformedMessage",
    )
    return message


def encode_request(op: str, request_id: int, epoch: int | None = None, **op_fields: Any) -> bytes:
    epoch_field = {} if epoch is None else {"epoch": epoch}  # only a hello may go without
    return pack({"op": op, "id": request_id, **epoch_field, **op_fields})


def decode_request(data: bytes, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> messages.Request:
    """Envelope and integer fields; a step's arrays wait for decode_step, which needs the cache geometry."""
    message = unpack_map(data, max_bytes)
    request_id = message.get("id")
    require(
        is_int(request_id) and 0 <= request_id < 2**64,
        "a request needs an integer id in [0, 2**64)",
        "MalformedMessage",
    )
    try:
        op = message.get("op")
        epoch = message.get("epoch")
        known = isinstance(op, str) and op in OP_FIELDS  # a list or map is unhashable
        require(known, f"unknown op {op!r:.100}; ops are {', '.join(OP_FIELDS)}", "UnknownOp")
        require(
            (is_int(epoch) and epoch >= 0) or (epoch is None and op == "hello"),
            "epoch must be an integer >= 0",
        )
        given = {key: value for key, value in message.items() if key not in ("op", "id", "epoch")}
        # hello's session token (auth.py): a string, checked by the worker
        token = given.pop("token", None) if op == "hello" else None
        require(token is None or isinstance(token, str), "hello.token must be a string")
        if op != "step":  # a step's arrays are checked by decode_step
            given = messages.check_int_fields(op, given)
        return messages.Request(op, request_id, epoch, given, token)
    except ProtocolError as e:
        e.request_id = request_id
        raise


def decode_step(given: dict[str, Any], geometry: messages.CacheGeometry | None) -> StepCommand:
    """A step's arrays, validated against the cache geometry (None before init_cache, which is checked
    first: a step then gets CacheNotInitialized, whatever its arrays hold)."""
    messages.require_cache(geometry)
    messages.require_known_fields("step", given, STEP_ARRAYS)
    require(set(STEP_REQUIRED) <= given.keys(), f"step needs the fields {', '.join(STEP_REQUIRED)}")
    arrays = {name: unpack_array(name, value, STEP_ARRAYS[name]) for name, value in given.items()}
    for name, default in messages.PER_SEQ_DEFAULTS.items():
        arrays.setdefault(name, np.full(len(arrays["seq_ids"]), default, STEP_ARRAYS[name].dtype))
    cmd = StepCommand(**arrays)
    messages.validate_step(cmd, geometry)
    return cmd


def encode_reply(request_id: int | None, **results: Any) -> bytes:
    return pack({"id": request_id, **results})


def encode_error(request_id: int | None, type_: str, message: str) -> bytes:
    return pack({"id": request_id, "error": {"type": type_, "message": message[:4000]}})


def result_fields(result: StepResult) -> dict[str, Any]:
    timings = {name: float(ms) for name, ms in result.timings.items()}
    # a list of [seq id, message] pairs: msgpack map keys must be strings here
    errors = [[seq_id, message[:1000]] for seq_id, message in result.errors.items()]
    return {**pack_arrays(result, RESULT_ARRAYS), "timings": timings, "errors": errors}


def decode_reply(data: bytes) -> dict[str, Any]:
    """A reply map with a checked `id` (nil when the worker could not read the request) and `error`, if any."""
    reply = unpack_map(data)
    request_id = reply.get("id")
    # absent, there is no error; present, it must be this map (a nil was taken, then read as one)
    error = reply.get("error", {"type": "", "message": ""})
    require(  # nil only in an error reply: the worker could not read the request (a success must name it)
        is_int(request_id) or (request_id is None and "error" in reply),
        "a reply's id must be an integer, or nil in an error reply",
        "MalformedMessage",
    )
    require(
        isinstance(error, dict) and all(isinstance(error.get(f), str) for f in ("type", "message")),
        "a reply's error must be {type: str, message: str}",
        "MalformedMessage",
    )
    return reply


def is_error_pair(pair: object) -> bool:
    """One entry of a step reply's errors: [seq id, message]."""
    return (
        isinstance(pair, list) and len(pair) == 2 and is_int(pair[0]) and isinstance(pair[1], str)
    )


def decode_result(reply: dict[str, Any]) -> StepResult:
    """A step reply's results; fields this version does not know are ignored, so workers may add some."""
    arrays = {
        name: unpack_array(name, reply[name], proto)
        for name, proto in RESULT_ARRAYS.items()
        if name in reply
    }
    timings = reply.get("timings", {})
    require(
        isinstance(timings, dict) and all(isinstance(ms, (int, float)) for ms in timings.values()),
        "timings must map names to numbers",
    )
    errors = reply.get("errors", [])
    require(
        isinstance(errors, list) and all(map(is_error_pair, errors)),
        "errors must be a list of [seq id, message] pairs",
    )
    # a timing that is not finite (a worker's own) is dropped: in /metrics' running totals a NaN stayed NaN
    finite = {name: float(ms) for name, ms in timings.items() if math.isfinite(ms)}
    return StepResult(**arrays, timings=finite, errors=dict(errors))
