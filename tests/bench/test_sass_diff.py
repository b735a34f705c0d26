"""bench/sass_diff.py: two trees' kernels compiled for sm_90 here (Triton's own ptxas) and their SASS compared."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bench_scripts import BENCH_DIR

REPO = BENCH_DIR.parent
KERNELS = "inverse_cdf_sample,silu_mul"  # two quick compiles: the tests' time goes to ptxas


def copy_tree(tmp_path: Path) -> Path:
    """A copy of this tree's swiftllm/ to change."""
    root = tmp_path / "old"
    shutil.copytree(
        REPO / "swiftllm", root / "swiftllm", ignore=shutil.ignore_patterns("__pycache__")
    )
    return root


def run_diff(old_root: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "TRITON_INTERPRET"}
    env["PYTHONPATH"] = str(REPO)
    command = [sys.executable, str(BENCH_DIR / "sass_diff.py"), str(old_root), "--only", KERNELS]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)


def verdicts(stdout: str) -> dict[str, str]:
    """{kernel: its verdict} from the table's rows ("  kernel: variant    N instructions  verdict", columns
    apart by two spaces or more)."""
    rows = [
        re.split(r"\s{2,}", line.strip()) for line in stdout.splitlines() if line.startswith("  ")
    ]
    return {row[0].split(":")[0]: row[-1] for row in rows}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


@pytest.mark.slow
def test_a_copy_of_this_tree_compiles_to_identical_sass(tmp_path: Path) -> None:
    done = run_diff(copy_tree(tmp_path))
    assert done.returncode == 0, done.stderr
    # each tree's own files were compiled, not this one's twice (python -c puts its cwd first on sys.path)
    assert f"old tree:  {tmp_path / 'old'}" in done.stdout
    assert verdicts(done.stdout) == {"inverse_cdf_sample": "identical", "silu_mul": "identical"}


@pytest.mark.slow
def test_a_changed_constant_is_different_and_a_moved_line_is_reordered(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    sample = root / "swiftllm" / "kernels" / "sample.py"
    # the sampling kernel's store, written through a name as before session 61: the same work, another order
    edit(
        sample,
        "    tl.store(out_ptr + i, tl.minimum(tl.min(tl.where(passed, start + v, vocab)), last))",
        "    token = tl.minimum(tl.min(tl.where(passed, start + v, vocab)), last)\n"
        "    tl.store(out_ptr + i, token)",
    )
    done = run_diff(root)
    found = verdicts(done.stdout)
    assert found["inverse_cdf_sample"] == "same instructions, other order", done.stdout
    assert found["silu_mul"] == "identical"
    assert done.returncode == 0
    edit(sample, "return tl.minimum(x, 3.4028234663852886e38)", "return tl.minimum(x, 3.0e38)")
    done = run_diff(root)
    assert verdicts(done.stdout)["inverse_cdf_sample"] == "DIFFERENT", done.stdout
    assert done.returncode == 1


@pytest.mark.slow
def test_a_kernel_that_no_longer_compiles_as_launched_is_not_comparable(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    # the old tree's SiLU x mul names its block otherwise: this tree's launch (BLOCK=...) does not fit it
    edit(
        root / "swiftllm" / "kernels" / "silu_mul.py", "BLOCK: tl.constexpr", "WIDTH: tl.constexpr"
    )
    done = run_diff(root)
    assert verdicts(done.stdout)["silu_mul"] == "not comparable", done.stdout
    assert done.returncode == 1


def test_a_directory_without_kernels_is_refused(tmp_path: Path) -> None:
    done = run_diff(tmp_path)
    assert done.returncode == 2
    assert "holds no swiftllm/kernels/" in done.stderr
