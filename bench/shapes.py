"""Model shapes the benchmarks serve with dummy weights: HF config.json contents (torch-free, so that
HTTP clients and the dummy-model builder can import them)."""

from __future__ import annotations

LLAMA3_8B = dict(
    architectures=["LlamaForCausalLM"],
    hidden_size=4096,
    intermediate_size=14336,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=8,
    vocab_size=128256,
    max_position_embeddings=131072,
    rms_norm_eps=1e-5,
    rope_theta=500000.0,
    tie_word_embeddings=False,
    torch_dtype="bfloat16",
)
SMOLLM2 = dict(
    architectures=["LlamaForCausalLM"],
    hidden_size=576,
    intermediate_size=1536,
    num_hidden_layers=30,
    num_attention_heads=9,
    num_key_value_heads=3,
    vocab_size=49152,
    max_position_embeddings=8192,
    rms_norm_eps=1e-5,
    rope_theta=100000.0,
    tie_word_embeddings=True,
    torch_dtype="bfloat16",
)

# bench/check_kernels.py's third whole model: a Qwen2 shape (qkv bias, tied embeddings) with 80-wide heads,
# 16 over 4 KV heads, on paths the Llama shapes do not take
QWEN2_HEAD80 = dict(
    architectures=["Qwen2ForCausalLM"],
    hidden_size=1280,
    intermediate_size=3456,
    num_hidden_layers=4,
    num_attention_heads=16,
    num_key_value_heads=4,
    vocab_size=32000,
    max_position_embeddings=32768,
    rms_norm_eps=1e-6,
    rope_theta=1000000.0,
    tie_word_embeddings=True,
    torch_dtype="bfloat16",
)


def parameter_count(cfg: dict) -> int:
    """Parameters of a LLaMA-family config: embedding, LM head unless tied, and every layer's weights."""
    hidden = cfg["hidden_size"]
    head_dim = cfg.get("head_dim") or hidden // cfg["num_attention_heads"]
    kv_heads = cfg.get("num_key_value_heads") or cfg["num_attention_heads"]
    q_and_o = 2 * hidden * cfg["num_attention_heads"] * head_dim
    k_and_v = 2 * hidden * kv_heads * head_dim
    mlp = 3 * hidden * cfg["intermediate_size"]
    norms = 2 * hidden
    layer = q_and_o + k_and_v + mlp + norms
    embedding = cfg["vocab_size"] * hidden
    lm_head = 0 if cfg.get("tie_word_embeddings") else embedding
    return embedding + lm_head + cfg["num_hidden_layers"] * layer + hidden
