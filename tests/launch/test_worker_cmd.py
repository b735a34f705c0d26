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
