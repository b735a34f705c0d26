"""bench/make_dummy_model.py: a Llama-3-8B-shaped model dir whose tokenizer serves like a real one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from bench_scripts import load_script

from swiftllm.controller.tokenizer import Detokenizer, Tokenizer
from swiftllm.model_config import ModelConfig

dummy = load_script("make_dummy_model")
shapes = load_script("shapes")


def test_the_dir_is_a_llama3_8b_model(llama3_dummy_dir: Path) -> None:
    config = ModelConfig.from_dir(llama3_dummy_dir)
    assert config.vocab_size == 128_256
    assert (config.hidden_size, config.num_layers, config.num_kv_heads) == (4096, 32, 8)
    assert config.eos_token_ids == (128001, 128008, 128009)
    assert shapes.parameter_count(shapes.LLAMA3_8B) == 8_030_261_248  # Llama-3-8B's published size


def test_full_size_vocabulary_with_llama3_special_ids(llama3_dummy_dir: Path) -> None:
    tokenizer = Tokenizer(llama3_dummy_dir)
    assert tokenizer.hf.get_vocab_size() == 128_256
    assert tokenizer.hf.token_to_id("<|begin_of_text|>") == 128000
    assert tokenizer.hf.token_to_id("<|end_of_text|>") == 128001
    assert tokenizer.hf.token_to_id("<|eot_id|>") == 128009
    assert tokenizer.hf.id_to_token(128255) == "<|reserved_special_token_247|>"
    assert tokenizer.special["bos_token"] == "<|begin_of_text|>"


def test_text_round_trips_and_chat_renders(llama3_dummy_dir: Path) -> None:
    tokenizer = Tokenizer(llama3_dummy_dir)
    text = "Hello world, the 1234 apples cost 5.60 - café, Привет, 中国\n\n    done"
    ids = tokenizer.encode(text)
    assert ids[0] == 128000  # BOS, as Llama-3's tokenizer adds it
    assert len(ids) < len(text.encode())  # merges apply: not one token per byte
    assert tokenizer.decode(ids) == text
    chat = tokenizer.encode_chat([{"role": "user", "content": "hi"}])
    assert chat[:2] == [128000, 128006]
    assert chat.count(128009) == 1


def test_random_ids_detokenize_as_a_stream(llama3_dummy_dir: Path) -> None:
    """What the server does with a dummy model's outputs: streamed text equals the whole decode."""
    tokenizer = Tokenizer(llama3_dummy_dir)
    ids = np.random.default_rng(0).integers(0, 128000, 400).tolist()
    detokenizer = Detokenizer(tokenizer, [128000, 17, 18])
    streamed = "".join(detokenizer.add(token) for token in ids)
    whole = tokenizer.decode(ids)
    assert streamed == whole.rstrip("\ufffd")  # a split character at the very end stays held back
    words = whole.split()
    assert 2 <= sum(map(len, words)) / len(words) <= 12  # word-like pieces, not single bytes


def test_construction_is_deterministic(llama3_dummy_dir: Path, tmp_path: Path) -> None:
    dummy.build_tokenizer(dummy.LLAMA3_TOKENIZER).save(str(tmp_path / "tokenizer.json"))
    again = (tmp_path / "tokenizer.json").read_bytes()
    assert again == (llama3_dummy_dir / "tokenizer.json").read_bytes()
    config = json.loads((llama3_dummy_dir / "tokenizer_config.json").read_text())
    assert "<|start_header_id|>" in config["chat_template"]


def test_transformers_loads_it_as_vllm_would(llama3_dummy_dir: Path) -> None:
    """`vllm serve DIR --load-format dummy` reads the dir through transformers' Auto classes."""
    import transformers

    config = transformers.AutoConfig.from_pretrained(llama3_dummy_dir)
    assert (config.model_type, config.vocab_size) == ("llama", 128_256)
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(llama3_dummy_dir)
    assert len(hf_tokenizer) == 128_256
    text = "Serving benchmarks detokenize: naïve café"
    assert hf_tokenizer(text).input_ids == Tokenizer(llama3_dummy_dir).encode(text)
