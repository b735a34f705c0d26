"""examples/custom_controller.py, a controller that imports nothing from SwiftLLM, against a real worker process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import (
    make_step,
    runner_for,
    save_tiny_model,
    serve_cpu_worker,
    start_cpu_worker,
    write_token_file,
)
from tokenizers import Tokenizer, decoders, models

from swiftllm.protocol.auth import new_token

REPO = Path(__file__).resolve().parents[2]
PROMPT = "ĀąĸŁŒŠŽſĄĦƀ"  # one token per character in the tiny tokenizer below


def test_example_imports_nothing_from_swiftllm() -> None:
    source = (REPO / "examples" / "custom_controller.py").read_text()
    assert "import swiftllm" not in source and "from swiftllm" not in source
    assert len(source.splitlines()) < 160  # the docs say "about 120 lines" (of code)


def tiny_tokenizer() -> Tokenizer:
    """Token i is the character U+0100 + i: the 128 printable letters of Latin Extended-A, one per token id."""
    tokenizer = Tokenizer(models.BPE(vocab={chr(0x100 + i): i for i in range(128)}, merges=[]))
    tokenizer.decoder = decoders.Fuse()
    return tokenizer


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny-with-tokenizer")
    save_tiny_model(path, seed=3)
    tiny_tokenizer().save(str(path / "tokenizer.json"))
    return path


@pytest.fixture(scope="module")
def worker(model_dir: Path) -> Iterator[str]:
    yield from serve_cpu_worker(model_dir)


def run_example(worker: str, max_tokens: int, *flags: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPO / "examples" / "custom_controller.py"), "--worker", worker]
    return subprocess.run(
        [*command, "--prompt", PROMPT, "--max-tokens", str(max_tokens), *flags],
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def greedy_reference(model_dir: Path, prompt: list[int], max_tokens: int) -> list[int]:
    """What the example must compute, from ModelRunner.step directly: the same two prefill chunks, then decode."""
    runner = runner_for(model_dir, num_blocks=4, block_size=16, max_len=64)
    eos = set(runner.model_config.eos_token_ids)
    blocks, half = [[0, 1, 2]], len(prompt) // 2
    runner.step(make_step([0], [prompt[:half]], [half], blocks, sample=[0]))
    token = int(runner.step(make_step([0], [prompt[half:]], [len(prompt)], blocks)).tokens[0])
    out: list[int] = []
    while token not in eos and len(out) < max_tokens:
        out.append(token)
        token = int(
            runner.step(make_step([0], [[token]], [len(prompt) + len(out)], blocks)).tokens[0]
        )
    return out


@pytest.mark.parametrize("max_tokens", [1, 20])
def test_example_prints_the_greedy_text(worker: str, model_dir: Path, max_tokens: int) -> None:
    expected_ids = greedy_reference(model_dir, tiny_tokenizer().encode(PROMPT).ids, max_tokens)
    assert max_tokens == 1 or len(expected_ids) > 5, (
        "pick a prompt the tiny model does not end at once"
    )
    run = run_example(worker, max_tokens)
    assert run.returncode == 0, run.stderr.decode()
    assert run.stdout.decode("utf-8") == tiny_tokenizer().decode(expected_ids) + "\n"


def test_example_attaches_to_a_worker_with_a_session_token(model_dir: Path, tmp_path: Path) -> None:
    """A worker started with --token-file (as `swiftctl launch` starts each, and as any bound to a network
    address must be) refuses the example's hello without the token and serves it with --token-file."""
    token_file = write_token_file(tmp_path / "token", new_token())
    proc = start_cpu_worker(model_dir, "--token-file", str(token_file))
    try:
        address = proc.stdout.readline().split()[-1]
        refused = run_example(address, 4)
        assert refused.returncode != 0 and b"Unauthorized" in refused.stderr
        served = run_example(address, 4, "--token-file", str(token_file))
        assert served.returncode == 0, served.stderr.decode()
        expected_ids = greedy_reference(model_dir, tiny_tokenizer().encode(PROMPT).ids, 4)
        assert served.stdout.decode("utf-8") == tiny_tokenizer().decode(expected_ids) + "\n"
    finally:
        proc.kill()
        proc.wait()
