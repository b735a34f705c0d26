"""cuda_graphs: the block-table widths graphs are captured at, and a mixed graph's attention on fixed grids
(the graphs themselves need CUDA: bench/check_kernels.py replays them against HF transformers on the GPU)."""

from __future__ import annotations

import os
from types import SimpleNamespace

# the kernels below run in Triton's interpreter; tests/kernels/conftest.py sets this first in a whole run
os.environ["TRITON_INTERPRET"] = "1"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from conftest import make_step, rel_err  # noqa: E402

from swiftllm.kernels.decode_attention import LONG_CHUNK, decode_params  # noqa: E402
from swiftllm.worker import backend_torch, backend_triton  # noqa: E402
from swiftllm.worker.cuda_graphs import (  # noqa: E402
    BATCH_SIZES,
    TOKEN_SIZES,
    FixedGridAttention,
    GraphRunner,
    table_widths,
)
from swiftllm.worker.graph_inputs import (  # noqa: E402
    CHUNKS,
    block_table,
    graph_inputs,
    stage_step,
    table_start,
)
from swiftllm.worker.metadata import AttentionMetadata  # noqa: E402


def test_widths_step_by_four_from_long_chunk_to_max_model_len() -> None:
    assert LONG_CHUNK == 2048  # the figures below are in 16-token blocks of it
    assert table_widths(131072, 16) == (128, 512, 2048, 8192)
    assert table_widths(8192, 16) == (128, 512)
    assert table_widths(3000, 16) == (128, 188)
    assert table_widths(2048, 16) == (128,)
    assert table_widths(100, 16) == (7,)
    assert table_widths(4096, 32) == (64, 128)


def test_large_batch_of_short_contexts_gets_one_split() -> None:
    """The point of the widths: at a width of max_model_len, 256 short contexts would launch 64 splits each."""
    cpu = torch.device("cpu")
    splits = [decode_params(256, 8, w * 16, cpu)[0] for w in table_widths(131072, 16)]
    assert splits == [1, 4, 16, 64]


@pytest.mark.parametrize(
    "decode_rows", [32, 10]
)  # every padded row, or a decode view shorter than them
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize(
    "query_lens",
    [
        [1, 1, 1, 5, 1, 20],  # decodes, then chunks (one of a single token)
        [7, 1, 3],  # no decodes
        [1] * 9,  # decodes only: no chunks
    ],
)
def test_fixed_grid_attention_over_the_staged_views_matches_torch_backend(
    dtype: torch.dtype, query_lens: list[int], decode_rows: int
) -> None:
    """A mixed graph's attention (launched as its capture launches it, here in the interpreter) over a step
    staged by stage_step: every real row as backend_torch's eager attention, padded rows zero, also where
    the decode view ends before the padded rows do (prompt rows past it are prefill attention's)."""
    gen = np.random.default_rng(1)
    contexts = [int(q + gen.integers(0, 40)) for q in query_lens]
    page = 16
    heads = 8
    kv_heads = 2
    dim = 32
    rows = 32 + CHUNKS
    width = 4
    need = [-(-c // page) for c in contexts]
    blocks = gen.permutation(sum(need) + 2).tolist()
    tables = []
    for n in need:
        tables.append(blocks[:n])
        blocks = blocks[n:]
    chunks = [[0] * q for q in query_lens]
    cmd = make_step(list(range(len(chunks))), chunks, contexts, tables)
    host = graph_inputs(np.zeros(table_start(rows) + rows * width, np.int32), rows)
    padded = 32
    table = block_table(host, rows, width)
    sampled = np.nonzero(cmd.sample)[0]
    stage_step(host, table, page, cmd, cmd.token_ids, sampled, padded, False)
    on_device = graph_inputs(torch.from_numpy(host.query_start.base), rows)
    attention = FixedGridAttention(
        backend_triton, on_device, block_table(on_device, rows, width), padded, None, decode_rows
    )
    assert attention.decode_rows == decode_rows
    n_blocks = sum(need) + 2
    k_cache = torch.randn(n_blocks, kv_heads, page, dim).to(dtype)
    v_cache = torch.randn(n_blocks, kv_heads, page, dim).to(dtype)
    q = torch.randn(padded, heads, dim).to(dtype)
    out = attention.attention(q, k_cache, v_cache, None, 0.3)
    cpu = torch.device("cpu")
    meta = AttentionMetadata.build(cmd.query_lens, cmd.context_lens, cmd.block_table, page, cpu)
    num_tokens = cmd.num_tokens
    ref = backend_torch.attention(
        q[:num_tokens].double(), k_cache.double(), v_cache.double(), meta, 0.3
    )
    tolerance = 1e-5 if dtype == torch.float32 else 5e-3
    assert out.dtype == dtype
    assert rel_err(out[:num_tokens], ref) < tolerance
    assert torch.equal(out[num_tokens:], torch.zeros_like(out[num_tokens:]))
    # rotary_attention: the backend's rotary_store_kv, then these grids, though the graph's meta poses as a
    # decode-only step's (which the backend alone would run as the fused decode kernel)
    positions = on_device.positions[:padded]
    slots = on_device.slots[:padded]
    graph_meta = SimpleNamespace(positions=positions, slot_mapping=slots, max_query_len=1)
    new_k = torch.randn(padded, kv_heads, dim).to(dtype)
    new_v = torch.randn(padded, kv_heads, dim).to(dtype)
    cos_sin = torch.randn(max(contexts), dim)
    caches = (k_cache.clone(), v_cache.clone())
    out = attention.rotary_attention(q.clone(), new_k, new_v, graph_meta, cos_sin, *caches, 0.3)
    rotated = backend_triton.rotary_store_kv(
        q, new_k, new_v, positions, cos_sin, k_cache, v_cache, slots
    )
    assert torch.equal(caches[0], k_cache) and torch.equal(caches[1], v_cache)
    assert torch.equal(out, attention.attention(rotated, k_cache, v_cache, None, 0.3))


def test_which_steps_replay_a_graph() -> None:
    """can_replay's rule, without capturing anything: decode steps up to the largest batch size, other steps
    up to the largest token size and CHUNKS prompt chunks, any of them with a table no wider than the widest
    graph's; the rest run eagerly."""
    runner = SimpleNamespace(
        table_widths=(128, 512),
        fits_decode_graph=lambda cmd: GraphRunner.fits_decode_graph(None, cmd),
    )

    def replays(query_lens: list[int], width: int = 4) -> bool:
        cmd = make_step(
            list(range(len(query_lens))),
            [[0] * q for q in query_lens],
            [q + 3 for q in query_lens],
            [[0] * width for _ in query_lens],
        )
        return GraphRunner.can_replay(runner, cmd)

    assert replays([1] * BATCH_SIZES[-1])  # a decode graph
    # a mixed graph's decode view holds as many decodes as the largest decode graph, no more
    assert replays([1] * BATCH_SIZES[-1] + [7])
    assert not replays([1] * (BATCH_SIZES[-1] + 1) + [7])
    assert not replays([1] * (BATCH_SIZES[-1] + 1))
    assert replays([1] * 3 + [2] * CHUNKS)
    assert not replays([1] * 3 + [2] * (CHUNKS + 1))
    assert replays([1] * 3 + [TOKEN_SIZES[-1] - 3])
    assert not replays([1] * 3 + [TOKEN_SIZES[-1] - 2])
    assert replays([1, 5], width=512)
    assert not replays([1, 5], width=513)
