"""The paged KV cache on the device, its CPU swap space, and the block moves a step asks for."""

import torch

from swiftllm.protocol.step import BLOCK_MOVES, StepCommand


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
        self.k = torch.zeros(shape, dtype=dtype, device=device)
        self.v = torch.zeros(shape, dtype=dtype, device=device)
        cpu_shape = (num_layers, num_cpu_blocks, num_kv_heads, block_size, head_dim)
        pinned = device.type == "cuda"
        # never read before written, so left uninitialised: touching gigabytes of swap costs seconds
        self.cpu_k = torch.empty(cpu_shape, dtype=dtype, pin_memory=pinned)
        self.cpu_v = torch.empty(cpu_shape, dtype=dtype, pin_memory=pinned)
        self.block_size = block_size

    def apply(self, cmd: StepCommand) -> None:
        """Run a step's block moves (swap_out, swap_in, copy: step.BLOCK_MOVES), in this order, before its
        forward pass; each is [pairs, 2] of (source block, destination block)."""
        sides = {"gpu": (self.k, self.v), "cpu": (self.cpu_k, self.cpu_v)}
        for name, (source_side, target_side) in BLOCK_MOVES.items():
            moves = getattr(cmd, name)
            if len(moves):
                from_blocks, to_blocks = torch.from_numpy(moves.T).long()  # the two columns
                for source, target in zip(sides[source_side], sides[target_side]):
                    # host-to-device may overlap; device-to-host must land before the host reads it
                    moved = source[:, from_blocks.to(source.device)]
                    target[:, to_blocks.to(target.device)] = moved.to(
                        target.device, non_blocking=target.is_cuda
                    )
