"""bench/persistent_gemv.py: the persistent pair of GEMVs against float64 in the interpreter (one program), and
compiled for sm_90 with the programs an SM holds (a child process: Triton compiles only where TRITON_INTERPRET
was unset at the kernel's import)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

# the kernels below run in Triton's interpreter; tests/kernels/conftest.py sets this first in a whole run
os.environ["TRITON_INTERPRET"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402
from bench_scripts import BENCH_DIR, load_script  # noqa: E402

persistent_gemv = load_script("persistent_gemv")


def test_the_persistent_pair_matches_float64() -> None:
    assert persistent_gemv.check_on_cpu() < 1e-5


def test_the_persistent_mlp_block_matches_float64() -> None:
    out_err, residual_err = persistent_gemv.check_mlp_on_cpu()
    assert out_err < 1e-5
    assert residual_err < 1e-6


def test_the_persistent_mlp_in_half_precision_stays_near_the_rounded_reference() -> None:
    out_err, residual_err = persistent_gemv.check_mlp_on_cpu(torch.float16)
    assert out_err < 5e-3
    assert residual_err < 1e-3


def test_the_check_would_see_a_wrong_second_stage() -> None:
    gen = torch.Generator().manual_seed(1)
    block_n = persistent_gemv.BLOCK_N
    block_k = persistent_gemv.BLOCK_K
    x = torch.randn(1, block_k, generator=gen)
    w1 = torch.randn(block_k, block_k, generator=gen) / 64
    w2 = torch.randn(2 * block_n, block_k, generator=gen) / 64
    counter = torch.zeros(1, dtype=torch.int32)
    out = persistent_gemv.persistent_pair(x, w1, w2, counter, programs=1)
    assert persistent_gemv.rel_err(out, persistent_gemv.reference(x, w1, w2)) < 1e-5
    assert int(counter) == 1  # the one program arrived at the barrier
    assert persistent_gemv.rel_err(out, persistent_gemv.reference(x, w1, -w2)) > 1.0


@pytest.mark.slow
def test_the_persistent_pair_compiles_for_hopper_and_fits_an_sm() -> None:
    env = {key: value for key, value in os.environ.items() if key != "TRITON_INTERPRET"}
    env["PYTHONPATH"] = str(BENCH_DIR.parent)
    script = str(BENCH_DIR / "persistent_gemv.py")
    done = subprocess.run(
        [sys.executable, script, "--resources"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    pattern = (
        r"persistent (\w+) for sm_90: (\d+) registers.*by registers (\d+), by shared memory (\d+)"
    )
    found = re.findall(pattern, done.stdout)
    assert [kernel for kernel, *_ in found] == ["pair", "mlp"], done.stdout
    for _, registers, by_registers, by_shared in found:
        assert 0 < int(registers) <= 255
        assert int(by_registers) >= 1 and int(by_shared) >= 1


def test_the_plot_draws_both_kernels(tmp_path: Path) -> None:
    rows = []
    for kernel in ("pair", "mlp"):
        for programs in (None, 132, 264):
            rows.append(
                {
                    "kernel": kernel,
                    "programs": programs,
                    "us_a_layer": 90.0,
                    "read_rate_vs_copy": 0.9,
                }
            )
    path = tmp_path / "persistent_gemv.png"
    persistent_gemv.plot({"device": "test", "rows": rows}, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
