"""Per-step tensors shared by every layer: where each new token sits and which cache slots it owns."""

from dataclasses import dataclass

import numpy as np
import torch


def to_device(
    array: np.ndarray, device: torch.device, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """A host array on the device without waiting for the device: staged through pinned memory on CUDA."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if device.type == "cuda":
        tensor = tensor.pin_memory()  # a copy from pageable memory may wait for the queued work
    return tensor.to(device=device, dtype=dtype, non_blocking=True)


@dataclass(frozen=True)
class PendingTokens:
    """Token ids of a step that the device has sampled but the host has not read yet (-1 in the step):
    `write_into` copies them, on the device, into the step's token ids."""

    indices: torch.Tensor  # where in the step's token ids
    rows: torch.Tensor  # which row of `sampled` holds each one
    sampled: torch.Tensor  # the tokens of the step launched before, on the device

    def write_into(self, token_ids: torch.Tensor) -> None:
        token_ids[self.indices] = self.sampled[self.rows].to(token_ids.dtype)


def token_places(query_lens: np.ndarray, context_lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of a step's new tokens goes: its row (sequence), and its position in that sequence.
    Token t of the step (flat, in row order) is at context_len - cumsum(query_lens) + t of its row."""
    rows = np.repeat(np.arange(len(query_lens)), query_lens)
    return rows, np.arange(len(rows)) + (context_lens - np.cumsum(query_lens))[rows]


def leading_decodes(query_lens: np.ndarray) -> int:
    """How many sequences lead the step with one new token each (the scheduler puts decodes first)."""
    others = np.flatnonzero(query_lens != 1)
    return int(others[0]) if len(others) else len(query_lens)


@dataclass
class AttentionMetadata:
    # positions and slot_mapping: int64 from build(), int32 views of the staging buffer in a CUDA graph
    positions: torch.Tensor  # [T] position of each new token in its sequence
    slot_mapping: torch.Tensor  # [T] block * block_size + offset where its K/V are stored
    query_start: torch.Tensor  # [S+1] int32, cumulative query lengths
    context_lens: torch.Tensor  # [S] int32, cached tokens after this step
    block_table: torch.Tensor  # [S, W] int32
    query_lens_host: np.ndarray  # [S] (host copies: the torch reference loops over sequences)
    context_lens_host: np.ndarray  # [S]
    max_query_len: int

    @staticmethod
    def build(
        query_lens: np.ndarray,
        context_lens: np.ndarray,
        block_table: np.ndarray,
        block_size: int,
        device: torch.device,
    ) -> "AttentionMetadata":
        query_start = np.concatenate(([0], np.cumsum(query_lens, dtype=np.int64)))
        seq_of_token, positions = token_places(query_lens, context_lens)
        blocks = block_table[seq_of_token, positions // block_size].astype(np.int64)
        slots = blocks * block_size + positions % block_size
        return AttentionMetadata(
            positions=to_device(positions, device, torch.int64),
            slot_mapping=to_device(slots, device, torch.int64),
            query_start=to_device(query_start, device, torch.int32),
            context_lens=to_device(context_lens, device, torch.int32),
            block_table=to_device(block_table, device, torch.int32),
            query_lens_host=query_lens,
            context_lens_host=context_lens,
            max_query_len=int(query_lens.max(initial=0)),
        )
