"""Tensor parallelism: which slice of each checkpoint tensor a rank owns, and the collectives that join them.

Linear layers are column parallel (output rows split: QKV by head, gate/up by row) or row parallel
(input columns split: o_proj, down_proj, followed by an all-reduce). The embedding and the LM head are
vocab parallel (rows split; the logits are all-gathered so every rank samples the same tokens). KV heads
are split like query heads; with fewer KV heads than ranks, each KV head is replicated on the ranks whose
query heads use it. At world size 1 every collective is a no-op and no slice is taken, so the model code
is the same for one worker or many, and one worker does no extra work."""

from dataclasses import dataclass

import torch
import torch.distributed as dist

from swiftllm.config import check_tensor_split
from swiftllm.model_config import ModelConfig


@dataclass(frozen=True)
class Parallel:
    rank: int = 0
    world_size: int = 1

    def check_split(self, cfg: ModelConfig) -> None:
        """Raise ModelError, naming the numbers, if the model cannot be split over world_size ranks."""
        check_tensor_split(cfg, self.world_size)

    def rows(self, size: int) -> slice:
        """This rank's contiguous share of `size` (which must divide evenly, see check_split)."""
        share = size // self.world_size
        return slice(self.rank * share, (self.rank + 1) * share)

    def kv_heads(self, num_kv_heads: int) -> int:
        """KV heads held by this rank: a share of them, or one replicated head when they are fewer than ranks."""
        return max(1, num_kv_heads // self.world_size)

    def kv_rows(self, num_kv_heads: int, head_dim: int) -> slice:
        """Rows of k_proj / v_proj this rank reads: its KV heads, or the one head its query heads share."""
        if num_kv_heads >= self.world_size:
            return self.rows(num_kv_heads * head_dim)
        head = self.rank // (self.world_size // num_kv_heads)
        return slice(head * head_dim, (head + 1) * head_dim)

    def all_reduce(self, tensor: torch.Tensor) -> torch.Tensor:
        """The sum over ranks, in place."""
        if self.world_size > 1:
            dist.all_reduce(tensor)
        return tensor

    def all_gather_last(self, tensor: torch.Tensor) -> torch.Tensor:
        """Concatenate each rank's slice along the last dim (vocab-parallel logits), in rank order."""
        if self.world_size == 1:
            return tensor
        parts = [torch.empty_like(tensor) for _ in range(self.world_size)]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts, -1)


def init_process_group(par: Parallel, dist_init: str, device: torch.device) -> None:
    """Join the group of `par.world_size` ranks at the rendezvous `dist_init` (tcp://HEAD:PORT): NCCL
    between GPUs, gloo on CPU. The rendezvous port is unauthenticated (docs/security.md)."""
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(
        backend, init_method=dist_init, rank=par.rank, world_size=par.world_size
    )
