"""graph_inputs.stage_step: the host side of a graph's inputs, checked against AttentionMetadata.build (the
eager path's metadata) and against the two views a mixed graph reads."""

from __future__ import annotations

import numpy as np
import torch
from conftest import make_step

from swiftllm.protocol.step import StepCommand
from swiftllm.worker.graph_inputs import (
    CHUNKS,
    GraphInputs,
    block_table,
    graph_inputs,
    stage_step,
    table_start,
)
from swiftllm.worker.metadata import AttentionMetadata

ROWS = 64 + CHUNKS
WIDEST = 8
PAGE = 4


def host_views() -> GraphInputs[np.ndarray]:
    """A staging buffer's host views, filled with junk, as an earlier step would have left them."""
    buffer = np.random.default_rng(0).integers(1, 50, table_start(ROWS) + ROWS * WIDEST)
    return graph_inputs(buffer.astype(np.int32), ROWS)


def stage(
    staged: GraphInputs[np.ndarray], cmd: StepCommand, padded: int, decode: bool, width: int
) -> int:
    table = block_table(staged, ROWS, width)
    sampled = np.nonzero(cmd.sample)[0]
    return stage_step(staged, table, PAGE, cmd, cmd.token_ids, sampled, padded, decode)


def mixed_step() -> StepCommand:
    """Three decodes, then a chunk of 5 tokens, a chunk of 1 and a whole prompt of 3."""
    tables = [[3, 9], [7], [1, 2, 4], [11, 12], [5], [6]]
    chunks = [[1], [2], [3], [4, 5, 6, 7, 8], [9], [10, 11, 12]]
    return make_step(list(range(6)), chunks, [6, 2, 10, 7, 4, 3], tables, [1, 1, 1, 1, 0, 1])


def test_a_mixed_step_matches_the_eager_metadata_and_lays_out_the_chunk_view() -> None:
    cmd = mixed_step()
    staged = host_views()
    padded = 16
    width = 4
    table_rows = stage(staged, cmd, padded, False, width)
    cpu = torch.device("cpu")
    eager = AttentionMetadata.build(cmd.query_lens, cmd.context_lens, cmd.block_table, PAGE, cpu)
    num_tokens = cmd.num_tokens
    assert table_rows == padded + 3  # the chunk view's last row
    assert np.array_equal(staged.positions[:num_tokens], eager.positions.numpy())
    assert np.array_equal(staged.slots[:num_tokens], eager.slot_mapping.numpy())
    assert (staged.slots[num_tokens:padded] == -1).all()
    assert np.array_equal(staged.tokens[:num_tokens], cmd.token_ids)
    # the sampled rows: each sampled sequence's last token
    assert staged.logit_rows[:5].tolist() == [0, 1, 2, 7, 11]
    table = block_table(staged, ROWS, width)
    # decode view: the three decodes' contexts, -1 on the prompt tokens' rows (prefill attention's), then
    # zeros on the padded rows
    assert staged.context_lens[:3].tolist() == [6, 2, 10]
    assert (staged.context_lens[3:num_tokens] == -1).all()
    assert (staged.context_lens[num_tokens:padded] == 0).all()
    assert np.array_equal(table[:6, :3], cmd.block_table)
    # chunk view: chunk j at row padded + j; no tokens past the last chunk
    chunk_start = staged.query_start[padded : padded + CHUNKS + 1]
    assert chunk_start[:4].tolist() == [3, 8, 9, 12]
    assert (chunk_start[4:] == num_tokens).all()
    assert staged.context_lens[padded : padded + 3].tolist() == [7, 4, 3]
    assert np.array_equal(table[padded : padded + 3, :3], cmd.block_table[3:])


def test_a_decode_step_pads_with_context_zero_and_needs_only_its_rows() -> None:
    tables = [[3], [7, 8], [1]]
    cmd = make_step([4, 5, 6], [[1], [2], [3]], [3, 5, 1], tables)
    staged = host_views()
    assert stage(staged, cmd, 4, True, 2) == 3
    assert staged.context_lens[:4].tolist() == [3, 5, 1, 0]
    assert staged.slots[3] == -1
    assert np.array_equal(block_table(staged, ROWS, 2)[:3], cmd.block_table)


def test_a_step_of_decodes_only_past_the_decode_graphs_has_no_chunks() -> None:
    """Decode-only steps of more sequences than the largest decode graph replay a mixed graph."""
    n = 20
    cmd = make_step(list(range(n)), [[i] for i in range(n)], [3] * n, [[i] for i in range(n)])
    staged = host_views()
    assert stage(staged, cmd, 32, False, 1) == 32
    assert staged.context_lens[:n].tolist() == [3] * n
    assert (staged.context_lens[n:32] == 0).all()
    assert (staged.query_start[32 : 32 + CHUNKS + 1] == n).all()
