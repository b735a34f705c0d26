"""bench/sm90_resources.py: the decode step's kernels compiled for sm_90 on this GPU-less machine (Triton's own
ptxas)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bench_scripts import BENCH_DIR

from swiftllm.kernels.gemv import GEMV_CONFIGS


def run_script(tmp_path: Path, **env_changes: str) -> subprocess.CompletedProcess:
    # a child process: kernels are compiled only where TRITON_INTERPRET was unset at their import
    env = {key: value for key, value in os.environ.items() if key != "TRITON_INTERPRET"}
    env.update(env_changes, BENCH_OUT=str(tmp_path), PYTHONPATH=str(BENCH_DIR.parent))
    script = str(BENCH_DIR / "sm90_resources.py")
    return subprocess.run([sys.executable, script], env=env, capture_output=True, text=True)


@pytest.mark.slow
def test_every_decode_step_kernel_compiles_for_hopper_and_reports_its_resources(
    tmp_path: Path,
) -> None:
    done = run_script(tmp_path)
    assert done.returncode == 0, done.stderr
    rows = json.loads((tmp_path / "sm90_resources.json").read_text())["kernels"]
    kernels = [row["kernel"] for row in rows]
    assert kernels[: len(GEMV_CONFIGS)] == ["gemv"] * len(GEMV_CONFIGS)
    assert {"gemv", "decode", "reduce", "rmsnorm", "rotary_store", "silu_mul"} == set(kernels)
    for row in rows:
        assert 0 < row["registers"] <= 255
        assert row["stack_bytes"] >= 0
        assert row["sass_instructions"] > 50
    # the GEMV's tl.dot tiles stage W through shared memory, at least BLOCK_N x BLOCK_K bf16 a stage but one;
    # one row reads W into registers
    gemv_rows = [row for row in rows if row["kernel"] == "gemv"]
    # each of the two tiles that split K (o and down at 2-32 rows) follows its whole-K variant, same shared memory
    whole = [row for row in gemv_rows if not row["variant"].endswith(", parts")]
    parts = [row for row in gemv_rows if row["variant"].endswith(", parts")]
    assert [row["variant"].split(":")[0] for row in parts] == [
        "2-16 rows, any",
        "17-64 rows, narrow",
    ]
    for row in parts:
        base = next(other for other in whole if row["variant"] == other["variant"] + ", parts")
        assert row["shared_bytes"] == base["shared_bytes"]
    for row, config in zip(whole, GEMV_CONFIGS.values(), strict=True):
        if row["variant"].startswith("1 row"):
            assert row["shared_bytes"] < 8192
        else:
            assert row["shared_bytes"] >= config.block_n * config.block_k * 2 * (
                config.num_stages - 1
            )
    assert "2-16 rows, any" in done.stdout
    # the pipeline's copy buffers: a tl.dot GEMV stages W (and x, and up) num_stages deep; decode attention's
    # K and V one deep, its block-table load taking a stage (decode_attention.py's note above DEFAULT_TILES
    # says so: if a Triton upgrade changes this, update both); loads into registers leave none
    for row in gemv_rows:
        if row["variant"].startswith("1 row"):
            assert row["copy_buffers"] == []
        else:
            assert row["copy_buffers"] and set(row["copy_buffers"]) == {row["num_stages"]}
    decode_rows = [row for row in rows if row["kernel"] == "decode"]
    assert len(decode_rows) == 6
    assert all(row["copy_buffers"] == [1, 1] for row in decode_rows)
    assert all(
        row["copy_buffers"] == [] for row in rows if row["kernel"] in ("rmsnorm", "silu_mul")
    )


SIGNATURE_CHECK = """
import sm90_resources

variant = sm90_resources.attention_variants()[1]  # decode attention, 8 splits
types, by_position, attrs = sm90_resources.signature(variant)
names = variant.fn.arg_names
assert types["table_ptr"] == "*i32" and types["q_ptr"] == "*bf16" and types["qk_scale"] == "fp32"
assert by_position[(names.index("SPLITS"),)] == 8
assert (names.index("q_stride_s"),) in attrs  # an int a launch passes divisible by 16
assert (names.index("qk_scale"),) not in attrs
gemv_variant = sm90_resources.gemv_variants()[0]
_, _, gemv_attrs = sm90_resources.signature(gemv_variant)
assert (gemv_variant.fn.arg_names.index("m_rows"),) not in gemv_attrs  # do_not_specialize
print("signature ok")
"""


def test_the_signature_marks_what_a_launch_specialises() -> None:
    # a child process too: under the interpreter (other tests' modules set it) a kernel is not a JITFunction
    env = {key: value for key, value in os.environ.items() if key != "TRITON_INTERPRET"}
    env["PYTHONPATH"] = f"{BENCH_DIR.parent}{os.pathsep}{BENCH_DIR}"
    done = subprocess.run(
        [sys.executable, "-c", SIGNATURE_CHECK], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "signature ok" in done.stdout


def test_interpreted_kernels_are_refused_with_a_clear_error(tmp_path: Path) -> None:
    done = run_script(tmp_path, TRITON_INTERPRET="1")
    assert done.returncode == 2
    assert "unset it" in done.stderr
