"""bench/common.py's ceilings: the best round of each ceiling, not one round's figure (the real measurement
needs a GPU; a fake one returns known rounds)."""

from __future__ import annotations

from bench_scripts import load_script

common = load_script("common")


def test_best_ceilings_takes_each_ceilings_own_best_round() -> None:
    rounds = [
        {"copy_bw_Bps": 4.05e12, "matmul_flops": 767e12},
        {"copy_bw_Bps": 4.22e12, "matmul_flops": 725e12},
        {"copy_bw_Bps": 4.11e12, "matmul_flops": 740e12},
    ]
    assert common.best_ceilings(rounds) == {"copy_bw_Bps": 4.22e12, "matmul_flops": 767e12}


def test_ceilings_measures_every_round(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(common, "CEILING_PAUSE_S", 0.0)
    copies = iter([4.1e12, 4.0e12, 4.2e12, 3.9e12])
    calls = []

    def fake_round() -> dict:
        calls.append(1)
        return {"copy_bw_Bps": next(copies), "matmul_flops": 700e12 + 1e12 * len(calls)}

    best = common.ceilings(rounds=4, measure=fake_round)
    assert len(calls) == 4
    assert best == {"copy_bw_Bps": 4.2e12, "matmul_flops": 704e12}
