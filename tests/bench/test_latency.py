"""bench/latency.py's roofline floor (the script itself needs a GPU)."""

from __future__ import annotations

import pytest
from latency import Run, per_step, roofline_ms

CEILINGS = {"copy_bw_Bps": 4e12, "matmul_flops": 800e12}


def test_roofline_reads_the_weights_at_few_rows_and_computes_at_many() -> None:
    weights = 15e9
    kv = 8e9
    # 1 row: 15 GB at 4 TB/s = 3.75 ms of weights beats 15e9 FLOPs at 800 TFLOP/s; KV 2 ms
    assert roofline_ms(1, weights, kv, CEILINGS) == pytest.approx(3.75 + 2.0)
    # 256 rows: 256 * 15e9 FLOPs at 800 TFLOP/s = 4.8 ms beats the 3.75 ms read
    assert roofline_ms(256, weights, kv, CEILINGS) == pytest.approx(4.8 + 2.0)
    # the crossing: rows = matmul rate / copy bandwidth = 200
    assert roofline_ms(200, weights, 0.0, CEILINGS) == pytest.approx(3.75)


def test_per_step_is_the_median_difference_over_the_extra_steps() -> None:
    # three (t1, t129) pairs whose device-ms differences are 128, 256 and 1280: the median, 256, over 128 steps
    pairs = [
        (Run(1.0, 0.1, 1, 10.0, 0.0), Run(2.0, 0.2, 129, 10.0 + diff, 1.0))
        for diff in (128.0, 1280.0, 256.0)
    ]
    assert per_step(pairs, "gpu_ms") == pytest.approx(2.0)
    assert per_step(pairs, "idle_ms") == pytest.approx(1.0 / 128)
    assert per_step(pairs, "seconds") == pytest.approx(1.0 / 128)
