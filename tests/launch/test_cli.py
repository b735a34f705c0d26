"""`swiftctl generate` end to end, and its bad-input paths: one clear line, non-zero exit, no traceback."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from swiftllm.llm import LLM
from swiftllm.models.gguf_import import ensure_default_model
from swiftllm.sampling_params import SamplingParams


def swiftctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "swiftllm.launch.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_generate_streams_the_greedy_completion() -> None:
    model = ensure_default_model()
    r = swiftctl(
        "generate", "--prompt", "The capital of France is", "--max-tokens", "12", "--ignore-eos"
    )
    assert r.returncode == 0, r.stderr
    ref = LLM(str(model)).generate(
        ["The capital of France is"], SamplingParams(max_tokens=12, temperature=0, ignore_eos=True)
    )[0]
    assert r.stdout == ref.text + "\n" and len(ref.text) > 10


@pytest.mark.parametrize(
    "args,message",
    [
        (["--model", "/nonexistent/dir"], "does not exist"),
        (["--model", ""], "model directory '' does not exist"),  # was the current directory
        (["--top-p", "1.5"], "top_p"),
        (["--temperature", "-1"], "temperature"),
        (["--max-tokens", "0"], "max_tokens"),
        (["--max-model-len", "99999999"], "exceeds"),
        (
            ["--max-num-batched-tokens", "0"],
            "max_num_batched_tokens must be an integer in [1, 2**64)",
        ),
        (["--block-size", "12"], "block_size must be a positive power of two"),
        (["--scheduler-policy", "nosuch:Policy"], "No module named 'nosuch'"),
        (["--schedule-policy", "os:sep"], "is not a subclass of Scheduler"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(args: list[str], message: str) -> None:
    r = swiftctl("generate", "--prompt", "hi", *args)
    assert r.returncode != 0 and message in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args,message",
    [
        (["--threads", "0"], "threads must be an integer in [1, 2**64)"),
        (["--threads", "100000"], "threads must be at most 1024"),  # libgomp crashed at start
        (["--max-num-seqs", "0"], "max_num_seqs must be an integer in [1, 2**64)"),
        (["--gpu-memory-utilization", "2"], "gpu_memory_utilization must be in (0, 1]"),
        (["--world-size", "3", "--pp", "2"], "3 workers do not form 2 pipeline stages"),
        (["--world-size", "2"], "--world-size 2 needs --dist-init tcp://HEAD:PORT"),  # session 57
        (["--bind", "tcp://0.0.0.0:5555"], "without a session token"),
        (["--bind", "tcp://127.0.0.1:70000"], "the port must be in [0, 65535] or *"),
        (["--bind", "garbage"], "'garbage' is no ZeroMQ address"),  # a token was said to be missing
    ],
)
def test_a_worker_checks_its_flags_as_the_server_does(args: list[str], message: str) -> None:
    """`swiftctl worker` refuses what `swiftctl launch` refuses, before loading (session 41 found it
    did not: --threads 100000 crashed in libgomp), and without announcing a load first (session 49's
    docs check: it printed "loading ..." before refusing a bind)."""
    r = swiftctl("worker", *args)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = swiftctl("generate", "--prompt", "hi", *args[:2])  # the same rule for the engine's flags
    if args[0] not in ("--world-size", "--bind"):
        assert r.returncode != 0 and message in r.stderr


def test_a_worker_address_zeromq_refuses_is_one_line() -> None:
    """Session 47's probe: `--worker-addrs garbage` was a ZMQError traceback; session 48's: a port above
    65,535 was connected to less 65,536, and an unclosed IPv6 bracket waited out the 300 s attach."""
    cases = {
        "garbage": "'garbage' is no ZeroMQ address such as tcp://HOST:PORT or ipc://PATH",
        "foo://127.0.0.1:5555": "Protocol not supported (addr='foo://127.0.0.1:5555')",  # ZeroMQ's
        "tcp://127.0.0.1:abc": "the port must be in [0, 65535] or *",
        "tcp://127.0.0.1:70000": "the port must be in [0, 65535] or *",
        "tcp://[::1:5555": "an IPv6 host goes in brackets",
    }
    for address, message in cases.items():
        r = swiftctl("launch", "--model", str(ensure_default_model()), "--worker-addrs", address)
        assert r.returncode == 1 and message in r.stderr and "swiftctl: error: " in r.stderr
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_a_host_that_does_not_resolve_is_refused_before_any_worker_starts() -> None:
    """`--host` is resolved before the workers start (it failed once they had loaded the model, without
    naming the host); a worker started would print its loading lines, so one line alone shows none did."""
    model = ensure_default_model()
    r = swiftctl("launch", "--model", str(model), "--device", "cpu", "--host", "999.1.1.1")
    assert r.returncode == 1 and "swiftctl: error: --host '999.1.1.1': " in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.slow
def test_a_prompt_that_is_not_utf8_is_one_line() -> None:
    """Session 44's probe: invalid UTF-8 (a lone surrogate to Python) gave the tokenizer's traceback."""
    r = swiftctl("generate", "--prompt", b"caf\xe9".decode(errors="surrogateescape"))
    assert r.returncode != 0 and "a prompt must be UTF-8 text" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_prompt_longer_than_the_context(tmp_path: Path) -> None:
    r = swiftctl("generate", "--prompt", "word " * 300, "--max-model-len", "128")
    assert r.returncode != 0 and "context" in r.stderr and "Traceback" not in r.stderr


def test_malformed_model_directory(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    r = swiftctl("generate", "--prompt", "hi", "--model", str(tmp_path))
    assert r.returncode != 0 and "malformed" in r.stderr and "Traceback" not in r.stderr


def test_version_and_help_show_defaults() -> None:
    import swiftllm

    version = swiftctl("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"swiftctl {swiftllm.__version__}"
    usage = swiftctl("serve", "--help")
    assert usage.returncode == 0
    text = " ".join(usage.stdout.split())  # argparse wraps lines
    assert "--gpu-memory-utilization" in text and "(default: 0.9)" in text
    assert "--served-model-name" in text and "--threads" in text and "(default: 512)" in text


def test_pull_prints_the_embedded_models_directory() -> None:
    r = swiftctl("pull")
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout == f"{ensure_default_model()}\n"


def test_ctrl_c_while_launch_waits_for_its_workers_exits_130_without_a_traceback() -> None:
    """`main` ends a command interrupted by Ctrl-C with exit code 130 (the shell's), quietly: here
    `swiftctl launch --worker-addrs` waiting for a worker that never answers."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    launch = subprocess.Popen(
        [sys.executable, "-m", "swiftllm.launch.cli", "launch", "--worker-addrs", address],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        waiting = launch.stderr.readline()
        assert waiting == f"waiting up to 300 s for the workers at {address}\n"
        time.sleep(0.3)  # in its wait for the worker's hello reply
        launch.send_signal(signal.SIGINT)
        assert launch.wait(30) == 130
        assert launch.stderr.read() == ""
    finally:
        launch.kill()
        launch.wait()
