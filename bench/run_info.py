"""Where results go and what stamps them (date, commit): torch-free, shared by every benchmark."""

from __future__ import annotations

import datetime
import math
import os
import subprocess
import time
from pathlib import Path

RESULTS = Path(os.environ.get("BENCH_OUT") or Path(__file__).parent / "results")
# host_info's probe: a fixed pure-Python loop of this many iterations (~10-20 ms on the GPU boxes' cores)
PROBE_ITERATIONS = 200_000


def git_commit() -> str:
    """$SWIFTLLM_COMMIT (a device copy of the tree has no .git), else `git rev-parse` with "-dirty" when a
    tracked file of swiftllm/ or bench/ differs from it, else "unknown". Git answers only for the checkout
    whose top holds this bench/: a tree unpacked inside another checkout (`git archive` into an ignored
    folder, as device calls do) would otherwise be stamped with the outer checkout's commit."""
    commit = os.environ.get("SWIFTLLM_COMMIT")
    if commit:
        return commit
    root = Path(__file__).resolve().parent.parent
    try:
        top = _git(root, "rev-parse", "--show-toplevel")
        if Path(top).resolve() != root:
            return "unknown"
        changed = _git(
            root, "status", "--porcelain", "--untracked-files=no", "--", "swiftllm", "bench"
        )
        dirty = "-dirty" if changed else ""
        return _git(root, "rev-parse", "--short", "HEAD") + dirty
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _git(root: Path, *args: str) -> str:
    return subprocess.check_output(
        ["git", *args], text=True, cwd=root, stderr=subprocess.DEVNULL
    ).strip()


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def none_if_nan(value: object) -> object:
    """A missing figure (NaN) as JSON's null; any other value as it is."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def python_loop_s(iterations: int) -> float:
    """Seconds this core takes for `iterations` steps of a fixed pure-Python loop."""
    start = time.perf_counter()
    total = 0
    for index in range(iterations):
        total += index & 7
    return time.perf_counter() - start


def python_probe_ms(iterations: int = PROBE_ITERATIONS, rounds: int = 5) -> float:
    """Milliseconds one core takes for a fixed loop of Python bytecode (the best of `rounds`, after as many
    untimed, so that an idle core has raised its clock): how fast this host runs the controller's kind of
    work, comparable across machines. Lower is faster. Best of 3 with no warm-up read 7.6 and 14.4 ms on one
    H200 box (session 33, call 4)."""
    for _ in range(rounds):
        python_loop_s(iterations)
    return min(python_loop_s(iterations) for _ in range(rounds)) * 1e3


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ("unknown" where there is none)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def host_info() -> dict:
    """The host side of a run: serving all at once over HTTP is bound by the host as much as by the GPU on
    some machines (docs/performance_log.md, session 33, call 3: the controller's CPU a step 2.9-4.0 ms against
    1.9-2.2 on another H200 box), so each serving and throughput result records the host it ran on. Taken
    before the run: the CPU model, the cores this process may use, the 1-minute load average, and
    python_probe_ms."""
    return {
        "cpu": cpu_model(),
        "cores": len(os.sched_getaffinity(0)),
        "load_1min": os.getloadavg()[0],
        "python_probe_ms": python_probe_ms(),
    }


def host_line(host: dict) -> str:
    """host_info's fields as one line of a benchmark's table."""
    return (
        f"host: {host['cpu']}, {host['cores']} cores, load {host['load_1min']:.1f}, "
        f"Python probe {host['python_probe_ms']:.1f} ms (lower is faster)"
    )
