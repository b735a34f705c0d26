"""Every architecture and checkpoint format a researcher downloads, against the HF class that wrote it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from conftest import full_logits, read_json, rel_err, runner_for, save_tiny_model

from swiftllm.llm import LLM
from swiftllm.model_config import ModelConfig, ModelError
from swiftllm.sampling_params import SamplingParams

LLAMA3_ROPE = {
    "rope_type": "llama3",
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 16,
    "rope_theta": 500000.0,
}
CASES = {
    "llama": ("LlamaForCausalLM", {}),
    "llama-gqa-tied": ("LlamaForCausalLM", {"num_key_value_heads": 1, "tie_word_embeddings": True}),
    "llama3-rope": ("LlamaForCausalLM", {"num_key_value_heads": 2, "rope_parameters": LLAMA3_ROPE}),
    "linear-rope": (
        "LlamaForCausalLM",
        {"rope_parameters": {"rope_type": "linear", "factor": 4.0, "rope_theta": 10000.0}},
    ),
    "mistral": ("MistralForCausalLM", {"num_key_value_heads": 2, "sliding_window": 128}),
    "qwen2": ("Qwen2ForCausalLM", {"num_key_value_heads": 2}),
}


def reshard(path: Path, fmt: str) -> None:
    """Rewrite a saved single-file safetensors checkpoint as fmt: sharded safetensors, .bin, sharded .bin."""
    from safetensors.torch import load_file, save_file

    if fmt == "safetensors":
        return
    state = load_file(str(path / "model.safetensors"))
    (path / "model.safetensors").unlink()
    names = sorted(state)
    half = len(names) // 2
    halves = [{n: state[n] for n in names[:half]}, {n: state[n] for n in names[half:]}]
    if fmt == "safetensors-sharded":
        files = [f"model-0000{i + 1}-of-00002.safetensors" for i in range(2)]
        for f, part in zip(files, halves):
            save_file(part, str(path / f), metadata={"format": "pt"})
        index = {"weight_map": {n: files[i] for i, part in enumerate(halves) for n in part}}
        (path / "model.safetensors.index.json").write_text(json.dumps(index))
    elif fmt == "bin":
        torch.save(state, path / "pytorch_model.bin")
    elif fmt == "bin-sharded":
        for i, part in enumerate(halves):
            torch.save(part, path / f"pytorch_model-0000{i + 1}-of-00002.bin")


# every architecture in safetensors; formats are independent of the architecture, so two cover the rest
MATRIX = [(c, "safetensors") for c in CASES] + [
    (c, f) for c in ("llama", "qwen2") for f in ("safetensors-sharded", "bin", "bin-sharded")
]


@pytest.mark.parametrize("case,fmt", MATRIX)
def test_logits_and_greedy_match_hf(tmp_path: Path, case: str, fmt: str) -> None:
    arch, overrides = CASES[case]
    hf = save_tiny_model(tmp_path, arch, **overrides)
    reshard(tmp_path, fmt)
    # past llama3's original 16 positions: scaling matters
    ids = torch.randint(0, 128, (40,)).tolist()
    with torch.no_grad():
        ref = hf(torch.tensor([ids])).logits[0]
    assert rel_err(full_logits(runner_for(tmp_path, max_len=128), ids, [4, 0, 2]), ref) < 1e-4
    out = LLM(str(tmp_path), max_model_len=128).generate(
        [ids[:10]], SamplingParams(max_tokens=12, temperature=0, ignore_eos=True)
    )[0]
    with torch.no_grad():  # teacher-forced: HF's argmax after each prefix of ours
        forced = hf(torch.tensor([ids[:10] + out.token_ids])).logits[0, 9:-1].argmax(-1).tolist()
    assert forced == out.token_ids


@pytest.mark.slow
def test_list_of_eos_ids_stops_on_each(tmp_path: Path) -> None:
    save_tiny_model(tmp_path)
    llm = LLM(str(tmp_path), max_model_len=128)
    free = llm.generate([[5, 6, 7]], SamplingParams(max_tokens=20, temperature=0, ignore_eos=True))[
        0
    ].token_ids
    # declare the k-th greedy token an EOS, second in a list: generation stops right there
    for k in (2, 5):
        (tmp_path / "generation_config.json").write_text(
            json.dumps({"eos_token_id": [127, free[k]]})
        )
        if free[k] in free[:k]:
            continue
        out = LLM(str(tmp_path), max_model_len=128).generate(
            [[5, 6, 7]], SamplingParams(max_tokens=20, temperature=0)
        )[0]
        assert out.token_ids == free[: k + 1] and out.finish_reason == "stop"


@pytest.mark.slow
def test_generation_config_defaults_and_context_bounds(tmp_path: Path) -> None:
    save_tiny_model(tmp_path, max_position_embeddings=64)
    (tmp_path / "generation_config.json").write_text(
        json.dumps({"eos_token_id": 2, "temperature": 0.0})
    )
    llm = LLM(str(tmp_path))
    # max_position_embeddings bounds the context
    assert llm.engine.scheduler.cfg.max_model_len == 64
    # temperature from the config: greedy
    a = llm.generate([[5, 6, 7]], SamplingParams(max_tokens=8, ignore_eos=True))
    b = llm.generate([[5, 6, 7]], SamplingParams(max_tokens=8, ignore_eos=True, temperature=0))
    assert a[0].token_ids == b[0].token_ids
    assert LLM(str(tmp_path), max_model_len=32).engine.scheduler.cfg.max_model_len == 32
    with pytest.raises(ModelError, match="exceeds"):
        LLM(str(tmp_path), max_model_len=65)


@pytest.mark.parametrize(
    ("generation", "message"),
    [
        ({"temperature": -1}, "generation_config.json: temperature must be a number in"),
        ({"top_p": 0}, "generation_config.json: top_p must be a number in"),
        ({"top_k": 10**12}, "generation_config.json: top_k must be"),
        ({"top_k": "x"}, "generation_config.json"),
    ],
)
def test_a_bad_generation_default_is_refused_at_load_not_at_the_first_request(
    tmp_path: Path, generation: dict, message: str
) -> None:
    """Every request inherits these: before session 41 a bad one passed loading and failed (on a
    server: ended) the first request; a null is unset, as if absent."""
    save_tiny_model(tmp_path)
    (tmp_path / "generation_config.json").write_text(json.dumps(generation))
    with pytest.raises(ModelError, match=message):
        ModelConfig.from_dir(tmp_path)
    (tmp_path / "generation_config.json").write_text(
        json.dumps({"temperature": None, "top_p": None, "top_k": None, "eos_token_id": None})
    )
    assert ModelConfig.from_dir(tmp_path).generation_defaults == {}
    out = LLM(str(tmp_path)).generate([[5, 6]], SamplingParams(max_tokens=2, ignore_eos=True))
    assert len(out[0].token_ids) == 2


@pytest.mark.parametrize("damage", ["truncated", "empty", "text"])
def test_an_unreadable_checkpoint_or_tokenizer_is_one_line_naming_the_file(
    tmp_path: Path, damage: str
) -> None:
    """A truncated download or a git-lfs pointer left in place: a ModelError naming the file, not the
    safetensors or tokenizers library's own exception."""
    from swiftllm.controller.tokenizer import Tokenizer

    save_tiny_model(tmp_path)
    weights = tmp_path / "model.safetensors"
    data = weights.read_bytes()
    damaged = {
        "truncated": data[: len(data) // 2],
        "empty": b"",
        "text": b"version https://git-lfs",
    }
    weights.write_bytes(damaged[damage])
    with pytest.raises(ModelError, match="cannot read .*model.safetensors"):
        LLM(str(tmp_path))
    (tmp_path / "tokenizer.json").write_bytes(damaged[damage])
    with pytest.raises(ModelError, match="cannot read .*tokenizer.json"):
        Tokenizer(tmp_path)


def test_mistral_refuses_context_beyond_its_window(tmp_path: Path) -> None:
    save_tiny_model(tmp_path, "MistralForCausalLM", sliding_window=48)
    with pytest.raises(ModelError, match="exceeds"):
        LLM(str(tmp_path), max_model_len=64)
    assert LLM(str(tmp_path)).engine.scheduler.cfg.max_model_len == 48


def test_checkpoint_missing_a_tensor_is_a_clear_error(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    save_tiny_model(tmp_path)
    state = load_file(str(tmp_path / "model.safetensors"))
    del state["model.layers.1.mlp.up_proj.weight"]
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(ModelError, match="up_proj"):
        LLM(str(tmp_path))


def test_an_untied_config_without_lm_head_weight_is_refused_not_served_tied(tmp_path: Path) -> None:
    """tie_word_embeddings false and no lm_head.weight: before, the embedding was silently used as the
    LM head (transformers would leave it random); now a ModelError naming the tensor."""
    from safetensors.torch import load_file, save_file

    save_tiny_model(tmp_path)
    state = load_file(str(tmp_path / "model.safetensors"))
    del state["lm_head.weight"]
    save_file(state, str(tmp_path / "model.safetensors"))
    assert read_json(tmp_path / "config.json")["tie_word_embeddings"] is False
    with pytest.raises(ModelError, match="lacks tensor 'lm_head.weight'"):
        LLM(str(tmp_path))


@pytest.mark.parametrize(
    "key, value, tensor",
    [
        ("intermediate_size", 80, "model.layers.0.mlp.gate_proj.weight"),
        ("vocab_size", 1000, "model.embed_tokens.weight"),
        ("num_key_value_heads", 1, "model.layers.0.self_attn.k_proj.weight"),
        ("head_dim", 8, "model.layers.0.self_attn.q_proj.weight"),
    ],
)
@pytest.mark.parametrize("fmt", ["safetensors", "bin"])
def test_a_config_json_that_disagrees_with_its_weights_is_refused_at_load(
    tmp_path: Path, key: str, value: int, tensor: str, fmt: str
) -> None:
    """Before session 42 such a model loaded and the server failed at its first step, in torch's words."""
    save_tiny_model(tmp_path)
    reshard(tmp_path, fmt)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config[key] != value
    (tmp_path / "config.json").write_text(json.dumps({**config, key: value}))
    with pytest.raises(
        ModelError, match=f"{tensor} in {tmp_path} is .*config.json's sizes make it"
    ):
        LLM(str(tmp_path))


@pytest.mark.parametrize("safe", [True, False])
def test_each_rank_reads_its_heads_and_replicates_kv_heads_when_fewer_than_ranks(
    tmp_path: Path, safe: bool
) -> None:
    from swiftllm.model_config import ModelConfig
    from swiftllm.worker.parallel import Parallel, Pipeline
    from swiftllm.worker.weights import load_weights

    hf = save_tiny_model(
        tmp_path, safe=safe, hidden_size=64, num_attention_heads=8, num_key_value_heads=2
    )
    cfg = ModelConfig.from_dir(tmp_path)
    attn = hf.model.layers[1].self_attn
    head_dim = cfg.head_dim
    for world_size in (2, 4):
        for rank in range(world_size):
            par = Parallel(rank, world_size)
            every_layer = Pipeline(layers=range(cfg.num_layers))
            weights = load_weights(
                tmp_path, cfg, par, torch.float32, torch.device("cpu"), "auto", every_layer
            )
            q_rows = 8 // world_size * head_dim
            kv_head = rank * 2 // world_size  # the KV head this rank's query heads use
            expected_qkv = torch.cat(
                [
                    attn.q_proj.weight[rank * q_rows : (rank + 1) * q_rows],
                    attn.k_proj.weight[kv_head * head_dim : (kv_head + 1) * head_dim],
                    attn.v_proj.weight[kv_head * head_dim : (kv_head + 1) * head_dim],
                ]
            )
            assert torch.equal(weights.layers[1].qkv, expected_qkv)
            o_proj = attn.o_proj.weight[:, rank * q_rows : (rank + 1) * q_rows]
            assert torch.equal(weights.layers[1].o_proj, o_proj)
            vocab_rows = 128 // world_size
            assert torch.equal(
                weights.lm_head, hf.lm_head.weight[rank * vocab_rows : (rank + 1) * vocab_rows]
            )


def test_a_split_that_does_not_divide_is_refused_before_loading(tmp_path: Path) -> None:
    from swiftllm.worker.model_runner import ModelRunner, WorkerConfig

    save_tiny_model(tmp_path, hidden_size=48, num_attention_heads=3, num_key_value_heads=3)
    # refused before the rendezvous too: world size 2 with no dist_init gets this error, not that one
    with pytest.raises(ModelError, match="3 attention heads, 3 KV heads"):
        ModelRunner(WorkerConfig(model=str(tmp_path), device="cpu", world_size=2))


def test_a_model_dir_without_weights_is_refused_naming_it(tmp_path: Path) -> None:
    """A config.json with no *.safetensors or pytorch_model*.bin beside it: a ModelError naming the dir."""
    save_tiny_model(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(ModelError, match=f"no weights in {re.escape(str(tmp_path))} \\(expected"):
        LLM(str(tmp_path))
