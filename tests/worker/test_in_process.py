"""InProcessWorker: the same tokens as the runner called directly, and a bad step refused at its door."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_step, runner_for

from swiftllm.protocol.messages import ProtocolError
from swiftllm.protocol.step import StepCommand
from swiftllm.worker.in_process import InProcessWorker


def test_steps_through_the_in_process_worker_match_the_runner(tiny_model_dir: Path) -> None:
    steps = [
        make_step([1, 2], [[5, 9, 2, 7], [3, 3, 8]], [4, 3], [[0], [1]]),
        make_step([1, 2], [[-1], [-1]], [5, 4], [[0], [1]]),
        make_step([1, 2], [[-1], [-1]], [6, 5], [[0], [1]]),
    ]
    runner = runner_for(tiny_model_dir)
    expected = [runner.step(cmd).tokens.tolist() for cmd in steps]
    worker = InProcessWorker(runner_for(tiny_model_dir))
    worker.send_step(steps[0])
    got = []
    for cmd in steps[1:]:  # one step sent ahead, as the engine does
        worker.send_step(cmd)
        got.append(worker.recv_step().tokens.tolist())
    got.append(worker.recv_step().tokens.tolist())
    assert got == expected


def int64_tokens(cmd: StepCommand) -> StepCommand:
    cmd.token_ids = cmd.token_ids.astype(np.int64)
    return cmd


@pytest.mark.parametrize(
    ("bad_step", "message"),
    [
        (make_step([1], [[5, 6]], [2], [[64]]), r"block_table must lie in \[0, 64\)"),
        (make_step([1], [[5, 128]], [2], [[0]]), r"token_ids must lie in \[-1, 128\)"),
        (make_step([1], [[5, 6]], [1], [[0]]), "query_len <= context_len"),
        (int64_tokens(make_step([1], [[5, 6]], [2], [[0]])), "token_ids must be a 1-D numpy array"),
    ],
)
def test_a_bad_step_raises_a_clear_error_and_never_reaches_the_runner(
    tiny_model_dir: Path, bad_step: StepCommand, message: str
) -> None:
    runner = runner_for(tiny_model_dir)  # a cache of 64 blocks, a vocabulary of 128
    cache_before = runner.cache.k.clone()
    worker = InProcessWorker(runner)
    with pytest.raises(ProtocolError, match=message):
        worker.send_step(bad_step)
    assert not runner.in_flight and torch.equal(runner.cache.k, cache_before)
    worker.send_step(make_step([1], [[5, 6]], [2], [[0]]))  # still serves
    assert worker.recv_step().seq_ids.tolist() == [1]


def test_a_step_before_init_cache_is_refused(tiny_model_dir: Path) -> None:
    runner = runner_for(tiny_model_dir)
    runner.geometry = None  # as before init_cache
    with pytest.raises(ProtocolError, match="init_cache"):
        InProcessWorker(runner).send_step(make_step([1], [[5, 6]], [2], [[0]]))
