"""Block moves of the paged cache: swap out to CPU, swap back into other blocks, copy on the device."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from swiftllm.protocol.step import StepCommand, pairs
from swiftllm.worker.kv_cache import KVCache

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])  # the GPU box runs both


@pytest.mark.parametrize("device", DEVICES)
def test_swap_out_in_and_copy_move_whole_blocks_of_every_layer(device: str) -> None:
    cache = KVCache(
        num_layers=3,
        num_kv_heads=2,
        head_dim=4,
        block_size=16,
        num_blocks=8,
        num_cpu_blocks=4,
        dtype=torch.float32,
        device=torch.device(device),
    )
    cache.k.normal_()
    cache.v.normal_()
    k, v = cache.k.clone(), cache.v.clone()
    cache.apply(StepCommand(swap_out=pairs([(1, 3), (6, 0)])))  # GPU blocks 1, 6 -> CPU blocks 3, 0
    cache.k[:, [1, 6]] = float("nan")
    cache.v[:, [1, 6]] = float("nan")
    # back into blocks 2 and 5; copy 4 -> 7
    cache.apply(StepCommand(swap_in=pairs([(3, 2), (0, 5)]), copy=pairs([(4, 7)])))
    for moved, orig in ((cache.k, k), (cache.v, v)):
        assert torch.equal(moved[:, 2], orig[:, 1]) and torch.equal(moved[:, 5], orig[:, 6])
        assert torch.equal(moved[:, 7], orig[:, 4]) and torch.equal(moved[:, 0], orig[:, 0])
    # a block swapped out and not back keeps what it had
    assert np.isnan(cache.k[:, 1].cpu().numpy()).all()
