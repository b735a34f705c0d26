"""examples/group_controller.py drives a 2-rank tensor-parallel group, started by hand, to one worker's text."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_custom_controller import (  # noqa: F401 (model_dir: a fixture)
    PROMPT,
    REPO,
    greedy_reference,
    model_dir,
    tiny_tokenizer,
)

from swiftllm.launch.workers import free_port


def test_example_imports_nothing_from_swiftllm() -> None:
    source = (REPO / "examples" / "group_controller.py").read_text()
    assert "import swiftllm" not in source and "from swiftllm" not in source


@pytest.mark.slow
def test_a_two_rank_group_prints_one_workers_greedy_text(
    model_dir: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """With a session token, as the README's two-host recipe has (the example had no --token-file)."""
    token_file = tmp_path / "token"
    token_file.write_text("s3cret\n")
    token_file.chmod(0o600)
    dist_init = f"tcp://127.0.0.1:{free_port()}"
    addresses = [f"tcp://127.0.0.1:{free_port()}" for _ in range(2)]
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "swiftllm.launch.worker_cmd",
                "--model",
                str(model_dir),
                "--device",
                "cpu",
                "--rank",
                str(rank),
                "--world-size",
                "2",
                "--dist-init",
                dist_init,
                "--bind",
                addresses[rank],
            ],
            stdout=subprocess.DEVNULL,
            env={**os.environ, "SWIFTLLM_WORKER_TOKEN": "s3cret"},
        )
        for rank in range(2)
    ]
    try:
        expected_ids = greedy_reference(model_dir, tiny_tokenizer().encode(PROMPT).ids, 20)
        run = subprocess.run(
            [
                sys.executable,
                str(REPO / "examples" / "group_controller.py"),
                *[arg for address in addresses for arg in ("--worker", address)],
                "--prompt",
                PROMPT,
                "--max-tokens",
                "20",
                "--token-file",
                str(token_file),
            ],
            capture_output=True,
            timeout=120,
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        )
        assert run.returncode == 0, run.stderr.decode()
        assert run.stdout.decode("utf-8") == tiny_tokenizer().decode(expected_ids) + "\n"
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
