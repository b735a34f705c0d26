"""bench/protocol_cost.py: a decode step and its reply survive the round trip through the codec (checked before
timing), and the JSON holds a time for each operation at each size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_scripts import load_script

protocol_cost = load_script("protocol_cost")


def test_round_trips_then_times_each_operation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENCH_OUT", str(tmp_path))
    assert protocol_cost.main(["--rows", "2,40", "--calls", "3", "--repeats", "1"]) == 0
    data = json.loads((tmp_path / "protocol_cost.json").read_text())
    assert set(data["rows"]) == {"2", "40"}
    for figures in data["rows"].values():
        assert all(figures[op] > 0 for op in ("encode_step", "decode_step", "decode_result"))
    # a row adds its per-sequence values and a 64-block table row: 4 bytes each
    per_row = (data["rows"]["40"]["step_bytes"] - data["rows"]["2"]["step_bytes"]) / 38
    assert per_row >= 4 * protocol_cost.TABLE_WIDTH


def test_a_step_that_does_not_survive_the_round_trip_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_decode = protocol_cost.codec.decode_step

    def lossy(fields: dict, geometry: object) -> object:
        cmd = real_decode(fields, geometry)
        cmd.context_lens[0] -= 1
        return cmd

    monkeypatch.setattr(protocol_cost.codec, "decode_step", lossy)
    with pytest.raises(AssertionError, match="context_lens"):
        protocol_cost.measure(4, calls=1, repeats=1)
