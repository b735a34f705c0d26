"""KV blocks on the GPU and in CPU swap space, with reference counts, and the prefix cache.

Prefix caching (GPU pool only): a full block is named by a digest chained over its parent block's digest
and its own token ids, so equal digests mean equal prefixes, hence equal K/V. `register` indexes a block by
its digest once the step that fills it has been sent (the worker runs steps in order, so any later step
reads it filled); `lookup` finds the longest run of indexed blocks a new sequence starts with, and `share`
takes a reference on them. A cached block whose last reference goes stays indexed ("evictable") until its
space is needed: `allocate` takes never-cached free blocks first, then evicts the least recently freed.

The digest is cryptographic (blake2b), not Python's `hash()`: a prompt crafted to collide with another
request's prefix would read that request's K/V."""

import hashlib
import itertools
import struct
from collections import OrderedDict
from collections.abc import MutableSequence, Sequence
from typing import NamedTuple

ROOT_DIGEST = b""  # the parent of a sequence's first block


def block_digest(parent: bytes, token_ids: list[int]) -> bytes:
    """The name of a full block: its parent's digest and its token ids, as bytes."""
    data = parent + struct.pack(f"<{len(token_ids)}i", *token_ids)
    return hashlib.blake2b(data, digest_size=32).digest()


class BlockCopy(NamedTuple):
    """One block's contents to copy before the forward, from a block of one pool to one of the
    other."""

    source: int
    destination: int


class BlockPool:
    """Every block is in exactly one state: referenced (refs > 0), free (in `free_ids`), or cached and
    unreferenced (in `evictable`). `num_free` counts the last two: both can be allocated."""

    def __init__(self, num_blocks: int) -> None:
        self.num_blocks = num_blocks
        self.refs = [0] * num_blocks
        # a stack: recently freed blocks are reused first
        self.free_ids = list(range(num_blocks - 1, -1, -1))
        self.block_by_digest: dict[bytes, int] = {}
        self.digest_by_block: dict[int, bytes] = {}
        # cached blocks nobody references, least recently freed first (evicted first)
        self.evictable: OrderedDict[int, None] = OrderedDict()

    @property
    def num_free(self) -> int:
        return len(self.free_ids) + len(self.evictable)

    @property
    def usage(self) -> float:
        """The fraction of blocks in use: neither free nor evictable."""
        return 1 - self.num_free / max(self.num_blocks, 1)

    def allocate(self, num_blocks: int) -> list[int]:
        assert num_blocks <= self.num_free, f"asked for {num_blocks} blocks, {self.num_free} free"
        block_ids = [self.take_one() for _ in range(num_blocks)]
        for block_id in block_ids:
            self.refs[block_id] = 1
        return block_ids

    def take_one(self) -> int:
        """A block to overwrite: a free one, else the least recently used cached one (evicted)."""
        if self.free_ids:
            return self.free_ids.pop()
        block_id, _ = self.evictable.popitem(last=False)
        del self.block_by_digest[self.digest_by_block.pop(block_id)]
        return block_id

    def free(self, block_ids: Sequence[int]) -> None:
        """Drop one reference to each block. A sequence's last blocks are freed first, so they are
        evicted before its first ones (a later block is useless without the ones before it)."""
        for block_id in reversed(block_ids):
            assert self.refs[block_id] > 0, f"double free of block {block_id}"
            self.refs[block_id] -= 1
            if self.refs[block_id] > 0:
                continue
            if block_id in self.digest_by_block:
                self.evictable[block_id] = None
            else:
                self.free_ids.append(block_id)

    def register(self, block_id: int, digest: bytes) -> None:
        """Index a full, referenced block by its digest; a digest already indexed keeps its block."""
        if digest in self.block_by_digest:
            return
        assert self.refs[block_id] > 0 and block_id not in self.digest_by_block
        self.block_by_digest[digest] = block_id
        self.digest_by_block[block_id] = digest

    def lookup(self, digests: list[bytes]) -> list[int]:
        """The indexed blocks of the longest leading run of `digests` (no reference taken)."""
        indexed = itertools.takewhile(lambda digest: digest in self.block_by_digest, digests)
        return [self.block_by_digest[digest] for digest in indexed]

    def share(self, block_ids: list[int]) -> None:
        """Take a reference to cached blocks (an evictable one is no longer evictable)."""
        for block_id in block_ids:
            if self.refs[block_id] == 0:
                del self.evictable[block_id]
            self.refs[block_id] += 1

    def move(self, block_ids: Sequence[int], destination: "BlockPool") -> list[BlockCopy] | None:
        """Re-home blocks of this pool to `destination`: the copies to make, or None if it is
        full. A block shared with other sequences is copied and keeps serving them: the copy belongs
        to the moved sequence alone."""
        if len(block_ids) > destination.num_free:
            return None
        new_ids = destination.allocate(len(block_ids))
        self.free(block_ids)
        return [BlockCopy(old, new) for old, new in zip(block_ids, new_ids)]


class BlockManager:
    def __init__(self, block_size: int, num_gpu_blocks: int, num_cpu_blocks: int) -> None:
        self.block_size = block_size
        # the prefix cache's pool, when the scheduler registers blocks (with prefix caching on)
        self.gpu = BlockPool(num_gpu_blocks)
        self.cpu = BlockPool(num_cpu_blocks)

    def grow(self, block_ids: MutableSequence[int], num_tokens: int) -> bool:
        """Extend a block list to hold num_tokens; False (nothing taken) if the GPU is full."""
        num_missing = -(-num_tokens // self.block_size) - len(block_ids)
        if num_missing <= 0:  # most steps: the last block has room
            return True
        if num_missing > self.gpu.num_free:
            return False
        block_ids.extend(self.gpu.allocate(num_missing))
        return True

    def reset_prefix_cache(self) -> None:
        """Forget every cached block (vLLM's name). Only once no sequence holds a GPU block (Engine.reset,
        every sequence aborted): a fresh pool, every block free, the digests dropped."""
        self.gpu = BlockPool(self.gpu.num_blocks)
