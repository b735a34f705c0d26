from __future__ import annotations

import pytest
import torch
from conftest import rel_err

from swiftllm.kernels import decode_attention as da
from swiftllm.worker import backend_torch

from .paged import paged_case, tolerance

# context lengths off block boundaries, a partial first block, one spanning several chunks of v2
CONTEXTS = [1, 17, 40, 300]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("heads,kv_heads,dim", [(2, 2, 32), (6, 2, 64), (4, 1, 48)])
@pytest.mark.parametrize("splits", [1, 4])
def test_decode_matches_reference(
    dtype: torch.dtype, heads: int, kv_heads: int, dim: int, splits: int
) -> None:
    # with 4 splits, 300 tokens take 3 chunks of 128 (partials + reduce); the shorter contexts fit one chunk
    # and are written directly
    q, kc, vc, meta = paged_case([1] * len(CONTEXTS), CONTEXTS, heads, kv_heads, dim, dtype)
    ref = backend_torch.attention(q.float(), kc.float(), vc.float(), meta, dim**-0.5)
    out = da.decode_attention(
        q, kc, vc, meta.block_table, meta.context_lens, dim**-0.5, splits=splits
    )
    assert out.shape == q.shape and out.dtype == dtype
    assert rel_err(out, ref) < tolerance(dtype)


@pytest.mark.parametrize("splits", [1, 4])
@pytest.mark.parametrize("block_n", [16, 32, 128])
def test_decode_tile_knobs_keep_the_result(splits: int, block_n: int) -> None:
    """The tuning knobs bench/decode_sweep.py sweeps: any tile of keys gives the reference's result (at 4
    splits the chunks are whole tiles, so 300 tokens split differently at each)."""
    q, kc, vc, meta = paged_case([1] * len(CONTEXTS), CONTEXTS, 4, 2, 64, torch.float32)
    ref = backend_torch.attention(q.double(), kc.double(), vc.double(), meta, 0.125)
    table = meta.block_table
    lens = meta.context_lens
    out = da.decode_attention(
        q, kc, vc, table, lens, 0.125, splits, tiles=da.DecodeTiles(block_n, 2, 2)
    )
    assert rel_err(out, ref) < tolerance(torch.float32)


def test_decode_refuses_more_sequences_than_the_grid_axis_holds() -> None:
    """The sequences are the grid's second axis (CUDA: at most 65,535): more is a clear error, not a failed
    launch."""
    n = da.MAX_GRID_Y + 1
    q = torch.zeros(n, 1, 4)
    cache = torch.zeros(1, 1, 16, 4)
    table = torch.zeros(n, 1, dtype=torch.int32)
    lens = torch.ones(n, dtype=torch.int32)
    with pytest.raises(ValueError, match="at most 65535 sequences"):
        da.decode_attention(q, cache, cache, table, lens, 0.5)


@pytest.mark.parametrize("splits", [1, 4])
def test_decode_padded_rows_write_zeros(splits: int) -> None:
    q, kc, vc, meta = paged_case([1, 1, 1], [5, 20, 33], 4, 2, 32, torch.float32)
    meta.context_lens[1] = 0  # a padded row of a CUDA graph
    out = da.decode_attention(q, kc, vc, meta.block_table, meta.context_lens, 0.2, splits=splits)
    assert torch.equal(out[1], torch.zeros_like(out[1]))
    assert not out.isnan().any()


@pytest.mark.parametrize("splits", [1, 4])
def test_decode_leaves_rows_of_context_minus_one_untouched(splits: int) -> None:
    """A mixed graph's prompt-token rows (context -1 in the decode view) are prefill attention's: decode
    attention, running beside it, must not write them; the other rows are as without them."""
    q, kc, vc, meta = paged_case([1, 1, 1], [5, 300, 33], 4, 2, 32, torch.float32)
    table = meta.block_table
    ref = da.decode_attention(q, kc, vc, table, meta.context_lens, 0.2, splits=splits)
    lens = meta.context_lens.clone()
    lens[1] = -1
    out = torch.full_like(q, 7.0)
    da.decode_attention(q, kc, vc, table, lens, 0.2, splits=splits, out=out)
    assert torch.equal(out[1], torch.full_like(out[1], 7.0))
    assert torch.equal(out[[0, 2]], ref[[0, 2]])


def test_decode_params_split_small_batches_and_long_contexts() -> None:
    cpu = torch.device("cpu")
    assert da.decode_params(256, 8, 2048, cpu) == (1, da.LONG_CHUNK)  # the batch fills the GPU: v1
    # but long contexts still split
    assert da.decode_params(256, 8, 8192, cpu) == (4, da.LONG_CHUNK)
    # 6 programs for 8 SMs: still split
    assert da.decode_params(1, 6, 2048, cpu) == (4, da.MIN_CHUNK)
    # one program per SM: two splits still pay (H200, 32 sequences of 8 KV heads)
    assert da.decode_params(1, 8, 1024, cpu) == (2, da.MIN_CHUNK)
    # two programs per SM already: no reduce
    assert da.decode_params(2, 8, 1024, cpu) == (1, da.LONG_CHUNK)


def test_decode_variants_hold_every_choice_of_decode_params(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # compile_ahead compiles decode_variants(): a choice outside them would compile while a request waits.
    # decode_params reads the SM count of a CUDA device; an H200's 132 here, and the interpreter's 8
    class Properties:
        multi_processor_count = 132

    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: Properties())
    variants = set(da.decode_variants())
    assert len(variants) == len(da.decode_variants())  # each compiled once
    chosen = set()
    for device in (torch.device("cuda"), torch.device("cpu")):
        for num_seqs in range(1, 1025):
            for num_kv_heads in (1, 2, 8):
                for blocks in (1, 128, 129, 256, 257, 512, 1024, 2048, 4096, 8192, 20000):
                    chosen.add(da.decode_params(num_seqs, num_kv_heads, blocks * 16, device))
    assert chosen == variants  # none missing, none compiled in vain


@pytest.mark.parametrize(
    ("shared_memory", "expected"),
    [(227 * 1024, da.MIXED_TILES), (163 * 1024, da.MIXED_TILES), (99 * 1024, da.DEFAULT_TILES)],
)
def test_mixed_tiles_fall_back_where_a_block_has_too_little_shared_memory(
    monkeypatch: pytest.MonkeyPatch, shared_memory: int, expected: da.DecodeTiles
) -> None:
    """H100/H200 (227 KB a block) and A100 (163 KB) take the mixed-step tiles; an L4 or RTX 4090 (99 KB),
    which could not compile their two 64 KB stages, keeps the default ones."""

    class Properties:
        shared_memory_per_block_optin = shared_memory

    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: Properties())
    assert da.mixed_tiles(torch.device("cuda", 0)) == expected
    assert da.mixed_tiles(torch.device("cpu")) == da.MIXED_TILES
