"""KV blocks on the GPU and in CPU swap space, with reference counts (ready for prefix sharing)."""

from typing import NamedTuple


class BlockCopy(NamedTuple):
    """One block's contents to copy before the forward, from a block of one pool to one of the
    other."""

    source: int
    destination: int


class BlockPool:
    def __init__(self, num_blocks: int) -> None:
        self.num_blocks = num_blocks
        self.refs = [0] * num_blocks
        # a stack: recently freed blocks are reused first
        self.free_ids = list(range(num_blocks - 1, -1, -1))

    @property
    def num_free(self) -> int:
        return len(self.free_ids)

    def allocate(self, num_blocks: int) -> list[int]:
        if num_blocks > len(self.free_ids):
            raise MemoryError(f"asked for {num_blocks} blocks, {len(self.free_ids)} free")
        block_ids = [self.free_ids.pop() for _ in range(num_blocks)]
        for block_id in block_ids:
            self.refs[block_id] = 1
        return block_ids

    def free(self, block_ids: list[int]) -> None:
        for block_id in block_ids:
            assert self.refs[block_id] > 0, f"double free of block {block_id}"
            self.refs[block_id] -= 1
            if self.refs[block_id] == 0:
                self.free_ids.append(block_id)


class BlockManager:
    def __init__(self, block_size: int, num_gpu_blocks: int, num_cpu_blocks: int) -> None:
        self.block_size = block_size
        self.gpu = BlockPool(num_gpu_blocks)
        self.cpu = BlockPool(num_cpu_blocks)

    def grow(self, block_ids: list[int], num_tokens: int) -> bool:
        """Extend a block list to hold num_tokens; False (nothing taken) if the GPU is full."""
        blocks_for_tokens = -(-num_tokens // self.block_size)
        num_missing = max(blocks_for_tokens - len(block_ids), 0)
        if num_missing > self.gpu.num_free:
            return False
        block_ids.extend(self.gpu.allocate(num_missing))
        return True

    @staticmethod
    def move(
        block_ids: list[int], source: BlockPool, destination: BlockPool
    ) -> list[BlockCopy] | None:
        """Re-home blocks from one pool to the other: the copies to make, or None if destination
        is full."""
        if len(block_ids) > destination.num_free:
            return None
        new_ids = destination.allocate(len(block_ids))
        source.free(block_ids)
        return [BlockCopy(old, new) for old, new in zip(block_ids, new_ids)]
