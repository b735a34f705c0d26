"""`swiftctl launch --load-format dummy` end to end: the worker gets the weight format and the CUDA-graph
switch, the server answers, `--scheduler-policy module:Class` schedules its steps, and the launch process
itself never maps libtorch (only its worker does)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def child_pids(parent: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:  # fields[1]: the parent's pid
            pids.append(int(stat.parent.name))
    return pids


def wait_for_url(proc: subprocess.Popen, timeout_s: float = 240.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if select.select([proc.stdout], [], [], 1.0)[0]:
            line = proc.stdout.readline()
            if "serving" in line:
                return line.split(" on ")[-1].strip()
    raise RuntimeError(f"swiftctl launch did not start (exit code {proc.poll()})")


# a policy from outside the core, found on PYTHONPATH: Scheduler's own, noting each step it schedules
MARKING_POLICY = """
import os
from swiftllm.controller.scheduler import Scheduler

class MarkingPolicy(Scheduler):
    def schedule(self):
        batch = super().schedule()
        with open(os.environ["POLICY_MARKS"], "a") as marks:
            marks.write(f"{sum(batch.query_lens)}\\n")
        return batch
"""


def test_dummy_weights_reach_the_worker_and_the_launcher_maps_no_torch(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SWIFTLLM_API_KEY"}
    (tmp_path / "marking_policy.py").write_text(MARKING_POLICY)
    marks = tmp_path / "marks.txt"
    python_path = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    env.update(PYTHONPATH=python_path, POLICY_MARKS=str(marks))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "swiftllm.launch.cli",
            "launch",
            "--port",
            "0",
            "--load-format",
            "dummy",
            "--no-cuda-graphs",
            "--kv-cache-memory-gb",
            "0.05",
            "--max-model-len",
            "256",
            "--scheduler-policy",
            "marking_policy:MarkingPolicy",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = wait_for_url(proc)
        body = json.dumps({"prompt": [1, 2, 3], "max_tokens": 4, "ignore_eos": True}).encode()
        request = urllib.request.Request(
            url + "/v1/completions", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            assert response.status == 200
            assert json.loads(response.read())["usage"]["completion_tokens"] == 4
        # the policy scheduled the request's steps: its 3 prompt tokens, then a decode per step
        tokens_per_step = [int(line) for line in marks.read_text().split()]
        assert [3, 1, 1, 1] == [count for count in tokens_per_step if count][-4:]
        assert "libtorch" not in Path(f"/proc/{proc.pid}/maps").read_text()
        workers = child_pids(proc.pid)
        assert len(workers) == 1
        worker_args = Path(f"/proc/{workers[0]}/cmdline").read_text().split("\0")
        assert worker_args[1:3] == ["-m", "swiftllm.launch.worker_cmd"]
        assert "--no-cuda-graphs" in worker_args
        assert worker_args[worker_args.index("--load-format") + 1] == "dummy"
        assert "libtorch" in Path(f"/proc/{workers[0]}/maps").read_text()  # the check can see it
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
    assert code == 0


def test_a_signal_while_an_attached_worker_is_stopped_mid_step_exits_cleanly(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Session 57's probe: `launch --worker-addrs` stopped (SIGINT) while its worker hung in a step closed the
    worker sockets under the engine thread still waiting on one, which died in a ZMQError traceback (`Socket
    operation on non-socket`) after the shutdown line. The sockets are now left to the process's exit then."""
    import shutil

    from swiftllm.launch.workers import free_port
    from swiftllm.models.gguf_import import ensure_default_model

    model = tmp_path / "tiny"
    shutil.copytree(tiny_model_dir, model)
    shutil.copy(ensure_default_model() / "tokenizer.json", model)  # prompts: token ids below 128
    address = f"tcp://127.0.0.1:{free_port()}"
    cli = [sys.executable, "-m", "swiftllm.launch.cli"]
    worker = subprocess.Popen(
        [*cli, "worker", "--model", str(model), "--bind", address, "--threads", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    env = {k: v for k, v in os.environ.items() if k != "SWIFTLLM_API_KEY"}
    launch = None
    try:
        assert "listening" in worker.stdout.readline()
        launch = subprocess.Popen(
            [*cli, "launch", "--port", "0", "--model", str(model), "--worker-addrs", address]
            + ["--shutdown-timeout", "0.5", "--kv-cache-memory-gb", "0.05"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**env, "PYTHONUNBUFFERED": "1"},
        )
        url = wait_for_url(launch)
        body = {"prompt": [1, 2, 3], "max_tokens": 200, "ignore_eos": True, "stream": True}
        request = urllib.request.Request(
            url + "/v1/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.readline().startswith(b"data: ")  # its steps are running
            worker.send_signal(signal.SIGSTOP)  # the step in flight is never answered
            time.sleep(0.5)
            launch.send_signal(signal.SIGINT)
            assert b"data: [DONE]" in response.read()  # the stream still ends
        assert launch.wait(60) == 0
        stderr = launch.stderr.read()
        assert "stopped by a signal" in stderr
        assert "Traceback" not in stderr and "ZMQError" not in stderr, stderr
    finally:
        if launch is not None and launch.poll() is None:
            launch.kill()
        worker.send_signal(signal.SIGCONT)
        worker.kill()
        worker.wait()
