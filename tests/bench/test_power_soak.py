"""bench/power_soak.py's summary of a soak (the soak itself needs a GPU)."""

from __future__ import annotations

import pytest
from bench_scripts import load_script

power_soak = load_script("power_soak")


def test_the_summary_sets_the_first_last_and_slowest_window_against_the_burst() -> None:
    windows = [{"ms": 10.0}, {"ms": 11.5}, {"ms": 11.0}]
    summary = power_soak.soak_summary(10.0, windows)
    assert summary["first_ms"] == 10.0
    assert summary["last_ms"] == 11.0  # the last window, not the mean or the first
    assert summary["slowest_ms"] == 11.5
    assert summary["first_over_burst"] == pytest.approx(1.0)
    assert summary["last_over_burst"] == pytest.approx(1.1)
    assert summary["slowest_over_burst"] == pytest.approx(1.15)
