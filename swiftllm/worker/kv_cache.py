"""The paged KV cache on the device, its CPU swap space, and the block moves a step asks for."""

from __future__ import annotations

import numpy as np
import torch


class KVCache:
    """K and V as [layers, blocks, kv_heads, block_size, head_dim]: one layer's slice is contiguous,
    and one block of one head is a dense [block_size, head_dim] tile, what the attention kernels load."""

    def __init__(self, num_layers: int, num_kv_heads: int, head_dim: int, block_size: int, num_blocks: int,
                 num_cpu_blocks: int, dtype: torch.dtype, device: torch.device) -> None:
        shape = (num_layers, num_blocks, num_kv_heads, block_size, head_dim)
        self.k = torch.zeros(shape, dtype=dtype, device=device)
        self.v = torch.zeros(shape, dtype=dtype, device=device)
        cpu_shape = (num_layers, num_cpu_blocks, num_kv_heads, block_size, head_dim)
        pin = device.type == "cuda"
        # never read before written, so left uninitialised: touching gigabytes of swap costs seconds
        self.cpu_k = torch.empty(cpu_shape, dtype=dtype, pin_memory=pin)
        self.cpu_v = torch.empty(cpu_shape, dtype=dtype, pin_memory=pin)
        self.block_size, self.num_blocks, self.num_cpu_blocks = block_size, num_blocks, num_cpu_blocks

    def apply(self, swap_out: np.ndarray, swap_in: np.ndarray, copy: np.ndarray) -> None:
        """Run a step's block moves, in this order, before its forward pass."""
        if len(swap_out):
            src, dst = torch.from_numpy(swap_out[:, 0]).long(), torch.from_numpy(swap_out[:, 1]).long()
            self.cpu_k[:, dst] = self.k[:, src.to(self.k.device)].cpu()
            self.cpu_v[:, dst] = self.v[:, src.to(self.v.device)].cpu()
        if len(swap_in):
            src, dst = torch.from_numpy(swap_in[:, 0]).long(), torch.from_numpy(swap_in[:, 1]).long()
            dst = dst.to(self.k.device)
            self.k[:, dst] = self.cpu_k[:, src].to(self.k.device, non_blocking=True)
            self.v[:, dst] = self.cpu_v[:, src].to(self.v.device, non_blocking=True)
        if len(copy):
            src, dst = (torch.from_numpy(copy[:, j]).long().to(self.k.device) for j in (0, 1))
            self.k[:, dst] = self.k[:, src]
            self.v[:, dst] = self.v[:, src]
