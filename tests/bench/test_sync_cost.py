"""bench/sync_cost.py: its chains and persistent rounds count right in the interpreter (one program), and its
persistent kernel compiles for sm_90 with the synchronisation it claims (a child process: Triton compiles only
where TRITON_INTERPRET was unset at the kernel's import)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# the kernels below run in Triton's interpreter; tests/kernels/conftest.py sets this first in a whole run
os.environ["TRITON_INTERPRET"] = "1"

import torch  # noqa: E402
from bench_scripts import BENCH_DIR, load_script  # noqa: E402

sync_cost = load_script("sync_cost")


def test_every_synchronised_form_counts_the_hops() -> None:
    ok = sync_cost.check_forms(1, 6, torch.device("cpu"))
    assert ok == {"chain": True, "chain-nopdl": True, "barrier": True, "flag": True}


def test_the_check_sees_a_hop_that_went_missing() -> None:
    bufs = sync_cost.round_buffers(1, 4, torch.device("cpu"))
    sync_cost.run_chain(bufs[:-1], False)  # the last hop not run
    assert not sync_cost.holds_the_count(bufs)
    sync_cost.run_chain(bufs[-2:], False)
    assert sync_cost.holds_the_count(bufs)


def test_the_persistent_kernel_compiles_for_hopper_with_release_and_acquire() -> None:
    env = {key: value for key, value in os.environ.items() if key != "TRITON_INTERPRET"}
    env["PYTHONPATH"] = str(BENCH_DIR.parent)
    script = str(BENCH_DIR / "sync_cost.py")
    done = subprocess.run(
        [sys.executable, script, "--ptx"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    barrier, flag = done.stdout.split("flag:")
    assert "atom.global.gpu.release.add" in barrier
    assert "atom.global.gpu.release.exch" in flag
    for part in (barrier, flag):
        lines = [line.strip() for line in part.splitlines()]
        atomics = [
            line for line in lines if "atom.global" in line or "ld.global.gpu.acquire" in line
        ]
        assert len(atomics) >= 2
        # one thread arrives and polls (predicated), the block waits on it
        assert all(line.startswith("@%p") for line in atomics)
        assert "bar.sync" in part


def test_the_plot_draws_every_form(tmp_path: Path) -> None:
    hop_us = {form: 1.0 + i for i, form in enumerate(sync_cost.FORMS)}
    rows = [{"programs": 132, "hop_us": hop_us}, {"programs": 264, "hop_us": hop_us}]
    path = tmp_path / "sync_cost.png"
    sync_cost.plot({"device": "test", "rows": rows}, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
