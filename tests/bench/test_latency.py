"""bench/latency.py's roofline floor (the script itself needs a GPU)."""

from __future__ import annotations

import pytest
from latency import roofline_ms

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
