"""bench/profile_step.py's gap to the floor (the profile itself needs a GPU): which kind each kernel is, and
each kind's floor, checked against the model's sizes computed here another way."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_scripts import load_script
from shapes import LLAMA3_8B, parameter_count

profile_step = load_script("profile_step")

CEIL = {"copy_bw_Bps": 4.0e12, "matmul_flops": 800e12}


def test_kernels_sort_into_kinds_by_their_names() -> None:
    # names as torch.profiler printed them on the H200 (bench/results/h200/device_call_f1aa7b6_s21_verify.log)
    kinds = {
        "_gemv_kernel": "linears",
        "nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_TNT": "linears",
        "void cublasLt::splitKreduce_kernel<32, 16, int, float, __...": "linears",
        "_decode_kernel": "decode attention",
        "_reduce_kernel": "decode attention",
        "_prefill_kernel": "prefill attention",
        "_rms_norm_kernel": profile_step.OTHER,
        "_rotary_store_kernel": profile_step.OTHER,
        "Memcpy HtoD (Pinned -> Device)": profile_step.OTHER,
    }
    for name, kind in kinds.items():
        assert profile_step.kernel_kind(name) == kind, name


def test_one_row_reads_every_weight_but_the_embedding_once() -> None:
    shape = profile_step.StepShape(decode_rows=1, context=1000, chunks=0, chunk_tokens=0)
    floors = profile_step.floors_us(shape, LLAMA3_8B, CEIL)
    hidden = LLAMA3_8B["hidden_size"]
    layers = LLAMA3_8B["num_hidden_layers"]
    # every parameter is a bf16 weight a linear reads, except the embedding table and the norms' scales
    linear_params = parameter_count(LLAMA3_8B) - LLAMA3_8B["vocab_size"] * hidden
    linear_params -= (2 * layers + 1) * hidden
    assert floors["linears"] == pytest.approx(2 * linear_params / CEIL["copy_bw_Bps"] * 1e6)
    # K and V: 8 heads of 128 in bf16, a token, a layer
    kv_bytes = layers * 1000 * 2 * 8 * 128 * 2
    assert floors["decode attention"] == pytest.approx(kv_bytes / CEIL["copy_bw_Bps"] * 1e6)
    assert floors["prefill attention"] == 0
    assert floors[profile_step.OTHER] == 0


def test_many_rows_make_the_linears_compute_bound_but_not_the_lm_head() -> None:
    # a mixed step: 255 decode rows and one chunk of 1,793 tokens, 2,048 rows through the layers but only 256
    # through the LM head (one sampled row a sequence)
    shape = profile_step.StepShape(decode_rows=255, context=500, chunks=1, chunk_tokens=1793)
    floors = profile_step.floors_us(shape, LLAMA3_8B, CEIL)
    hidden = LLAMA3_8B["hidden_size"]
    head = LLAMA3_8B["vocab_size"] * hidden
    layer_params = parameter_count(LLAMA3_8B) - 2 * head - hidden
    layer_params -= 2 * LLAMA3_8B["num_hidden_layers"] * hidden
    layers_us = 2 * 2048 * layer_params / CEIL["matmul_flops"] * 1e6
    head_us = max(2 * head / CEIL["copy_bw_Bps"], 2 * 256 * head / CEIL["matmul_flops"]) * 1e6
    assert floors["linears"] == pytest.approx(layers_us + head_us)
    # the chunk: causal attention over its own 1,793 tokens, 32 heads of 128, in every layer
    flops = 32 * 4 * 32 * 128 * 1793 * 1793 / 2
    assert floors["prefill attention"] == pytest.approx(flops / CEIL["matmul_flops"] * 1e6)


def test_gap_rows_add_each_kinds_kernels_and_total_them() -> None:
    by_kernel = {
        "_gemv_kernel": (300.0, 2.0),
        "nvjet_sm90_x": (100.0, 1.0),
        "_decode_kernel": (50.0, 1.0),
        "_rms_norm_kernel": (20.0, 3.0),
    }
    floors = {"linears": 350.0, "decode attention": 40.0, "prefill attention": 0.0}
    floors[profile_step.OTHER] = 0.0
    rows = {row["kind"]: row for row in profile_step.gap_rows(by_kernel, floors)}
    assert rows["linears"]["us"] == 400 and rows["linears"]["excess_us"] == 50
    assert rows["decode attention"]["excess_us"] == 10
    assert rows[profile_step.OTHER]["us"] == 20 and rows[profile_step.OTHER]["excess_us"] == 20
    assert rows["all kernels"]["us"] == 470 and rows["all kernels"]["floor_us"] == 390
    assert rows["all kernels"]["excess_us"] == 80


def test_no_pdl_reaches_every_kernel_launch(monkeypatch: pytest.MonkeyPatch) -> None:
    """--no-pdl must change what the launches pass, pdl.LAUNCH (PDL and launch_pdl), not only pdl.ENABLED:
    session 63's first --no-pdl runs on an H100 set ENABLED alone and ran every kernel with PDL all the same
    (the same times as PDL runs, their kernels summing past the step)."""
    import importlib

    from swiftllm.kernels import pdl

    monkeypatch.setattr(pdl, "ENABLED", True)
    monkeypatch.setattr(pdl, "LAUNCH", {"PDL": True, "launch_pdl": True})
    profile_step.disable_pdl()
    assert pdl.ENABLED is False
    assert pdl.LAUNCH == {"PDL": False, "launch_pdl": False}
    # each kernel module launches with **pdl.LAUNCH read at the call, from this very module
    for name in ("decode_attention", "gemv", "rmsnorm", "silu_mul", "rotary_store"):
        module = importlib.import_module(f"swiftllm.kernels.{name}")
        assert module.pdl is pdl, name
        assert "**pdl.LAUNCH" in Path(module.__file__).read_text(), name
