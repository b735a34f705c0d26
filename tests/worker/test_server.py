"""The worker's ZMQ server: same tokens as ModelRunner called directly, epochs, errors as replies, pipelining."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import msgpack
import numpy as np
import pytest
import zmq
from conftest import client_step, encode_step, make_step, runner_for, write_token_file

from swiftllm.controller.worker_client import WorkerClient, WorkerError
from swiftllm.protocol.codec import PROTOCOL_VERSION, encode_request
from swiftllm.protocol.step import StepCommand
from swiftllm.worker.model_runner import ModelRunner, WorkerConfig
from swiftllm.worker.server import WorkerServer

MAX_MESSAGE = 1 << 20
PROMPTS = {3: list(range(5, 40)), 8: [9, 1, 4, 4, 120, 64, 2]}  # seq id -> prompt


@pytest.fixture(scope="module")
def worker(tiny_model_dir: Path) -> Iterator[str]:
    server = WorkerServer(
        ModelRunner(WorkerConfig(model=str(tiny_model_dir), device="cpu")),
        max_message_bytes=MAX_MESSAGE,
    )
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    yield server.address
    with closing(WorkerClient(server.address, timeout_s=30)) as client:
        client.hello()
        client.shutdown()
    thread.join(10)
    server.close()
    assert not thread.is_alive()


@pytest.fixture
def client(worker: str) -> Iterator[WorkerClient]:
    with closing(WorkerClient(worker, timeout_s=30)) as c:
        c.hello()
        c.init_cache(block_size=16, num_blocks=64, num_cpu_blocks=8, max_model_len=256)
        yield c


def prefill_steps() -> list[StepCommand]:
    """Sequence 3's prompt in two chunks (the first samples nothing), sequence 8's whole prompt with the second."""
    p3, p8 = PROMPTS[3], PROMPTS[8]
    return [
        make_step([3], [p3[:20]], [20], [[0, 1]], sample=[0]),
        make_step([3, 8], [p3[20:], p8], [len(p3), len(p8)], [[0, 1, 2], [5]]),
    ]


def decode_step(tokens: list[int], context_lens: list[int]) -> StepCommand:
    return make_step([3, 8], [[t] for t in tokens], context_lens, [[0, 1, 2], [5]])


def reference_tokens(model_dir: Path, decodes: int) -> list[list[int]]:
    """Greedy tokens per step from ModelRunner.step called directly, with explicit token ids."""
    runner = runner_for(model_dir, num_blocks=64, block_size=16, max_len=256)
    out = [runner.step(cmd).tokens.tolist() for cmd in prefill_steps()]
    for i in range(decodes):
        cmd = decode_step(out[-1], [len(PROMPTS[3]) + i + 1, len(PROMPTS[8]) + i + 1])
        out.append(runner.step(cmd).tokens.tolist())
    return out


def test_hello_profile_and_greedy_steps_match_model_runner(
    worker: str, tiny_model_dir: Path
) -> None:
    with closing(WorkerClient(worker, timeout_s=30)) as client:
        info = client.hello()
        assert info["protocol_version"] == PROTOCOL_VERSION and info["epoch"] >= 1
        assert (
            info["model_config"]["vocab_size"] == 128 and info["model_config"]["max_context"] == 256
        )
        assert (info["rank"], info["world_size"], info["device"], info["dtype"]) == (
            0,
            1,
            "cpu",
            "float32",
        )
        assert Path(info["model_dir"]) == tiny_model_dir.resolve()
        profiled = client.call("profile", block_size=16)["num_blocks"]
        assert profiled == runner_for(tiny_model_dir, num_blocks=1).profile(16)
        client.init_cache(block_size=16, num_blocks=64, num_cpu_blocks=8, max_model_len=256)
        got = [client_step(client, cmd) for cmd in prefill_steps()]
        assert set(got[-1].timings) == {"queue_ms", "forward_ms", "sample_ms", "wait_ms"}
        tokens = [r.tokens.tolist() for r in got]
        for i in range(3):
            cmd = decode_step(tokens[-1], [len(PROMPTS[3]) + i + 1, len(PROMPTS[8]) + i + 1])
            tokens.append(client_step(client, cmd).tokens.tolist())
        assert tokens == reference_tokens(tiny_model_dir, 3)
        assert got[0].seq_ids.tolist() == [] and got[1].seq_ids.tolist() == [3, 8]


def test_pipelined_steps_answered_in_order_with_last_token_reference(
    client: WorkerClient, tiny_model_dir: Path
) -> None:
    steps = prefill_steps() + [
        decode_step([-1, -1], [len(PROMPTS[3]) + i + 1, len(PROMPTS[8]) + i + 1]) for i in range(4)
    ]
    ids = [client.send_step(cmd) for cmd in steps]  # all in flight before the first reply is read
    assert ids == sorted(ids)
    assert [client.recv_step().tokens.tolist() for _ in steps] == reference_tokens(
        tiny_model_dir, 4
    )


def test_a_failed_step_leaves_no_stale_token_for_the_steps_behind_it(client: WorkerClient) -> None:
    client.send_step(make_step([1], [[5, 6]], [2], [[0]]))  # samples a token for sequence 1
    client.send_step(make_step([1], [[-1]], [3], [[64]]))  # block 64 does not exist
    # would otherwise decode from sequence 1's old token
    client.send_step(make_step([1], [[-1]], [3], [[0]]))
    client.recv_step()
    for error_type in ("InvalidRequest", "ValueError"):
        with pytest.raises(WorkerError) as e:
            client.recv_step()
        assert e.value.type == error_type


def test_a_step_of_another_epoch_leaves_the_sessions_sampled_tokens(client: WorkerClient) -> None:
    """Session 56's hunt: a refused step (StaleEpoch) made the worker forget every sampled token, so that
    any peer, or a controller's leftover steps after a takeover, broke the session's next -1 decode."""
    first = client_step(client, make_step([1], [[5, 6]], [2], [[0]])).tokens.tolist()
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(client.address)
    try:
        reply = raw_request(
            sock, encode_step(7, client.epoch + 1, make_step([1], [[5]], [1], [[1]]))
        )
        assert reply["error"]["type"] == "StaleEpoch"
    finally:
        sock.close()
        ctx.term()
    # the session's -1 still finds sequence 1's token (else a ValueError reply): the same as sequence 2,
    # the same prompt, decoding that token given explicitly
    by_reference = client_step(client, make_step([1], [[-1]], [3], [[0]])).tokens.tolist()
    assert client_step(client, make_step([2], [[5, 6]], [2], [[2]])).tokens.tolist() == first
    assert by_reference == client_step(client, make_step([2], [first], [3], [[2]])).tokens.tolist()


def test_a_minus_one_for_a_sequence_a_step_in_flight_finished_is_an_error(
    client: WorkerClient,
) -> None:
    """Session 56's hunt: a -1 for a sequence that the step before listed in `finished` was an error when
    that step had been read back, but took the dropped token when the two were sent back to back."""
    finish_only = StepCommand(
        block_table=np.zeros((0, 0), np.int32), finished=np.array([1], np.int32)
    )
    samples_and_finishes = make_step([2], [[5, 6]], [2], [[2]])
    samples_and_finishes.finished = np.array([2], np.int32)
    steps = [
        make_step([1], [[5, 6]], [2], [[0]]),
        finish_only,
        make_step([1], [[-1]], [3], [[0]]),
        samples_and_finishes,
        make_step([2], [[-1]], [3], [[2]]),
    ]
    for cmd in steps:  # all in flight before the first reply is read
        client.send_step(cmd)
    outcomes = []
    for _ in steps:
        try:
            outcomes.append(len(client.recv_step().tokens))
        except WorkerError as error:
            outcomes.append(error.type)
    assert outcomes == [1, 0, "ValueError", 1, "ValueError"]


def test_thousands_of_requests_in_flight_are_all_answered(client: WorkerClient) -> None:
    """A ROUTER socket drops replies beyond its peer queue (1,000 messages by default): session 56's hunt
    had 2,000 of 3,000 answered and the controller waiting forever for the rest."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVHWM, 10)  # this end queues few: the worker's side must hold the rest
    sock.connect(client.address)
    count = 3000
    try:
        for request_id in range(count):  # refused at once (another epoch): the cheapest replies
            sock.send(encode_request("profile", request_id, client.epoch + 1))
        time.sleep(1)  # every reply sent before the first is read
        answered = set()
        while len(answered) < count and sock.poll(30_000):
            answered.add(msgpack.unpackb(sock.recv())["id"])
    finally:
        sock.close()
        ctx.term()
    assert answered == set(range(count))


