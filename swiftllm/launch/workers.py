"""Worker processes on this host: spawn N ranks, wait until each has bound its socket, notice one that died,
and stop them all. Used by `swiftctl launch` and by `LLM(..., tensor_parallel_size=T)`.

Each rank is `python -m swiftllm.launch.worker_cmd --rank R --world-size N --dist-init tcp://127.0.0.1:PORT`
bound to a private ipc:// socket: torch loads there, never in the controller's process."""

import contextlib
import ctypes
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from swiftllm.config import EngineConfig
from swiftllm.controller.worker_group import WorkerGroup
from swiftllm.launch.args import WORKER_OPTIONS, flags_from_config
from swiftllm.protocol.auth import TOKEN_ENV, new_token

# what `python -m swiftllm.launch.worker_cmd` does, for a `python -c` that first drops the current directory
RUN_WORKER_CMD = "import runpy; runpy.run_module('swiftllm.launch.worker_cmd', run_name='__main__', alter_sys=True)"


def free_port() -> int:
    """A TCP port on 127.0.0.1 free now (the rendezvous binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalWorkers:
    """The worker processes of one group, started here; `addresses` in rank order. Their sockets lie
    in a directory of their own, which `stop` removes."""

    def __init__(self, config: EngineConfig) -> None:
        # a fresh session token: each worker gets it in its environment (never on its command line)
        # and each hello carries it (protocol/auth.py)
        self.token = new_token()
        world_size = config.world_size
        # 0700: only we can reach the workers' sockets
        self.runtime_dir = tempfile.mkdtemp(prefix="swiftllm-")
        self.socket_paths = [f"{self.runtime_dir}/worker{rank}.sock" for rank in range(world_size)]
        self.addresses = [f"ipc://{path}" for path in self.socket_paths]
        dist_init = f"tcp://127.0.0.1:{free_port()}"
        self.processes = [
            start_worker(config, address, rank, dist_init, self.token)
            for rank, address in enumerate(self.addresses)
        ]
        self.group: WorkerGroup | None = None  # once connected

    def problem(self) -> str | None:
        """Why the group cannot serve (a rank exited, with its code), or None."""
        for rank, process in enumerate(self.processes):
            if (exit_code := process.poll()) is not None:
                return f"worker rank {rank} (pid {process.pid}) exited with code {exit_code}"
        return None

    def connect(self, timeout_s: float = 900.0) -> WorkerGroup:
        """Wait until every rank has loaded its shard and bound its socket (a rank that exits raises),
        then open a session with each (a group whose waits notice a dead rank)."""
        deadline = time.monotonic() + timeout_s
        while not all(os.path.exists(path) for path in self.socket_paths):
            if problem := self.problem():
                raise RuntimeError(f"{problem} while starting")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the workers did not start within {timeout_s:g} s")
            time.sleep(0.1)
        self.group = WorkerGroup(self.addresses, liveness=self.problem, token=self.token)
        self.group.hello()
        return self.group

    def stop(self, polite: bool) -> None:
        """A shutdown request if the group is free to send one, else SIGTERM; SIGKILL if neither works.
        Every process is waited for, so none is left behind; then the socket directory is removed."""
        stopped = False
        if self.group is not None:
            if polite and self.problem() is None:
                with contextlib.suppress(RuntimeError):  # WorkerError, or a step still in flight
                    for client in self.group.clients:
                        client.timeout_s = 10.0
                    self.group.shutdown()
                    stopped = True
            self.group.close()
        for process in self.processes:
            if not stopped and process.poll() is None:
                process.terminate()
        # a rank blocked in a collective (its peer died) runs no Python signal handler: SIGKILL it soon
        deadline = time.monotonic() + (15 if stopped else 5)
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.runtime_dir, ignore_errors=True)


def start_worker(
    config: EngineConfig, address: str, rank: int, dist_init: str, token: str
) -> subprocess.Popen:
    """`python -m swiftllm.launch.worker_cmd` with the worker's options from `config`, rank `rank` of
    `config.world_size`, bound to `address`; the session token goes in its environment, never on its
    command line (readable in /proc)."""
    command = [sys.executable, "-m", "swiftllm.launch.worker_cmd"]
    command += [*flags_from_config(config, WORKER_OPTIONS), "--bind", address]
    if config.world_size > 1:
        command += ["--rank", str(rank), "--world-size", str(config.world_size)]
        command += ["--pipeline-parallel-size", str(config.pipeline_parallel_size)]
        command += ["--dist-init", dist_init]
    # The worker runs in its own session (a terminal's Ctrl-C reaches only us; we stop it) and, on Linux, gets
    # SIGKILL if we die, however we die, so none is orphaned: PR_SET_PDEATHSIG, set in the child before exec
    # (prctl looked up here: no dlopen there). SIGKILL, not SIGTERM: a rank blocked in a collective runs no
    # Python signal handler; its socket directory is ours and we remove it. The "parent" is the thread that
    # starts the process: started from another thread (an LLM built in a worker thread), the worker would die
    # when that thread ends, so only the main thread's workers get it (the others are stopped by `stop`).
    die_with_parent = None
    if sys.platform == "linux" and threading.current_thread() is threading.main_thread():
        die_with_parent = functools.partial(ctypes.CDLL(None).prctl, 1, signal.SIGKILL)
    # `python -m` puts the current directory first on the path, where a grp.py would shadow the standard
    # library's: PYTHONSAFEPATH (Python 3.11+) leaves it off, unless swiftllm itself is found there (a
    # source checkout run from its root, not installed). Python 3.10 ignores PYTHONSAFEPATH, so there the
    # worker runs by `python -c`, whose first statement drops the directory ('' in sys.path[0]) before any
    # import. Only there: on 3.13, `-c` itself imports linecache and traceback after '' is on the path.
    safe_path = "" if Path(__file__).parents[2].resolve() == Path.cwd().resolve() else "1"
    if safe_path and sys.version_info < (3, 11):
        command[1:3] = ["-c", f"import sys; del sys.path[0]; {RUN_WORKER_CMD}"]
    return subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=die_with_parent,
        env={**os.environ, TOKEN_ENV: token, "PYTHONSAFEPATH": safe_path},
    )
