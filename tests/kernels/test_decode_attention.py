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


def test_decode_reduce_ignores_stale_partials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reduce must not read a split past the context, nor a context that fits one chunk (a CUDA graph's
    partial buffers keep the last step's values): partial buffers full of NaN before the call still give
    the reference's result, at 8 splits of 64 tokens, where 300 tokens leave 3 of them past the context.
    (Session 35 timed a reduce that loaded every split at once, the splits past the context writing a
    log-sum-exp of -inf: this test guarded it.)"""
    empty = torch.empty

    def nan_empty(*shape: int, **kwargs: object) -> torch.Tensor:
        t = empty(*shape, **kwargs)
        return t.fill_(float("nan")) if t.dtype == torch.float32 else t

    q, kc, vc, meta = paged_case([1] * len(CONTEXTS), CONTEXTS, 4, 2, 64, torch.float16)
    ref = backend_torch.attention(q.double(), kc.double(), vc.double(), meta, 0.125)
    monkeypatch.setattr(torch, "empty", nan_empty)
    out = da.decode_attention(q, kc, vc, meta.block_table, meta.context_lens, 0.125, splits=8)
    assert not out.isnan().any()
    assert rel_err(out, ref) < tolerance(torch.float16)


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


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("heads,kv_heads,dim", [(2, 2, 32), (6, 2, 64)])
@pytest.mark.parametrize("splits", [1, 4])
def test_new_tokens_rotate_and_store_as_rotary_store_does(
    dtype: torch.dtype, heads: int, kv_heads: int, dim: int, splits: int
) -> None:
    """NewTokens: the kernel rotates q and the new k and stores k and v itself. The result and both caches
    match the torch backend's rotary_store_kv followed by attention (at 4 splits the 300-token context's new
    token is in its third chunk, whose program must store it before reading it)."""
    q, kc, vc, meta = paged_case([1] * len(CONTEXTS), CONTEXTS, heads, kv_heads, dim, dtype)
    # q, k, v as the model has them: strided views of one QKV projection's rows
    qkv = torch.randn(len(CONTEXTS), (heads + 2 * kv_heads) * dim).to(dtype)
    q, k, v = qkv.split([heads * dim, kv_heads * dim, kv_heads * dim], dim=-1)
    q = q.view(-1, heads, dim)
    k = k.view(-1, kv_heads, dim)
    v = v.view(-1, kv_heads, dim)
    angles = torch.rand(max(CONTEXTS), dim // 2) * 6.3
    cos_sin = torch.cat([angles.cos(), angles.sin()], dim=-1)
    ref_kc = kc.clone()
    ref_vc = vc.clone()
    ref_q = backend_torch.rotary_store_kv(
        q.clone(), k, v, meta.positions, cos_sin, ref_kc, ref_vc, meta.slot_mapping
    )
    ref = backend_torch.attention(ref_q.float(), ref_kc.float(), ref_vc.float(), meta, dim**-0.5)
    new_tokens = da.NewTokens(k, v, cos_sin)
    table = meta.block_table
    lens = meta.context_lens
    out = da.decode_attention(q, kc, vc, table, lens, dim**-0.5, splits, new_tokens=new_tokens)
    assert rel_err(out, ref) < tolerance(dtype)
    assert torch.allclose(kc.float(), ref_kc.float(), atol=2e-3, rtol=0)
    assert torch.equal(vc, ref_vc)
    assert not torch.equal(kc, paged_case([1] * 4, CONTEXTS, heads, kv_heads, dim, dtype)[1])


def test_new_tokens_of_a_padded_row_store_nothing() -> None:
    """A CUDA graph's padded row (context length 0) must not write the new token anywhere: its table row
    points at block 0, which belongs to another sequence."""
    q, kc, vc, meta = paged_case([1], [20], 2, 1, 32, torch.float32)
    q = torch.cat([q, torch.randn(1, 2, 32)])
    table = torch.cat([meta.block_table, torch.zeros_like(meta.block_table[:1])])
    lens = torch.tensor([20, 0], dtype=torch.int32)
    k_new = torch.randn(2, 1, 32)
    v_new = torch.randn(2, 1, 32)
    cos_sin = torch.cat([torch.ones(32, 16), torch.zeros(32, 16)], dim=-1)
    kc_before = kc.clone()
    new_tokens = da.NewTokens(k_new, v_new, cos_sin)
    out = da.decode_attention(q, kc, vc, table, lens, 0.2, 1, new_tokens=new_tokens)
    assert torch.equal(out[1], torch.zeros_like(out[1]))
    # only the real row's last slot changed: block table[0, 1], offset 3 (position 19)
    changed = (kc != kc_before).any(dim=-1).nonzero().tolist()
    assert changed == [[int(table[0, 1]), 0, 3]]
    assert torch.equal(kc[int(table[0, 1]), 0, 3], k_new[0, 0])  # cos 1, sin 0: k as it is
