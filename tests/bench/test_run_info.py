"""bench/run_info.py's commit stamp: the environment's, the checkout's own, or "unknown" for a copy inside
another checkout (how device calls unpack trees), never the outer checkout's commit; and host_info, the host
a run records."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

RUN_INFO = Path(__file__).parents[2] / "bench" / "run_info.py"


def git(cwd: Path, *args: str) -> str:
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    return subprocess.check_output(["git", *identity, *args], cwd=cwd, text=True).strip()


def stamp(tree: Path, env: dict[str, str] | None = None) -> str:
    """git_commit() as a benchmark in `tree` would stamp it."""
    code = "import run_info; print(run_info.git_commit())"
    return subprocess.check_output(
        [sys.executable, "-c", code],
        cwd=tree,
        env={"PYTHONPATH": str(tree / "bench"), **(env or {})},
        text=True,
    ).strip()


def make_checkout(root: Path) -> Path:
    (root / "bench").mkdir(parents=True)
    (root / "swiftllm").mkdir()
    shutil.copy(RUN_INFO, root / "bench" / "run_info.py")
    (root / "swiftllm" / "model.py").write_text("x = 1\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "one")
    return root


def test_the_checkout_own_commit_then_dirty(tmp_path: Path) -> None:
    root = make_checkout(tmp_path / "repo")
    head = git(root, "rev-parse", "--short", "HEAD")
    assert stamp(root) == head
    (root / "swiftllm" / "model.py").write_text("x = 2\n")
    assert stamp(root) == head + "-dirty"


def test_a_tree_inside_another_checkout_is_unknown(tmp_path: Path) -> None:
    outer = make_checkout(tmp_path / "repo")
    inner = outer / ".before"
    (inner / "bench").mkdir(parents=True)
    shutil.copy(RUN_INFO, inner / "bench" / "run_info.py")
    assert stamp(inner) == "unknown"
    assert stamp(inner, {"SWIFTLLM_COMMIT": "abc1234"}) == "abc1234"


def test_host_info_reads_this_host_and_times_the_probe() -> None:
    sys.path.insert(0, str(RUN_INFO.parent))
    import run_info

    host = run_info.host_info()
    assert host["cores"] == len(os.sched_getaffinity(0))
    assert host["load_1min"] == pytest.approx(os.getloadavg()[0], abs=5.0)
    assert host["cpu"]  # a model name, or "unknown" without /proc/cpuinfo
    # the probe's time grows with its work: ten times the loop takes longer (best of three each)
    short = run_info.python_probe_ms(20_000)
    long = run_info.python_probe_ms(200_000)
    assert 0 < short < long
    line = run_info.host_line(host)
    assert f"{host['cores']} cores" in line and "Python probe" in line
