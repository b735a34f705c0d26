"""The paged KV cache on the device, its CPU swap space, and the block moves a step asks for."""

import numpy as np
import torch


class KVCache:
    """K and V as [layers, blocks, kv_heads, block_size, head_dim]: one layer's slice is contiguous,
    and one block of one head is a dense [block_size, head_dim] tile, what the attention kernels load."""

    def __init__(
        self,
        num_layers: int,
        num_kv_heads: int,
        head_dim: int,
        block_size: int,
        num_blocks: int,
        num_cpu_blocks: int,
        dtype: torch.dtype,
        device: torch.device,
    ) -> None:
        shape = (num_layers, num_blocks, num_kv_heads, block_size, head_dim)
        self.k, self.v = (torch.zeros(shape, dtype=dtype, device=device) for _ in range(2))
        cpu_shape = (num_layers, num_cpu_blocks, num_kv_heads, block_size, head_dim)
        pin = device.type == "cuda"
        # never read before written, so left uninitialised: touching gigabytes of swap costs seconds
        self.cpu_k, self.cpu_v = (
            torch.empty(cpu_shape, dtype=dtype, pin_memory=pin) for _ in range(2)
        )
        self.block_size, self.num_blocks, self.num_cpu_blocks = (
            block_size,
            num_blocks,
            num_cpu_blocks,
        )

    def apply(self, swap_out: np.ndarray, swap_in: np.ndarray, copy: np.ndarray) -> None:
        """Run a step's block moves, in this order, before its forward pass."""
        gpu, cpu = (self.k, self.v), (self.cpu_k, self.cpu_v)
        for moves, source, target in ((swap_out, gpu, cpu), (swap_in, cpu, gpu), (copy, gpu, gpu)):
            if len(moves):
                src, dst = (torch.from_numpy(moves[:, j]).long() for j in (0, 1))
                for s, t in zip(source, target):
                    # host-to-device may overlap; device-to-host must land before the host reads it
                    t[:, dst.to(t.device)] = s[:, src.to(s.device)].to(
                        t.device, non_blocking=t.is_cuda
                    )