def test_newer_hello_takes_over(worker: str) -> None:
    with (
        closing(WorkerClient(worker, timeout_s=30)) as first,
        closing(WorkerClient(worker, timeout_s=30)) as second,
    ):
        first.hello()
        second.hello()
        assert second.epoch != first.epoch and 0 < second.epoch < 2**63
        with pytest.raises(WorkerError) as e:
            first.call("profile")
        # the refusal does not tell the session's epoch, which would let any peer act in it
        assert e.value.type == "StaleEpoch" and str(second.epoch) not in str(e.value)
        assert second.call("profile")["num_blocks"] > 0
        first.hello()  # and back
        with pytest.raises(WorkerError, match="StaleEpoch"):
            second.init_cache(block_size=16, num_blocks=8, num_cpu_blocks=0, max_model_len=64)
        with (
            pytest.raises(WorkerError, match="send hello first"),
            closing(WorkerClient(worker, timeout_s=30)) as fresh,
        ):
            fresh.call("profile")


def raw_request(sock: zmq.Socket, payload: bytes) -> dict:
    sock.send(payload)
    assert sock.poll(30_000), "the worker did not answer"
    return msgpack.unpackb(sock.recv())


def test_malformed_requests_get_error_replies_and_the_worker_serves_on(
    client: WorkerClient,
) -> None:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(client.address)
    epoch = client.epoch
    bad_blocks = make_step([1], [[5, 6]], [2], [[64]])
    # sequence 77 has no sampled token to refer to
    bad_reference = make_step([77], [[-1]], [1], [[0]])
    cases = [
        (b"\x00garbage\xc1", None, "MalformedMessage"),
        (msgpack.packb([1, 2]), None, "MalformedMessage"),
        (encode_request("profile", 5, epoch, block_size="16"), 5, "InvalidRequest"),
        (encode_request("profile", 6, epoch, pad=b"x" * MAX_MESSAGE), None, "MessageTooLarge"),
        (encode_request("fly", 7, epoch), 7, "UnknownOp"),
        (encode_request("profile", 8, epoch + 1), 8, "StaleEpoch"),
        (encode_step(9, epoch, bad_blocks), 9, "InvalidRequest"),
        (encode_step(10, epoch, bad_reference), 10, "ValueError"),
        (
            encode_request(
                "init_cache",
                11,
                epoch,
                block_size=16,
                num_blocks=8,
                num_cpu_blocks=0,
                max_model_len=10**6,
            ),
            11,
            "ModelError",
        ),
        (encode_step(12, epoch, make_step([1], [[5]], [1], [[0]])), 12, "CacheNotInitialized"),
    ]
    try:
        for payload, request_id, error_type in cases:
            reply = raw_request(sock, payload)
            assert (reply["id"], reply["error"]["type"]) == (request_id, error_type), reply
            assert reply["error"]["message"]
    finally:
        sock.close()
        ctx.term()
    client.init_cache(
        block_size=16, num_blocks=64, num_cpu_blocks=8, max_model_len=256
    )  # still serving
    assert client_step(client, make_step([1], [[5, 6]], [2], [[0]])).seq_ids.tolist() == [1]


