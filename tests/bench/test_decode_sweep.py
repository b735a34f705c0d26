"""bench/decode_sweep.py's inputs (the sweep itself needs a GPU): the tile configurations it parses and the
context lengths it draws."""

from __future__ import annotations

import os

# the script imports the decode kernel: under Triton's interpreter, as tests/kernels will run it
os.environ["TRITON_INTERPRET"] = "1"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from bench_scripts import load_script  # noqa: E402

decode_sweep = load_script("decode_sweep")


def test_tiles_parse_as_named_knobs() -> None:
    tiles = decode_sweep.parse_tiles("64x4x3,32x2x4")
    assert tiles == [decode_sweep.DecodeTiles(64, 4, 3), decode_sweep.DecodeTiles(32, 2, 4)]
    assert tiles[1]._asdict() == {"block_n": 32, "num_warps": 2, "num_stages": 4}
    with pytest.raises(ValueError):
        decode_sweep.parse_tiles("64x4")


def test_contexts_are_uniform_or_spread_around_the_mean() -> None:
    assert decode_sweep.context_lengths(5, 430, 0.0).tolist() == [430] * 5
    spread = decode_sweep.context_lengths(4096, 430, 0.8)
    assert abs(spread.mean() / 430 - 1) < 0.05  # log-normal of that mean
    assert spread.min() >= 1 and spread.max() <= decode_sweep.CAPACITY
    assert (np.diff(spread) <= 0).all()  # longest first, as the scheduler sends them
    assert np.percentile(spread, 90) > 2 * np.percentile(spread, 10)
    # seeded: the same draw every run
    assert np.array_equal(spread, decode_sweep.context_lengths(4096, 430, 0.8))
    # the sweep hands them to torch.tensor, which refuses a negative stride (session 35's first GPU run)
    assert torch.tensor(spread).tolist() == spread.tolist()
