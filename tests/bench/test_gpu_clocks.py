"""bench/gpu_clocks.py: parsing nvidia-smi's samples, the summary, and the monitor's child process (a fake
nvidia-smi on PATH stands in for the GPU's)."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from bench_scripts import load_script

gpu_clocks = load_script("gpu_clocks")


def test_parse_skips_what_is_not_two_numbers() -> None:
    text = "1980, 120.5\nclocks.current.sm [MHz], power.draw [W]\n1500, [N/A]\n1410, 699.8\n15"
    samples = gpu_clocks.parse_samples(text)
    assert samples == [gpu_clocks.Sample(1980.0, 120.5), gpu_clocks.Sample(1410.0, 699.8)]


def test_summary_is_the_median_and_tenth_percentile() -> None:
    samples = [
        gpu_clocks.Sample(mhz, 700.0 - i) for i, mhz in enumerate([1500, 1980, 1410, 1500, 1600])
    ]
    summary = gpu_clocks.summarize(samples)
    assert summary["sm_mhz_median"] == 1500.0
    assert summary["sm_mhz_p10"] == pytest.approx(1410 + 0.4 * 90)  # numpy's linear interpolation
    assert summary["power_w_median"] == 698.0
    assert summary["samples"] == 5
    assert gpu_clocks.mhz(summary) == "1500"


def test_without_nvidia_smi_nothing_is_sampled(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no nvidia-smi
    with gpu_clocks.ClockMonitor() as clocks:
        pass
    assert clocks.summary()["samples"] == 0
    assert clocks.summary()["sm_mhz_median"] is None
    assert gpu_clocks.mhz(clocks.summary()) == "-"


def test_the_monitor_reads_its_child_processes_samples(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # a fake nvidia-smi that checks its arguments and prints a sample every 20 ms until terminated
    fake = tmp_path / "nvidia-smi"
    fake.write_text(
        "#!/bin/sh\n"
        'case "$*" in *--query-gpu=clocks.sm,power.draw*--loop-ms=20*) ;; *) exit 3 ;; esac\n'
        "while true; do echo '1620, 695.5'; sleep 0.02; done\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with gpu_clocks.ClockMonitor(interval_ms=20) as clocks:
        time.sleep(0.5)
    summary = clocks.summary()
    assert summary["samples"] >= 3
    assert summary["sm_mhz_median"] == 1620.0
    assert summary["power_w_median"] == 695.5
