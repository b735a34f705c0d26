"""swiftllm/launch/worker_cmd.py: `swiftctl worker` as a process (its flag checks: test_cli.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from swiftllm.launch.workers import free_port


def test_a_rank_waiting_at_the_rendezvous_says_so_and_ends_on_ctrl_c(tiny_model_dir: Path) -> None:
    """Session 47's probe: a rank whose peers never came printed nothing and ignored Ctrl-C until torch's
    30-minute rendezvous timeout (the wait is in C++, where Python's SIGINT handler cannot run)."""
    dist_init = f"tcp://127.0.0.1:{free_port()}"
    command = [
        sys.executable,
        "-m",
        "swiftllm.launch.cli",
        "worker",
        "--model",
        str(tiny_model_dir),
    ]
    rank = subprocess.Popen(
        [*command, "--device", "cpu", "--world-size", "2", "--dist-init", dist_init],
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(rank.stderr), daemon=True).start()
    try:
        waiting = f"rank 0: waiting for 2 ranks at {dist_init}"
        deadline = time.monotonic() + 60
        while not any(waiting in line for line in lines) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert any(waiting in line for line in lines), lines
        time.sleep(1)  # inside the rendezvous by now
        assert rank.poll() is None
        rank.send_signal(signal.SIGINT)
        assert rank.wait(10) == -signal.SIGINT
    finally:
        rank.kill()
        rank.wait()


def test_a_rank_outside_the_group_is_refused_before_loading() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "swiftllm.launch.cli", "worker", "--rank", "2", "--world-size", "2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == "swiftllm worker: rank 2 is not in [0, 2)\n"


def test_ctrl_c_while_serving_ends_the_worker_with_130(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """A worker serving (its listening line printed) ends on Ctrl-C with exit code 130, its socket file
    removed (server.close in the finally)."""
    bind = f"ipc://{tmp_path}/worker.sock"
    worker = subprocess.Popen(
        [
            *[sys.executable, "-m", "swiftllm.launch.cli", "worker"],
            *["--model", str(tiny_model_dir), "--device", "cpu", "--bind", bind],
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout.readline() == f"swiftllm worker listening on {bind}\n"
        worker.send_signal(signal.SIGINT)
        assert worker.wait(30) == 130
        assert "Traceback" not in worker.stderr.read()
        assert not Path(bind.removeprefix("ipc://")).exists()
    finally:
        worker.kill()
        worker.wait()
