"""bench/controller_step.py: the engine loop's host work per decode step, with an instant worker."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from bench_scripts import load_script

controller_step = load_script("controller_step")


def test_the_instant_worker_answers_each_sampling_row_through_the_codec(
    llama3_dummy_dir: Path,
) -> None:
    measured = controller_step.measure(str(llama3_dummy_dir), 8, True, 12, seed=0)
    assert (measured.batch, measured.prefix_caching, measured.steps) == (8, True, 12)
    assert measured.cpu_ms_per_step > 0
    assert 0 < measured.wall_ms_median <= measured.wall_ms_p90


def test_main_writes_a_row_per_batch_and_cache_setting(
    llama3_dummy_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    monkeypatch.setattr(controller_step, "RESULTS", tmp_path)
    argv = [
        "controller_step.py",
        "--batches",
        "4,8",
        "--steps",
        "10",
        "--model-dir",
        str(llama3_dummy_dir),
    ]
    monkeypatch.setattr(sys, "argv", argv)
    controller_step.main()
    data = json.loads((tmp_path / "controller_step.json").read_text())
    rows = [(row["batch"], row["prefix_caching"]) for row in data["rows"]]
    assert rows == [(4, True), (4, False), (8, True), (8, False)]
    assert data["host"]["commit"]
    assert "CPU ms/step" in capsys.readouterr().out
