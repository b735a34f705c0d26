"""bench/online_tpot.py: median TPOT beside the decode step at the rows the server ran, from two result files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.bench.bench_scripts import load_script

online_tpot = load_script("online_tpot")


def write_inputs(tmp_path: Path, device: str, batches: dict[int, float]) -> list[str]:
    serving = {
        "commit": "abc1234",
        "label": "test",
        "rates": [
            {
                "rate": "4",
                "output_tokens": 800,
                "tpot_ms": {"median": 4.73},
                "server": {"steps": 200, "step_ms_mean": 4.5},
            },
            {
                "rate": "inf",
                "output_tokens": 800,
                "tpot_ms": {"median": 9.0},
                "server": {"steps": 10},
            },
        ],
    }
    rows = [{"batch": b, "ms_per_step": ms} for b, ms in batches.items()]
    latency = {"commit": "abc1234", "device": device, "rows": rows}
    serving_path = tmp_path / "serving.json"
    latency_path = tmp_path / "latency.json"
    serving_path.write_text(json.dumps(serving))
    latency_path.write_text(json.dumps(latency))
    return [str(serving_path), str(latency_path)]


def run(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["online_tpot.py", *argv])
    online_tpot.main()


def test_step_at_interpolates_between_measured_batches() -> None:
    table = {1: 4.0, 8: 4.7, 32: 5.5}
    assert online_tpot.step_at(4.0, table) == pytest.approx(4.0 + 3 / 7 * 0.7)
    assert online_tpot.step_at(20.0, table) == pytest.approx(4.7 + 12 / 24 * 0.8)


def test_rows_and_ratios(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    run(monkeypatch, write_inputs(tmp_path, "NVIDIA H100 80GB HBM3", {1: 4.0, 8: 4.7, 32: 5.5}))
    lines = capsys.readouterr().out.splitlines()
    table = [line.split() for line in lines if line.strip().startswith("4 ")]
    assert len(table) == 1  # the all-at-once run is left out
    rate, rows, step, at_rows, tpot, per_step1, per_at_rows = table[0]
    assert float(rows) == pytest.approx(4.0)  # 800 output tokens over 200 steps
    assert float(step) == pytest.approx(4.5)
    assert float(at_rows) == pytest.approx(4.3, abs=0.005)
    assert float(per_step1) == pytest.approx(4.73 / 4.0, abs=5e-4)
    assert float(per_at_rows) == pytest.approx(4.73 / 4.3, abs=5e-4)
    assert "vLLM" not in "\n".join(lines)  # vLLM's figures are the H200's


def test_vllm_columns_on_an_h200(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    run(monkeypatch, write_inputs(tmp_path, "NVIDIA H200", {1: 4.0, 8: 4.7, 32: 5.5}))
    row = [line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("4 ")]
    peer = row[0].split("|")[1].split()
    vllm_at_rows = 4.94 + 3 / 7 * (5.28 - 4.94)
    assert float(peer[0]) == 5.12
    assert float(peer[1]) == pytest.approx(5.12 / 4.94, abs=5e-4)
    assert float(peer[2]) == pytest.approx(5.12 / vllm_at_rows, abs=5e-4)


def test_a_latency_file_of_one_batch_is_refused(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(SystemExit, match="needs latency.py's steps"):
        run(monkeypatch, write_inputs(tmp_path, "NVIDIA H100 80GB HBM3", {1: 4.0}))
