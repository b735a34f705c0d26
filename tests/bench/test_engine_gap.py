"""bench/engine_gap.py's command variants (the script itself needs a GPU): each changes one thing."""

from __future__ import annotations

import numpy as np
from bench_scripts import load_script

from swiftllm.protocol.step import StepCommand, i32

# not forward.step_cmd: importing bench/forward.py imports the Triton kernels, which tests/kernels must import
# first, under TRITON_INTERPRET
engine_gap = load_script("engine_gap")
contiguous = engine_gap.contiguous
one_context = engine_gap.one_context
with_tokens = engine_gap.with_tokens


def engine_like_command() -> object:
    """Three decode rows whose blocks are scattered, as a long-running block pool leaves them, with the
    middle row's token -1 (the token sampled by the step before)."""
    return StepCommand(
        seq_ids=i32([4, 9, 2]),
        query_lens=i32([1, 1, 1]),
        context_lens=i32([33, 17, 50]),
        token_ids=i32([17, -1, 802]),
        block_table=np.array([[90, 7, 55, 3], [12, 41, 0, 0], [5, 66, 2, 80]], np.int32),
        sample=i32([1, 1, 1]),
    )


def test_with_tokens_replaces_only_the_minus_ones() -> None:
    cmd = engine_like_command()
    out = with_tokens(cmd)
    assert out.token_ids.tolist() == [17, 0, 802]
    assert cmd.token_ids[1] == -1  # the recorded command is left as it was
    assert out.block_table is cmd.block_table


def test_contiguous_gives_each_row_its_own_run_of_blocks() -> None:
    cmd = engine_like_command()
    out = contiguous(cmd, per_seq=4)
    # 33 tokens need 3 blocks of 16, 17 need 2, 50 need 4; the rest of each row stays 0
    assert out.block_table.tolist() == [[0, 1, 2, 0], [4, 5, 0, 0], [8, 9, 10, 11]]
    assert out.block_table.shape == cmd.block_table.shape
    assert np.array_equal(out.context_lens, cmd.context_lens)
    assert cmd.block_table[0, 0] == 90  # the recorded command is left as it was


def test_one_context_sets_every_row_and_keeps_the_tables() -> None:
    cmd = engine_like_command()
    out = one_context(cmd, 40)
    assert out.context_lens.tolist() == [40, 40, 40]
    assert out.context_lens.dtype == cmd.context_lens.dtype
    assert out.block_table is cmd.block_table
    assert cmd.context_lens.tolist() == [33, 17, 50]
