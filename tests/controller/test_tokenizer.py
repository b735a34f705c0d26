"""Tokenizer: chat templates from either file (HF's rendering as oracle) and streaming detokenization."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from swiftllm.controller.tokenizer import Detokenizer, Tokenizer
from swiftllm.models.gguf_import import ensure_default_model

MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi there!"},
    {"role": "assistant", "content": "Hello."},
    {"role": "user", "content": "Count: 1, 2, 3 ✓"},
]


@pytest.fixture(scope="module")
def smol() -> Path:
    return ensure_default_model()


@pytest.mark.parametrize("where", ["tokenizer_config", "jinja_file"])
def test_chat_template_matches_hf(smol: Path, tmp_path: Path, where: str) -> None:
    from transformers import AutoTokenizer

    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(smol / f, tmp_path / f)
    if where == "jinja_file":  # transformers 5 writes the template beside the config, not inside it
        cfg = json.loads((tmp_path / "tokenizer_config.json").read_text())
        (tmp_path / "chat_template.jinja").write_text(cfg.pop("chat_template"))
        (tmp_path / "tokenizer_config.json").write_text(json.dumps(cfg))
    ours = Tokenizer(tmp_path)
    hf = AutoTokenizer.from_pretrained(tmp_path)
    for msgs in (MESSAGES, MESSAGES[1:2]):
        assert ours.render_chat(msgs) == hf.apply_chat_template(
            msgs, tokenize=False, add_generation_prompt=True
        )
        assert ours.encode_chat(msgs) == list(
            hf.apply_chat_template(
                msgs, tokenize=True, add_generation_prompt=True, return_dict=False
            )
        )


def test_streaming_detokenization_never_breaks_a_character(smol: Path) -> None:
    tokenizer = Tokenizer(smol)
    text = "Héllo wörld — 你好世界 🎉👩‍👩‍👧 café\n\tcode(x)  42"
    ids = tokenizer.encode(text)
    prompt = tokenizer.encode("Prompt: ")
    detokenizer = Detokenizer(tokenizer, prompt)
    pieces = []
    for token in ids:
        piece = detokenizer.add(token)
        assert "\ufffd" not in piece
        pieces.append(piece)
    assert "".join(pieces) == text == tokenizer.decode(ids)
    # multi-token characters were held back, then emitted whole
    assert sum(1 for piece in pieces if piece) < len(ids)


def test_cached_token_texts_stream_the_same_pieces(smol: Path) -> None:
    tokenizer = Tokenizer(smol)
    ids = tokenizer.encode("Héllo wörld — 你好世界 🎉 the the the café")
    runs: list[list[str]] = []
    for _ in range(2):  # the second run reads every single-token text from the cache
        detokenizer = Detokenizer(tokenizer, [])
        pieces = []
        for token in ids:
            pieces.append(detokenizer.add(token))
        runs.append(pieces)
    assert runs[0] == runs[1]
    assert "".join(runs[1]) == tokenizer.decode(ids)
    for token in ids:
        assert tokenizer.token_text(token) == tokenizer.decode([token])
    assert set(tokenizer.token_texts) == set(ids)
