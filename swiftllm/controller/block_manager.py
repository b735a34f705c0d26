"""KV blocks on the GPU and in CPU swap space, with reference counts (ready for prefix sharing)."""


class BlockPool:
    def __init__(self, num_blocks: int) -> None:
        self.num_blocks, self.refs = num_blocks, [0] * num_blocks
        self.free_ids = list(
            range(num_blocks - 1, -1, -1)
        )  # a stack: recently freed blocks are reused first

    @property
    def num_free(self) -> int:
        return len(self.free_ids)

    def allocate(self, n: int) -> list[int]:
        if n > len(self.free_ids):
            raise MemoryError(f"asked for {n} blocks, {len(self.free_ids)} free")
        out = [self.free_ids.pop() for _ in range(n)]
        for b in out:
            self.refs[b] = 1
        return out

    def free(self, blocks: list[int]) -> None:
        for b in blocks:
            assert self.refs[b] > 0, f"double free of block {b}"
            self.refs[b] -= 1
            if self.refs[b] == 0:
                self.free_ids.append(b)


class BlockManager:
    def __init__(self, block_size: int, num_gpu_blocks: int, num_cpu_blocks: int) -> None:
        self.block_size, self.gpu, self.cpu = (
            block_size,
            BlockPool(num_gpu_blocks),
            BlockPool(num_cpu_blocks),
        )

    def grow(self, blocks: list[int], num_tokens: int) -> bool:
        """Extend a block list to hold num_tokens; False (nothing taken) if the GPU is full."""
        need = max(-(-num_tokens // self.block_size) - len(blocks), 0)
        if need > self.gpu.num_free:
            return False
        blocks.extend(self.gpu.allocate(need))
        return True

    @staticmethod
    def move(blocks: list[int], src: BlockPool, dst: BlockPool) -> list[tuple[int, int]] | None:
        """Re-home blocks from one pool to the other: the (old, new) pairs to copy, or None if dst is full."""
        if len(blocks) > dst.num_free:
            return None
        new = dst.allocate(len(blocks))
        src.free(blocks)
        return list(zip(blocks, new))
