"""The inputs a CUDA graph reads, staged in one pinned int32 buffer and sent to the device with one copy.

A graph bakes in the addresses of its inputs, so every step writes its inputs into the same device tensors.
They are built with numpy on the host and reach the device with one copy: after the graphs, the host's
per-op cost is what bounds a batch-1 step.

A mixed graph of P rows launches attention with grids fixed by P (cuda_graphs.FixedGridAttention), so it
reads two views of the step's sequences: decode attention reads rows 0..D-1 of the per-sequence arrays,
D = min(P, BATCH_SIZES[-1]) (cuda_graphs' cap; the rows past D are zeros from the start), with context
length 0 past the step's decodes (those rows only get zeros); prefill attention reads its chunks, the
sequences after the decodes, from row P on (chunk j at row P + j; past the last chunk, query_start stays
at the step's token count, so those chunks have no tokens)."""

from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import torch

from swiftllm.protocol.step import StepCommand
from swiftllm.worker.metadata import leading_decodes, token_places

Array = TypeVar("Array", np.ndarray, torch.Tensor)

# at most this many prompt chunks in a step that a mixed graph replays (more: the step runs eagerly); each is
# a column of prefill programs that exit at once when they have no chunk
CHUNKS = 16


@dataclass(frozen=True)
class GraphInputs(Generic[Array]):
    """Named views of the staging buffer (numpy on the host, torch on the device), in buffer order."""

    tokens: Array  # [rows] token ids
    positions: Array  # [rows] position of each token in its sequence
    slots: Array  # [rows] cache slot of each token's K/V; -1 (a padded row) stores nothing
    logit_rows: Array  # [rows] the row of each sampled sequence's last token
    # [rows] 0 for a padded row; -1 for a mixed graph's prompt token in the decode view
    context_lens: Array
    query_start: Array  # [rows + 1] cumulative query lengths
    tables: Array  # [rows * widest] a step's block table, at its own row width (block_table below)


def graph_inputs(buffer: Array, rows: int) -> GraphInputs[Array]:
    """The one place the offsets are laid out: the block table last, at a multiple of 16 entries past
    query_start's last entry (6 * rows + 1), so that a step of S rows of a table `width` wide needs only the
    prefix up to S * width."""
    return GraphInputs(
        tokens=buffer[0:rows],
        positions=buffer[rows : 2 * rows],
        slots=buffer[2 * rows : 3 * rows],
        logit_rows=buffer[3 * rows : 4 * rows],
        context_lens=buffer[4 * rows : 5 * rows],
        query_start=buffer[5 * rows : 6 * rows + 1],
        tables=buffer[table_start(rows) :],
    )


def table_start(rows: int) -> int:
    return 6 * rows + 16


def block_table(inputs: GraphInputs[Array], rows: int, width: int) -> Array:
    """The block table [rows, width] in `inputs` as laid out for that width."""
    return inputs.tables[: rows * width].reshape(rows, width)


def stage_step(
    staged: GraphInputs[np.ndarray],
    table: np.ndarray,
    page: int,
    cmd: StepCommand,
    tokens: np.ndarray,
    sampled: np.ndarray,
    padded: int,
    decode: bool,
) -> int:
    """Write the step into the host views, its block table into `table` (a block_table view of them): rows
    past the real ones padded up to `padded`, and for a mixed graph (not `decode`) the chunk view at row
    `padded`. Returns how many rows of the table the device needs."""
    num_seqs = cmd.num_seqs
    num_tokens = cmd.num_tokens
    starts = staged.query_start[: num_seqs + 1]
    starts[0] = 0
    np.cumsum(cmd.query_lens, out=starts[1:])
    seq_of_token, positions = token_places(cmd.query_lens, cmd.context_lens)
    staged.positions[:num_tokens] = positions
    table[:num_seqs, : cmd.block_table.shape[1]] = cmd.block_table
    staged.slots[:num_tokens] = table[seq_of_token, positions // page] * page + positions % page
    staged.slots[num_tokens:padded] = -1
    staged.tokens[:num_tokens] = tokens
    staged.logit_rows[: len(sampled)] = starts[1:][sampled] - 1
    staged.context_lens[:num_seqs] = cmd.context_lens
    staged.context_lens[num_tokens:padded] = 0  # padded rows (a decode step's tokens are its rows)
    if decode:
        return num_seqs
    decodes = leading_decodes(cmd.query_lens)
    chunks = num_seqs - decodes
    staged.query_start[padded : padded + chunks + 1] = starts[decodes:]
    staged.query_start[padded + chunks + 1 : padded + CHUNKS + 1] = num_tokens
    staged.context_lens[padded : padded + chunks] = cmd.context_lens[decodes:]
    # the decode view: prompt tokens' rows are prefill attention's (-1: decode attention leaves them, so
    # the two can run at once); padded rows got zeros above
    staged.context_lens[decodes:num_tokens] = -1
    table[padded : padded + chunks] = table[decodes:num_seqs]
    return padded + chunks


class StagingBuffer:
    """A pinned host buffer and its device twin, laid out by graph_inputs."""

    def __init__(self, rows: int, widest: int, device: torch.device) -> None:
        self.rows = rows
        size = table_start(rows) + rows * widest
        self.host_buffer = torch.zeros(size, dtype=torch.int32, pin_memory=True)
        self.on_host = graph_inputs(self.host_buffer.numpy(), rows)
        self.on_host.slots[:] = -1
        self.device_buffer = self.host_buffer.to(device)
        self.on_device = graph_inputs(self.device_buffer, rows)
        # recorded behind each copy: the host buffer may be overwritten once the copy has read it
        self.copied = torch.cuda.Event()

    def send(self, table_rows: int, width: int) -> None:
        """Queue the copy of a step whose table is `table_rows` rows `width` wide to the device; nothing
        waits for it."""
        end = table_start(self.rows) + table_rows * width
        self.device_buffer[:end].copy_(self.host_buffer[:end], non_blocking=True)
        self.copied.record()
