"""The block pool with prefix caching, driven by hypothesis: random allocate / append / fork-by-prefix /
free / evict sequences keep its invariants, and the cache index never names a block whose contents differ."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from swiftllm.controller.block_manager import ROOT_DIGEST, BlockManager, BlockPool, block_digest

BLOCK_SIZE = 4
NUM_BLOCKS = 12
TOKENS = st.lists(st.integers(0, 2), max_size=14)  # few token ids: prefixes collide often


def digests_of(token_ids: list[int], num_blocks: int) -> list[bytes]:
    digests: list[bytes] = []
    parent = ROOT_DIGEST
    for index in range(num_blocks):
        parent = block_digest(parent, token_ids[index * BLOCK_SIZE : (index + 1) * BLOCK_SIZE])
        digests.append(parent)
    return digests


def test_digests_chain_over_the_parent_and_are_not_python_hashes() -> None:
    first = block_digest(ROOT_DIGEST, [1, 2, 3, 4])
    assert len(first) == 32 and first == block_digest(ROOT_DIGEST, [1, 2, 3, 4])
    assert block_digest(first, [5, 6, 7, 8]) != block_digest(ROOT_DIGEST, [5, 6, 7, 8])
    assert block_digest(ROOT_DIGEST, [1, 2, 3, 5]) != first
    assert block_digest(ROOT_DIGEST, [2**31 - 1]) != block_digest(ROOT_DIGEST, [-(2**31)])


def test_eviction_takes_free_blocks_first_then_the_least_recently_freed() -> None:
    pool = BlockPool(4)
    first = pool.allocate(2)
    second = pool.allocate(1)
    for block_id, tokens in zip(first + second, ([1], [2], [3])):
        pool.register(block_id, block_digest(ROOT_DIGEST, tokens))
    pool.free(first)  # the sequence's last block goes first: it is evicted first
    pool.free(second)
    assert pool.num_free == 4 and len(pool.block_by_digest) == 3
    assert pool.allocate(1) == [3]  # never cached
    assert pool.allocate(1) == [first[1]]
    assert pool.lookup([block_digest(ROOT_DIGEST, [1])]) == [first[0]]
    assert pool.lookup([block_digest(ROOT_DIGEST, [2])]) == []
    pool.share([first[0]])  # a hit takes it out of the evictable set
    assert pool.allocate(1) == second and pool.num_free == 0 and len(pool.block_by_digest) == 1


def test_reset_prefix_cache_frees_and_forgets_every_block() -> None:
    manager = BlockManager(BLOCK_SIZE, 4, 2)
    blocks: list[int] = []
    assert manager.grow(blocks, 2 * BLOCK_SIZE)
    manager.gpu.register(blocks[0], digests_of([1] * BLOCK_SIZE, 1)[0])
    manager.gpu.free(blocks)
    manager.reset_prefix_cache()
    assert manager.gpu.num_free == manager.gpu.num_blocks == 4 and not manager.gpu.evictable
    assert manager.gpu.lookup(digests_of([1] * BLOCK_SIZE, 1)) == []


@dataclass
class ModelSequence:
    token_ids: list[int]
    blocks: list[int] = field(default_factory=list)
    num_filled: int = 0  # leading tokens written to its blocks


class PrefixCacheMachine(RuleBasedStateMachine):
    """Sequences as the scheduler runs them: a new one takes its cached prefix, allocates the rest,
    fills its blocks and registers the full ones; `contents` is what each block holds, to check that
    a lookup only ever returns blocks holding what their digest names."""

    def __init__(self) -> None:
        super().__init__()
        self.manager = BlockManager(BLOCK_SIZE, NUM_BLOCKS, 0)
        self.pool = self.manager.gpu
        self.seqs: list[ModelSequence] = []
        self.contents: dict[int, bytes | None] = {}

    def fill(self, seq: ModelSequence) -> None:
        """Write seq's tokens to its blocks; index those that are full."""
        num_full = len(seq.token_ids) // BLOCK_SIZE
        digests = digests_of(seq.token_ids, num_full)
        for index in range(seq.num_filled // BLOCK_SIZE, len(seq.blocks)):
            if index < num_full:
                self.contents[seq.blocks[index]] = digests[index]
                self.pool.register(seq.blocks[index], digests[index])
            else:
                self.contents[seq.blocks[index]] = None  # partly written
        seq.num_filled = len(seq.token_ids)

    def allocate_for(self, seq: ModelSequence, num_tokens: int) -> bool:
        old_len = len(seq.blocks)
        if not self.manager.grow(seq.blocks, num_tokens):
            return False
        for block_id in seq.blocks[old_len:]:
            self.contents[block_id] = None  # about to be overwritten
        return True

    @rule(tokens=TOKENS.filter(bool), source=st.integers(0, 9), prefix_len=st.integers(0, 14))
    def start(self, tokens: list[int], source: int, prefix_len: int) -> None:
        """A new sequence: tokens alone, or a fork of an existing one's first prefix_len tokens."""
        if self.seqs:
            tokens = self.seqs[source % len(self.seqs)].token_ids[:prefix_len] + tokens
        max_blocks = (len(tokens) - 1) // BLOCK_SIZE
        digests = digests_of(tokens, max_blocks)
        hits = self.pool.lookup(digests)
        for block_id, digest in zip(hits, digests):
            assert self.contents[block_id] == digest, "the index names a block of other contents"
        self.pool.share(hits)
        seq = ModelSequence(tokens, list(hits), len(hits) * BLOCK_SIZE)
        if not self.allocate_for(seq, len(tokens)):
            self.pool.free(seq.blocks)
            return
        self.fill(seq)
        self.seqs.append(seq)

    @precondition(lambda self: self.seqs)
    @rule(which=st.integers(0, 9), tokens=TOKENS)
    def append(self, which: int, tokens: list[int]) -> None:
        seq = self.seqs[which % len(self.seqs)]
        if self.allocate_for(seq, len(seq.token_ids) + len(tokens)):
            seq.token_ids += tokens
            self.fill(seq)

    @precondition(lambda self: self.seqs)
    @rule(which=st.integers(0, 9))
    def free(self, which: int) -> None:
        seq = self.seqs.pop(which % len(self.seqs))
        self.pool.free(seq.blocks)

    @rule(num_blocks=st.integers(0, NUM_BLOCKS))
    def evict(self, num_blocks: int) -> None:
        """Take blocks for something else (evicting cached ones if need be), then give them back."""
        taken = self.pool.allocate(min(num_blocks, self.pool.num_free))
        for block_id in taken:
            self.contents[block_id] = None
        self.pool.free(taken)

    @invariant()
    def every_block_is_in_one_state(self) -> None:
        pool = self.pool
        references = Counter(block_id for seq in self.seqs for block_id in seq.blocks)
        assert pool.refs == [references[block_id] for block_id in range(NUM_BLOCKS)]
        free = set(pool.free_ids)
        assert len(free) == len(pool.free_ids), "a block is free twice"
        evictable = set(pool.evictable)
        referenced = {block_id for block_id in range(NUM_BLOCKS) if pool.refs[block_id]}
        assert not free & evictable and not free & referenced and not evictable & referenced
        assert free | evictable | referenced == set(range(NUM_BLOCKS))
        assert pool.num_free == NUM_BLOCKS - len(referenced)
        assert evictable <= set(pool.digest_by_block) and not free & set(pool.digest_by_block)

    @invariant()
    def the_index_names_blocks_by_their_contents(self) -> None:
        pool = self.pool
        assert {block: digest for digest, block in pool.block_by_digest.items()} == (
            pool.digest_by_block
        )
        for block_id, digest in pool.digest_by_block.items():
            assert self.contents[block_id] == digest


TestPrefixCacheMachine = PrefixCacheMachine.TestCase
TestPrefixCacheMachine.settings = settings(max_examples=120, stateful_step_count=40, deadline=None)
