"""bench/profile_diff.py: two profile_step results set side by side, checked on results made up here (the
profiles themselves need a GPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_scripts import load_script

profile_diff = load_script("profile_diff")


def step(rows: int, step_ms: float, kinds: dict[str, tuple[float, float]], kernels: dict) -> dict:
    """A profile_step step: kinds maps a kind to (µs, floor µs); "all kernels" is their sum."""
    gap = [{"kind": kind, "us": us, "floor_us": floor} for kind, (us, floor) in kinds.items()]
    gap.append(
        {
            "kind": "all kernels",
            "us": sum(us for us, _ in kinds.values()),
            "floor_us": sum(floor for _, floor in kinds.values()),
        }
    )
    return {
        "decode_rows": rows,
        "context": 1088,
        "chunks": 0,
        "chunk_tokens": 0,
        "step_ms_unprofiled": step_ms,
        "gap": gap,
        "kernels_us": kernels,
    }


SLOW = {
    "device": "slow card",
    "commit": "aaa",
    "pdl": False,
    "steps": [
        step(
            8,
            6.0,
            {"linears": (5000.0, 4800.0), "the rest (no floor)": (300.0, 0.0)},
            {"_gemv": 5000.0, "_norm": 300.0},
        ),
        step(32, 7.0, {"linears": (5500.0, 5000.0)}, {"_gemv": 5500.0}),
    ],
}
FAST = {
    "device": "fast card",
    "commit": "bbb",
    "pdl": False,
    "steps": [
        step(
            8,
            4.0,
            {"linears": (3600.0, 3400.0), "the rest (no floor)": (300.0, 0.0)},
            {"_gemv": 3600.0, "_norm": 250.0, "_new": 40.0},
        ),
        step(64, 5.0, {"linears": (4000.0, 3900.0)}, {"_gemv": 4000.0}),
    ],
}


def test_only_the_steps_both_profiled_are_set_side_by_side() -> None:
    steps = profile_diff.common_steps(SLOW, FAST)
    assert [key.decode_rows for key, _, _ in steps] == [8]


def test_excess_by_kind_and_between_kernels() -> None:
    slow, fast = SLOW["steps"][0], FAST["steps"][0]
    # the same fixed excess on both cards: 200 µs of linears, 300 of the rest
    assert profile_diff.excess_by_kind(slow) == {
        "linears": 200.0,
        "the rest (no floor)": 300.0,
        "between kernels": pytest.approx(700.0),  # 6,000 µs step, 5,300 of kernels
    }
    assert profile_diff.excess_by_kind(fast)["between kernels"] == pytest.approx(100.0)
    # a fixed cost is a larger ratio where the floor is smaller
    assert profile_diff.step_ratio(slow) == pytest.approx(6000 / 4800)
    assert profile_diff.step_ratio(fast) == pytest.approx(4000 / 3400)


def test_kernels_listed_by_how_much_they_differ() -> None:
    changes = profile_diff.kernel_changes(SLOW["steps"][0], FAST["steps"][0], 2)
    assert changes == [("_gemv", 5000.0, 3600.0), ("_norm", 300.0, 250.0)]
    # a kernel only one side launched counts 0 on the other
    everything = profile_diff.kernel_changes(SLOW["steps"][0], FAST["steps"][0], 10)
    assert ("_new", 0.0, 40.0) in everything


def test_main_prints_both_sides_and_draws(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    a.write_text(json.dumps(SLOW))
    # b rebuilt from a log: no kernel list
    without_kernels = json.loads(json.dumps(FAST))
    for s in without_kernels["steps"]:
        del s["kernels_us"]
    b.write_text(json.dumps(without_kernels))
    png = tmp_path / "diff.png"
    profile_diff.main([str(a), str(b), "--png", str(png)])
    out = capsys.readouterr().out
    assert "A: slow card aaa (PDL False, a.json)" in out
    assert "8 rows at 1088: step 6.000 / 4.000 ms, 1.250 / 1.176 x floor (A / B)" in out
    assert "32 rows" not in out and "64 rows" not in out
    assert "(no kernel list" in out
    total = next(line for line in out.splitlines() if line.startswith("total excess"))
    assert total.split()[2:] == ["1200.0", "|", "600.0"]
    assert png.stat().st_size > 1000
