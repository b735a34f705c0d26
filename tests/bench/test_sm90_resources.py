"""bench/sm90_resources.py: the GEMV's tiles compiled for sm_90 on this GPU-less machine (Triton's own ptxas)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench_scripts import BENCH_DIR


def test_every_decode_tile_compiles_for_hopper_and_reports_its_resources(tmp_path: Path) -> None:
    # a child process: the kernels are compiled only where TRITON_INTERPRET was unset at their import
    env = {key: value for key, value in os.environ.items() if key != "TRITON_INTERPRET"}
    env["BENCH_OUT"] = str(tmp_path)
    env["PYTHONPATH"] = str(BENCH_DIR.parent)
    script = str(BENCH_DIR / "sm90_resources.py")
    done = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = json.loads((tmp_path / "sm90_resources.json").read_text())["gemv"]
    assert [row["block_m"] for row in rows] == [1, 1, 16, 32, 64]
    for row in rows:
        assert 0 < row["registers"] <= 255
        assert row["stack_bytes"] >= 0
        assert row["sass_instructions"] > 100
    # the tl.dot tiles stage W through shared memory, BLOCK_N x BLOCK_K bf16 a stage; one row does not
    for row in rows[2:]:
        block_n, block_k, _, stages = row["config"]
        assert row["shared_bytes"] >= block_n * block_k * 2 * (stages - 1)
    assert rows[0]["shared_bytes"] < 4096
    assert "2-16 rows, any" in done.stdout


def test_interpreted_kernels_are_refused_with_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "TRITON_INTERPRET": "1", "BENCH_OUT": str(tmp_path)}
    env["PYTHONPATH"] = str(BENCH_DIR.parent)
    script = str(BENCH_DIR / "sm90_resources.py")
    done = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert "unset it" in done.stderr
