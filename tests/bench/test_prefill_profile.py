"""bench/prefill_profile.py's CPU-checkable parts: the kernel classes and the FLOP count."""

from __future__ import annotations

import pytest
from bench_scripts import load_script

prefill_profile = load_script("prefill_profile")
shapes = load_script("shapes")


@pytest.mark.parametrize(
    ("kernel", "op"),
    [
        ("_prefill_kernel", "attention"),
        ("nvjet_tst_192x192_64x4_2x1_v_bz_coopB_TNT", "linear"),
        ("sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x256x64", "linear"),
        ("_gemv_kernel", "linear"),
        ("_rms_norm_kernel", "rms_norm"),
        ("_rotary_store_kernel", "rotary + kv store"),
        ("_silu_mul_kernel", "silu x mul"),
        ("_inverse_cdf_kernel", "sampling"),
        ("void at::native::vectorized_elementwise_kernel<4, ...>", prefill_profile.OTHER),
    ],
)
def test_kernels_fall_in_their_operation_class(kernel: str, op: str) -> None:
    assert prefill_profile.op_class(kernel) == op


def test_linear_flops_are_two_per_weight_per_token() -> None:
    cfg = shapes.LLAMA3_8B
    tokens = 8192
    flops = prefill_profile.prefill_flops(cfg, tokens)
    hidden = cfg["hidden_size"]
    embedding = cfg["vocab_size"] * hidden
    norms = (2 * cfg["num_hidden_layers"] + 1) * hidden
    # every layer weight is read once a token; the LM head only for the sampled (last) row
    layer_weights = shapes.parameter_count(cfg) - 2 * embedding - norms
    assert flops.linear == 2 * tokens * layer_weights + 2 * embedding
    head_dim = hidden // cfg["num_attention_heads"]
    pairs = tokens * (tokens + 1) / 2  # a causal prompt: token i attends to i + 1 tokens
    expected_attention = (
        cfg["num_hidden_layers"] * cfg["num_attention_heads"] * 4 * head_dim * pairs
    )
    assert flops.attention == pytest.approx(expected_attention, rel=1e-12)
    assert flops.total == flops.linear + flops.attention
    assert 1.2e14 < flops.total < 1.4e14  # ~16 GFLOP a token plus the quadratic attention