def test_worker_command_prints_its_private_address_and_shuts_down(tiny_model_dir: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "swiftllm.launch.worker_cmd",
            "--model",
            str(tiny_model_dir),
            "--device",
            "cpu",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("swiftllm worker listening on ipc://"), line
        address = line.split()[-1]
        socket_dir = Path(address.removeprefix("ipc://")).parent
        assert stat.S_IMODE(os.stat(socket_dir).st_mode) == 0o700
        with closing(WorkerClient(address, timeout_s=30)) as c:
            assert c.hello()["epoch"] >= 1
            c.shutdown()
        assert proc.wait(30) == 0
        assert not socket_dir.exists()
    finally:
        proc.kill()
        proc.wait()


def test_a_terminated_worker_removes_the_ipc_socket_it_was_told_to_bind(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Session 42: a worker started with --bind ipc://PATH left its socket file at PATH after SIGTERM."""
    path = tmp_path / "worker.sock"
    command = [sys.executable, "-m", "swiftllm.launch.worker_cmd", "--model", str(tiny_model_dir)]
    proc = subprocess.Popen(
        [*command, "--bind", f"ipc://{path}"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().split()[-1] == f"ipc://{path}"
        assert path.is_socket()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 143
        assert not path.exists()
    finally:
        proc.kill()
        proc.wait()


def test_bad_sampling_values_fail_their_sequence_alone(client: WorkerClient) -> None:
    """A sequence whose values the worker cannot compute with is named in the reply's errors; the step
    runs for the others, whose tokens match a step without the bad sequence."""
    good = make_step([21], [[5, 6, 7]], [3], [[0]])
    alone = client_step(client, good)
    mixed = make_step([21, 22], [[5, 6, 7], [8, 9]], [3, 2], [[0], [1]])
    mixed.top_p[1] = 0.0  # what 1e-300 becomes in float32
    result = client_step(client, mixed)
    assert result.seq_ids.tolist() == [21, 22]
    assert result.tokens[0] == alone.tokens[0]
    assert set(result.errors) == {22} and "top_p" in result.errors[22]


def test_penalty_minus_one_without_a_sampled_token_is_an_error_reply(client: WorkerClient) -> None:
    """-1 in penalty_tokens for a sequence with nothing sampled used to penalise token 0 silently."""
    cmd = make_step([31], [[5, 6]], [2], [[0]], presence_penalty=1.0)
    cmd.penalty_lens[:] = 1
    cmd.penalty_tokens = np.array([-1], dtype=np.int32)
    with pytest.raises(WorkerError) as e:
        client_step(client, cmd)
    assert e.value.type == "ValueError" and "no sampled token" in e.value.message
    assert client_step(client, make_step([32], [[5, 6]], [2], [[0]])).seq_ids.tolist() == [32]


def test_a_token_is_required_to_bind_beyond_loopback(tiny_model_dir: Path, tmp_path: Path) -> None:
    base = [sys.executable, "-m", "swiftllm.launch.worker_cmd", "--model", str(tiny_model_dir)]
    refused = subprocess.run(
        [*base, "--bind", "tcp://0.0.0.0:0"], capture_output=True, text=True, timeout=120
    )
    assert refused.returncode == 2 and "without a session token" in refused.stderr
    loose = tmp_path / "loose"
    loose.write_text("secret\n")
    loose.chmod(0o644)
    refused = subprocess.run(
        [*base, "--token-file", str(loose)], capture_output=True, text=True, timeout=120
    )
    assert refused.returncode == 2 and "readable by others" in refused.stderr


def test_worker_command_takes_its_token_from_a_file(tiny_model_dir: Path, tmp_path: Path) -> None:
    token_file = write_token_file(tmp_path / "token", "s3cret")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "swiftllm.launch.worker_cmd",
            "--model",
            str(tiny_model_dir),
            "--bind",
            "tcp://127.0.0.1:0",
            "--token-file",
            str(token_file),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        address = proc.stdout.readline().split()[-1]
        with closing(WorkerClient(address, timeout_s=30)) as c:
            with pytest.raises(WorkerError, match="Unauthorized"):
                c.hello()
            c.hello("s3cret")
            c.shutdown()
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        proc.wait()


def test_a_read_back_that_fails_twice_still_gets_its_error_reply(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sticky device error fails the step's read-back and then forget()'s read-back of what is left: the step
    must still get its error reply, in order (before session 37 the reply was lost and the controller saw the
    next step's reply out of order)."""
    runner = ModelRunner(WorkerConfig(model=str(tiny_model_dir), device="cpu"))
    server = WorkerServer(runner, max_message_bytes=MAX_MESSAGE)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    real_collect = runner.collect
    failures = {"collect": 0}

    def collect_fails_once(step: object) -> object:
        if failures["collect"] == 0:
            failures["collect"] += 1
            raise RuntimeError("device read-back failed")
        return real_collect(step)

    def forget_fails() -> None:
        raise RuntimeError("device read-back failed again")

    try:
        with closing(WorkerClient(server.address, timeout_s=30)) as client:
            client.hello()
            client.init_cache(block_size=16, num_blocks=64, num_cpu_blocks=8, max_model_len=256)
            monkeypatch.setattr(runner, "collect", collect_fails_once)
            monkeypatch.setattr(runner, "forget", forget_fails)
            first, second = prefill_steps()
            client.send_step(first)
            client.send_step(second)  # launched behind the first, whose read-back then fails
            with pytest.raises(WorkerError) as failed:
                client.recv_step()
            assert failed.value.type == "RuntimeError"
            assert client.recv_step().seq_ids.tolist() == [
                3,
                8,
            ]  # in order, and the worker serves on
            monkeypatch.undo()
            client.shutdown()
    finally:
        thread.join(10)
        server.close()


def test_a_worker_serves_on_an_ipv6_loopback_address(tiny_model_dir: Path) -> None:
    """Session 47's probe: tcp://[::1]:... failed to bind (ZeroMQ's IPv6 option was off)."""
    server = WorkerServer(
        ModelRunner(WorkerConfig(model=str(tiny_model_dir), device="cpu")), bind="tcp://[::1]:0"
    )
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    assert server.address.startswith("tcp://[::1]:")
    with closing(WorkerClient(server.address, timeout_s=30)) as c:
        assert c.hello()["epoch"] >= 1
        c.shutdown()
    thread.join(10)
    server.close()
    assert not thread.is_alive()
