"""Tensor parallelism in two functions: slice a checkpoint tensor for this rank, and sum partial results.

Linear layers are column parallel (output rows split: QKV by head, gate/up by row) or row parallel
(input columns split: o_proj, down_proj, followed by an all-reduce). At world size 1 both are no-ops,
so the model code is the same for one worker or many."""

from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Parallel:
    rank: int = 0
    world_size: int = 1

    def shard(self, tensor: torch.Tensor, dim: int) -> torch.Tensor:
        """This rank's contiguous slice along dim (sizes must divide evenly)."""
        if self.world_size == 1:
            return tensor
        if tensor.shape[dim] % self.world_size:
            raise ValueError(
                f"dimension {tensor.shape[dim]} does not split over {self.world_size} workers"
            )
        return tensor.chunk(self.world_size, dim)[self.rank]

    def all_reduce(self, tensor: torch.Tensor) -> torch.Tensor:
        """The sum over ranks, in place."""
        if self.world_size > 1:
            dist.all_reduce(tensor)
        return tensor

    def all_gather_last(self, tensor: torch.Tensor) -> torch.Tensor:
        """Concatenate each rank's slice along the last dim (vocab-parallel logits)."""
        if self.world_size == 1:
            return tensor
        parts = [torch.empty_like(tensor) for _ in range(self.world_size)]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts, -1)
