"""The Triton backend (interpreted) against the torch backend: the whole model over mixed steps, then decode,
then a mixed step of 98 rows; and the ops it composes from kernels."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from conftest import make_step, rel_err, runner_for, save_tiny_model
from triton._C.libtriton import native_specialize_impl
from triton.backends.compiler import BaseBackend

from swiftllm.kernels import decode_attention, gemv, prefill_attention
from swiftllm.kernels.decode_attention import decode_variants
from swiftllm.kernels.gemv import WIDE, GemvConfig
from swiftllm.protocol.step import StepCommand
from swiftllm.worker import backend_torch, backend_triton
from swiftllm.worker.metadata import AttentionMetadata, leading_decodes
from swiftllm.worker.model_runner import ModelRunner

from .paged import paged_case, tolerance


def step_logits(runner: ModelRunner, cmd: StepCommand) -> torch.Tensor:
    """The logits of one step's forward on `runner` (its K/V stored in the runner's cache)."""
    meta = AttentionMetadata.build(
        cmd.query_lens, cmd.context_lens, cmd.block_table, 16, runner.device
    )
    h, res = runner.model.forward(
        torch.from_numpy(cmd.token_ids).long(), meta, runner.cache.k, runner.cache.v
    )
    return runner.model.logits(h, res)


@pytest.mark.parametrize("kv_heads", [4, 2])
def test_triton_backend_matches_torch_backend(tmp_path: Path, kv_heads: int) -> None:
    save_tiny_model(tmp_path, num_key_value_heads=kv_heads)
    runners = [runner_for(tmp_path, backend=b) for b in ("torch", "triton")]
    a, b = list(range(10, 33)), list(range(40, 47))
    steps = [
        make_step(
            [0], [a[:17]], [17], [[4, 2]], sample=[0]
        ),  # a prefill chunk off a block boundary
        make_step(
            [0, 1], [a[17:], b], [23, 7], [[4, 2], [7]]
        ),  # a's last chunk mixed with b's prompt
        make_step([0, 1], [[5], [6]], [24, 8], [[4, 2], [7]]),  # decode only
        make_step([0, 1], [[8], [9]], [25, 9], [[4, 2], [7]]),
        # 2 decodes and a 96-token prompt: 98 rows, the MLP's gated GEMV (GATED_ROWS)
        make_step(
            [0, 1, 2],
            [[11], [12], [(7 * i) % 50 + 3 for i in range(96)]],
            [26, 10, 96],
            [[4, 2], [7], [20, 21, 22, 23, 24, 25]],
        ),
    ]
    for cmd in steps:
        outs = [step_logits(r, cmd) for r in runners]
        assert rel_err(outs[1], outs[0]) < 1e-4
    assert rel_err(runners[1].cache.k, runners[0].cache.k) < 1e-5


# a decode-only step rotates and stores its new K/V inside the decode kernel up to FUSED_ROTARY_MAX_ROWS rows,
# above that by rotary_store_kv first (here the limit is lowered to 1 row, so the 2-row steps run unfused)
@pytest.mark.slow
@pytest.mark.parametrize("max_rows", [1, 2])
def test_decode_steps_rotate_in_the_kernel_up_to_the_row_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, max_rows: int
) -> None:
    save_tiny_model(tmp_path)
    runners = [runner_for(tmp_path, backend=b) for b in ("torch", "triton")]
    monkeypatch.setattr(backend_triton, "FUSED_ROTARY_MAX_ROWS", max_rows)
    fused = []
    run = backend_triton.decode_attention

    def recording(*args: object, **kwargs: object) -> torch.Tensor:
        fused.append(kwargs.get("new_tokens") is not None)
        return run(*args, **kwargs)

    monkeypatch.setattr(backend_triton, "decode_attention", recording)
    a, b = list(range(10, 33)), list(range(40, 47))
    steps = [
        make_step([0, 1], [a, b], [23, 7], [[4, 2], [7]]),
        make_step([0, 1], [[5], [6]], [24, 8], [[4, 2], [7]]),  # decode only: 2 rows
        make_step([0], [[8]], [25], [[4, 2]]),  # decode only: 1 row, fused either way
    ]
    for cmd in steps:
        outs = [step_logits(r, cmd) for r in runners]
        assert rel_err(outs[1], outs[0]) < 1e-4
    assert rel_err(runners[1].cache.k, runners[0].cache.k) < 1e-5
    assert rel_err(runners[1].cache.v, runners[0].cache.v) < 1e-5
    layers = len(fused) // 2  # the mixed step has no decode rows: only the two decode steps call it
    assert fused == [max_rows >= 2] * layers + [True] * layers


# o's and down's outputs go to an rms_norm, so at 2-32 rows they come back as split-K partial sums that the norm
# adds (every layer's o, all but the last layer's down), and above 32 rows down's (K 96 > N 64) from
# split_k_matmul. The tiny model's K (64, 96) is whole parts of 16-wide K tiles only, so the GEMV's tiles
# shrink to those here
@pytest.mark.slow
def test_model_with_split_k_projections_matches_torch_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_tiny_model(tmp_path)
    runners = [runner_for(tmp_path, backend=b) for b in ("torch", "triton")]
    small = GemvConfig(block_n=32, block_k=16, num_warps=4, num_stages=2)
    monkeypatch.setattr(gemv, "gemv_config", lambda *args: small)
    partial = []
    whole_gemv = backend_triton.gemv

    def recording(*args: object, **kwargs: object) -> torch.Tensor:
        out = whole_gemv(*args, **kwargs)
        partial.append(out.dim() == 3)
        return out

    whole_matmul = backend_triton.split_k_matmul

    def recording_matmul(*args: object, **kwargs: object) -> torch.Tensor:
        out = whole_matmul(*args, **kwargs)
        partial.append(out.dim() == 3)
        return out

    monkeypatch.setattr(backend_triton, "gemv", recording)
    monkeypatch.setattr(backend_triton, "split_k_matmul", recording_matmul)
    a, b, c = list(range(10, 33)), list(range(40, 47)), list(range(50, 90))
    steps = [
        make_step([2], [c], [40], [[8, 9, 10]], sample=[0]),
        make_step([0], [a[:17]], [17], [[4, 2]], sample=[0]),
        make_step([0, 1], [a[17:], b], [23, 7], [[4, 2], [7]]),
        make_step([0, 1], [[5], [6]], [24, 8], [[4, 2], [7]]),
        make_step([0, 1], [[8], [9]], [25, 9], [[4, 2], [7]]),
    ]
    for cmd in steps:
        outs = []
        for r in runners:
            meta = AttentionMetadata.build(
                cmd.query_lens, cmd.context_lens, cmd.block_table, 16, r.device
            )
            h, res = r.model.forward(
                torch.from_numpy(cmd.token_ids).long(), meta, r.cache.k, r.cache.v
            )
            assert h.dim() == 2  # the last layer's down projection leaves forward whole
            outs.append(r.model.logits(h, res))
        assert rel_err(outs[1], outs[0]) < 1e-4
    # 2 layers: o, o and one down a step at 2-32 rows; one down (split_k_matmul's) at 40 rows
    assert sum(partial) == 3 * (len(steps) - 1) + 1


# at 2-32 rows a partial projection is the GEMV's split-K sums, which rms_norm adds; above the GEMV's rows, up
# to SPLIT_MATMUL_MAX_ROWS, one whose K is at least its N (down, and a square o) is split_k_matmul's; at one
# row, past the cap, or where K does not halve, a whole sum. K = 512 is whole parts of the shipped tiles (256
# wide at 2-16 rows)
@pytest.mark.parametrize(
    ("rows", "fits", "n", "k", "parts"),
    [
        (1, True, 48, 512, 1),
        (4, True, 48, 512, 2),
        (32, True, 48, 512, 2),
        (33, True, 48, 512, 2),
        (4, False, 48, 512, 2),
        (256, True, 48, 512, 2),
        (257, True, 48, 512, 1),
        (65, True, 64, 64, 2),
        (257, True, 64, 64, 1),
        (33, True, 48, 511, 1),
    ],
)
def test_partial_linear_then_rms_norm_matches_torch_backend(
    monkeypatch: pytest.MonkeyPatch, rows: int, fits: bool, n: int, k: int, parts: int
) -> None:
    monkeypatch.setattr(backend_triton, "tiles_fit", lambda x: fits)
    x, w = torch.randn(rows, k).to(torch.float16), (torch.randn(n, k) / 8).to(torch.float16)
    residual = torch.randn(rows, n).to(torch.float16)
    norm = (torch.rand(n) + 0.5).to(torch.float16)
    h = backend_triton.linear(x, w, partial=True)
    expected = (rows, n)
    if parts > 1:
        expected = (parts, rows, n)
    assert h.shape == expected
    out, res = backend_triton.rms_norm(h, norm, 1e-5, residual)
    ref_h = backend_torch.linear(x.double(), w.double(), partial=True).to(torch.float16).double()
    ref_out, ref_res = backend_torch.rms_norm(ref_h, norm.double(), 1e-5, residual.double())
    assert rel_err(res, ref_res) < tolerance(torch.float16)
    assert rel_err(out, ref_out) < tolerance(torch.float16) * 2


# a bias applies to whole sums: a partial projection with one stays whole above the GEMV's rows
def test_partial_linear_with_a_bias_is_whole() -> None:
    x, w, bias = torch.randn(40, 128), torch.randn(48, 128) / 8, torch.randn(48)
    out = backend_triton.linear(x, w, bias, partial=True)
    assert out.shape == (40, 48)
    ref = x.double() @ w.double().T + bias.double()
    assert rel_err(out, ref) < tolerance(torch.float32)


# each part is the product over its own slice of K, in float32 (the GPU's cuBLAS bmm; the CPU converts)
@pytest.mark.parametrize("parts", [2, 4])
def test_split_k_matmul_parts_match_float64(parts: int) -> None:
    wide = torch.randn(40, 300).to(torch.float16)
    x = wide[:, 20:276]  # rows strided, as a slice of a wider activation may be
    w = (torch.randn(48, 256) / 8).to(torch.float16)
    out = backend_triton.split_k_matmul(x, w, parts)
    assert out.shape == (parts, 40, 48) and out.dtype == torch.float32
    width = 256 // parts
    for p in range(parts):
        ref = (
            x[:, p * width : (p + 1) * width].double()
            @ w[:, p * width : (p + 1) * width].double().T
        )
        assert rel_err(out[p], ref) < 1e-6


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
# 1 and 4: both GEMVs and silu_and_mul; 33: F.linear and silu_and_mul; 100: the gated
# GEMV (GATED_ROWS), then F.linear
@pytest.mark.parametrize("rows", [1, 4, 33, 100])
def test_mlp_matches_torch_backend(dtype: torch.dtype, rows: int) -> None:
    x = torch.randn(rows, 96).to(dtype)
    gate_up = (torch.randn(600, 96) / 4).to(dtype)
    down = torch.randn(41, 300).to(dtype)
    out = backend_triton.mlp(x, gate_up, down)
    assert out.shape == (rows, 41) and out.dtype == dtype
    ref = backend_torch.mlp(x.double(), gate_up.double(), down.double())
    assert rel_err(out, ref) < tolerance(dtype)


# where a block may not have the tl.dot tiles' shared memory, only one row goes to the GEMV: the rest to
# F.linear and silu_and_mul, and the results are the same
@pytest.mark.parametrize("rows", [1, 4, 100])
def test_linear_and_mlp_keep_the_gemv_to_one_row_where_its_tiles_do_not_fit(
    monkeypatch: pytest.MonkeyPatch, rows: int
) -> None:
    calls = []

    def counted_gemv(*args: object, **kwargs: object) -> torch.Tensor:
        calls.append(args[0].shape[0])
        return backend_triton_gemv(*args, **kwargs)

    backend_triton_gemv = backend_triton.gemv
    monkeypatch.setattr(backend_triton, "gemv", counted_gemv)
    monkeypatch.setattr(backend_triton, "tiles_fit", lambda x: False)
    x = torch.randn(rows, 96)
    gate_up = torch.randn(600, 96) / 4
    down = torch.randn(41, 300)
    out = backend_triton.mlp(x, gate_up, down)
    ref = backend_torch.mlp(x.double(), gate_up.double(), down.double())
    assert rel_err(out, ref) < tolerance(torch.float32)
    assert all(called == 1 for called in calls)
    assert len(calls) == 2 * (rows == 1)  # gate_up's and down's GEMV at one row


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_attention_of_a_mixed_step_matches_torch_backend(dtype: torch.dtype) -> None:
    # two decode rows lead the step (decode kernel); chunks and a trailing decode row follow (prefill kernel)
    q, kc, vc, meta = paged_case([1, 1, 5, 1, 20], [40, 17, 30, 9, 20], 8, 2, 32, dtype)
    assert leading_decodes(meta.query_lens_host) == 2
    out = backend_triton.attention(q, kc, vc, meta, 0.3)
    ref = backend_torch.attention(q.double(), kc.double(), vc.double(), meta, 0.3)
    assert out.dtype == dtype and rel_err(out, ref) < tolerance(dtype)


# a wide matrix takes the GEMV up to 64 rows, then cuBLAS
@pytest.mark.parametrize("rows", [17, 48, 65])
def test_linear_of_a_wide_matrix_matches_matmul(rows: int) -> None:
    x, w = torch.randn(rows, 64), torch.randn(WIDE, 64)
    assert rel_err(backend_triton.linear(x, w), x.double() @ w.double().T) < tolerance(
        torch.float32
    )


def test_compile_ahead_runs_every_decode_variant(monkeypatch: pytest.MonkeyPatch) -> None:
    q, kc, vc, meta = paged_case([1], [5], 4, 2, 32, torch.float32)
    run = backend_triton.decode_attention
    seen = []

    def recording(*args: object, **kwargs: object) -> torch.Tensor:
        out = run(*args, **kwargs)  # the real kernel, at the variant's split count and chunk
        rotary = kwargs["new_tokens"] is not None
        seen.append((args[6], kwargs["min_chunk"], rotary, out.shape, bool(out.isfinite().all())))
        return out

    monkeypatch.setattr(backend_triton, "decode_attention", recording)
    backend_triton.compile_ahead(kc, vc, num_heads=4)
    # every variant twice: mixed steps' decode rows, and decode-only steps that rotate and store (NewTokens)
    expected = [(*variant, False) for variant in decode_variants()]
    expected += [(*variant, True) for variant in decode_variants()]
    assert [(splits, chunk, rotary) for splits, chunk, rotary, _, _ in seen] == expected
    assert all(shape == (1, 4, 32) and finite for *_, shape, finite in seen)


@contextmanager
def specializations(kernel: object) -> Iterator[list[tuple]]:
    """The key Triton compiles a kernel variant for, of each launch of `kernel` inside the block: constexpr
    values, launch options, and each other argument's type with its specialization (a pointer's 16-byte
    alignment, an integer equal to 1 or divisible by 16) unless the kernel declines it. Triton computes the
    same on a GPU, where each new key is a compile a request may wait for (0.2-1.9 s on the H200)."""
    params = list(inspect.signature(kernel.fn).parameters.values())
    names = [p.name for p in params]
    no_value = set(kernel.kwargs.get("do_not_specialize") or ())
    no_alignment = set(kernel.kwargs.get("do_not_specialize_on_alignment") or ())
    keys: list[tuple] = []

    def record(*args: object, **kwargs: object) -> None:
        values = dict(zip(names, args)) | kwargs
        key = []
        for p in params:
            if "constexpr" in str(p.annotation):
                key.append(("constexpr", values[p.name]))
            else:
                specialize = p.name not in no_value
                align = p.name not in no_alignment
                key.append(
                    native_specialize_impl(BaseBackend, values[p.name], False, specialize, align)
                )
        options = sorted((name, value) for name, value in kwargs.items() if name not in names)
        keys.append(tuple(key) + tuple(options))

    kernel.add_pre_run_hook(record)
    try:
        yield keys
    finally:
        kernel.pre_run_hooks.remove(record)


def test_mixed_steps_need_no_kernel_variant_beyond_compile_ahead() -> None:
    # A mixed step's prefill rows follow its decode rows, so their metadata pointers sit 4 bytes per decode row
    # into the arrays; and its decode rows pick a split count from the step's block-table width. Neither may
    # need a specialization the server did not compile before serving (on the H200 each cost a request up to
    # 1.9 s of TTFT). Decode rows 1-3: small-batch splits; 4-5 (8 SMs here, 2 KV heads): by table width, 4 with
    # a context past LONG_CHUNK.
    steps = {
        1: [40],
        2: [40, 7],
        3: [40, 7, 90],
        4: [2100, 7, 90, 33],
        5: [40, 7, 90, 33, 12],
    }
    with (
        specializations(decode_attention._decode_kernel) as decode_keys,
        specializations(prefill_attention._prefill_kernel) as prefill_keys,
    ):
        for decodes, contexts in steps.items():
            query_lens = [1] * decodes + [5]
            q, kc, vc, meta = paged_case(query_lens, contexts + [5], 4, 2, 32, torch.float32)
            if decodes == 1:
                backend_triton.compile_ahead(
                    kc, vc, num_heads=4
                )  # the same cache geometry throughout
                compiled = set(decode_keys)
            out = backend_triton.attention(q, kc, vc, meta, 32**-0.5)
            assert out.isfinite().all()
    splits_at = list(inspect.signature(decode_attention._decode_kernel.fn).parameters).index(
        "SPLITS"
    )
    seen_splits = {key[splits_at][1] for key in decode_keys}
    assert {1, 2, 4, 8} <= seen_splits  # the steps reached both kinds of split count
    assert set(decode_keys) <= compiled
    assert len(set(prefill_keys)) == 1, set(prefill_keys)
