"""The inputs a CUDA graph reads, staged in one pinned int32 buffer and sent to the device with one copy.

A graph bakes in the addresses of its inputs, so every step writes its inputs into the same device tensors.
They are built with numpy on the host and reach the device with one copy: after the graphs, the host's
per-op cost is what bounds a batch-1 step."""

from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import torch

Array = TypeVar("Array", np.ndarray, torch.Tensor)


@dataclass(frozen=True)
class GraphInputs(Generic[Array]):
    """Named views of the staging buffer (numpy on the host, torch on the device), in buffer order."""

    tokens: Array  # [rows] token ids
    positions: Array  # [rows] position of each token in its sequence
    slots: Array  # [rows] cache slot of each token's K/V; -1 (a padded row) stores nothing
    logit_rows: Array  # [rows] the row of each sampled sequence's last token
    context_lens: Array  # [rows] 0 for a padded row of a decode graph
    query_start: Array  # [rows + 1] cumulative query lengths
    tables: Array  # [rows * widest] a step's block table, at its own row width (StagingBuffer.block_table)


class StagingBuffer:
    """A pinned host buffer and its device twin, laid out as GraphInputs' fields in order, the block table
    last, so that a step of S sequences of a table `width` wide needs only the prefix up to S * width."""

    def __init__(self, rows: int, widest: int, device: torch.device) -> None:
        self.rows = rows
        # past query_start's last entry (6 * rows + 1), at a multiple of 16 entries
        self.table_start = 6 * rows + 16
        size = self.table_start + rows * widest
        self.host_buffer = torch.zeros(size, dtype=torch.int32, pin_memory=True)
        self.on_host = self.views(self.host_buffer.numpy())
        self.on_host.slots[:] = -1
        self.device_buffer = self.host_buffer.to(device)
        self.on_device = self.views(self.device_buffer)
        # recorded behind each copy: the host buffer may be overwritten once the copy has read it
        self.copied = torch.cuda.Event()

    def views(self, buffer: Array) -> GraphInputs[Array]:
        """The one place the offsets are laid out."""
        rows = self.rows
        return GraphInputs(
            tokens=buffer[0:rows],
            positions=buffer[rows : 2 * rows],
            slots=buffer[2 * rows : 3 * rows],
            logit_rows=buffer[3 * rows : 4 * rows],
            context_lens=buffer[4 * rows : 5 * rows],
            query_start=buffer[5 * rows : 6 * rows + 1],
            tables=buffer[self.table_start :],
        )

    def block_table(self, inputs: GraphInputs[Array], width: int) -> Array:
        """The block table [rows, width] in `inputs` (on_host or on_device) as laid out for that width."""
        return inputs.tables[: self.rows * width].reshape(self.rows, width)

    def send(self, num_seqs: int, width: int) -> None:
        """Queue the copy of a step of num_seqs sequences and a table `width` wide to the device; nothing
        waits for it."""
        end = self.table_start + num_seqs * width
        self.device_buffer[:end].copy_(self.host_buffer[:end], non_blocking=True)
        self.copied.record()
