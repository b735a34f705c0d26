"""Tensor parallelism: which slice of each checkpoint tensor a rank owns, and the collectives that join them.

Linear layers are column parallel (output rows split: QKV by head, gate/up by row) or row parallel
(input columns split: o_proj, down_proj, followed by an all-reduce). The embedding and the LM head are
vocab parallel (rows split; the logits are all-gathered so every rank samples the same tokens). KV heads
are split like query heads; with fewer KV heads than ranks, each KV head is replicated on the ranks whose
query heads use it. At world size 1 every collective is a no-op and every slice is the whole tensor, so
the model code is the same for one worker or many, and one worker does no extra work.

Pipeline parallelism (`Pipeline`): each stage holds a contiguous range of layers; activations go to the same
tensor-parallel rank of the next stage, and the last stage's sampled tokens go back to the first."""

import threading
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Parallel:
    """This rank's place in its tensor-parallel group (its pipeline stage's ranks)."""

    rank: int = 0
    world_size: int = 1
    group: Any = None  # the stage's torch.distributed group; None: every rank (no pipeline stages)

    def rows(self, size: int) -> slice:
        """This rank's contiguous share of `size` (which must divide evenly: config.check_split)."""
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
            dist.all_reduce(tensor, group=self.group)
        return tensor

    def all_gather_last(self, tensor: torch.Tensor) -> torch.Tensor:
        """Concatenate each rank's slice along the last dim (vocab-parallel logits), in rank order."""
        if self.world_size == 1:
            return tensor
        parts = [torch.empty_like(tensor) for _ in range(self.world_size)]
        dist.all_gather(parts, tensor.contiguous(), group=self.group)
        return torch.cat(parts, -1)


@dataclass(frozen=True)
class Pipeline:
    """This rank's pipeline stage: a contiguous range of layers. Global rank = stage * tp_size + tp_rank;
    activations go to the same tp_rank of the next stage, sampled tokens from the last stage to the first."""

    stage: int = 0
    num_stages: int = 1
    tp_size: int = 1
    tp_rank: int = 0
    layers: range = range(0)

    @property
    def first(self) -> bool:
        return self.stage == 0

    @property
    def last(self) -> bool:
        return self.stage == self.num_stages - 1

    @classmethod
    def of_rank(cls, rank: int, world_size: int, num_stages: int, num_layers: int) -> "Pipeline":
        """Global rank `rank`'s stage, of `world_size / num_stages` ranks each; the first
        `num_layers % num_stages` stages get one layer more than the others."""
        tp_size = world_size // num_stages
        stage = rank // tp_size
        base, extra = divmod(num_layers, num_stages)
        start = stage * base + min(stage, extra)
        layers = range(start, start + base + (stage < extra))
        return cls(stage, num_stages, tp_size, rank % tp_size, layers)

    def rank_of(self, stage: int) -> int:
        return stage * self.tp_size + self.tp_rank

    def send(self, tensor: torch.Tensor, stage: int) -> None:
        dist.send(tensor.contiguous(), self.rank_of(stage))

    def recv(
        self, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device, stage: int
    ) -> torch.Tensor:
        tensor = torch.empty(shape, dtype=dtype, device=device)
        dist.recv(tensor, self.rank_of(stage))
        return tensor


class Arrival:
    """A tensor being received (torch.distributed.irecv): waited for once, whichever thread asks first
    (a gloo receive must not be waited for twice)."""

    def __init__(self, tensor: torch.Tensor, source: int) -> None:
        self.work = dist.irecv(tensor, source)
        self.lock = threading.Lock()
        self.done = False

    def wait(self) -> None:
        with self.lock:
            if not self.done:
                self.work.wait()
                self.done = True


def init_process_group(
    rank: int, world_size: int, pipeline_size: int, dist_init: str | None, device: torch.device
) -> Any:
    """Join the `world_size` ranks at the rendezvous `dist_init` (tcp://HEAD:PORT; None: torch's env://, the
    MASTER_ADDR / MASTER_PORT that torchrun sets): NCCL between GPUs,
    gloo on CPU. Returns this rank's stage group for the tensor-parallel collectives (None: all ranks).
    The rendezvous port is unauthenticated (docs/security.md)."""
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, init_method=dist_init, rank=rank, world_size=world_size)
    if pipeline_size == 1:
        return None
    tp_size = world_size // pipeline_size
    # every rank creates every stage's group, in the same order
    groups = [
        dist.new_group(list(range(stage * tp_size, (stage + 1) * tp_size)))
        for stage in range(pipeline_size)
    ]
    return groups[rank // tp_size]
