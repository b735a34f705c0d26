"""A dummy model directory that serves like a real one: config.json of a benchmark shape, and a full-size
byte-level BPE tokenizer.json (built with the `tokenizers` library) with its special tokens, chat template
and generation config, so that the REST path tokenizes and detokenizes as it would for the real model.
Weights are left out: serve it with `swiftctl launch --model DIR --load-format dummy`.

    python bench/make_dummy_model.py --out DIR [--shape llama3-8b]

The tokenizer is constructed, not trained (deterministic, about a second): the 256 byte tokens, then merges
that each join two tokens already in the vocabulary, drawn from a seeded generator so that the vocabulary
looks like a real one to the detokenizer: complete multi-byte UTF-8 characters (accented Latin, Greek,
Cyrillic, CJK), number groups of up to three digits, runs of spaces and newlines, and word pieces with and
without a leading space, 1-16 characters, letters drawn by English frequencies. Random token ids decode to
word-like text, and the held-back bytes of split characters occur as they do for real tokenizers. Llama-3's
layout: 128,000 BPE tokens, then 256 special tokens (<|begin_of_text|> = 128000, <|eot_id|> = 128009).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from shapes import LLAMA3_8B
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

# English letter frequencies (percent), a..z: word pieces look like words to a byte-level decoder
LETTER_FREQUENCIES = [
    8.2, 1.5, 2.8, 4.3, 12.7, 2.2, 2.0, 6.1, 7.0, 0.15, 0.77, 4.0, 2.4,
    6.7, 7.5, 1.9, 0.095, 6.0, 6.3, 9.1, 2.8, 0.98, 2.4, 0.15, 2.0, 0.074,
]  # fmt: skip
MAX_PIECE_CHARS = 16
PARENT_SKEW = (
    2.0  # parents drawn as u**2 of the pieces so far: older, shorter pieces are grown most
)
CJK_CHARACTERS = 3000  # the most common CJK ideographs a real vocabulary holds whole, roughly
MULTIBYTE_RANGES = [
    (0xC0, 0x100),
    (0x391, 0x3CA),
    (0x410, 0x450),
    (0x4E00, 0x4E00 + CJK_CHARACTERS),
]
SPACE = "\u0120"  # the byte-level alphabet's space, as in "Ġthe"
NEWLINE = "\u010a"


@dataclass(frozen=True)
class TokenizerShape:
    bpe_tokens: int  # bytes and merges, ids [0, bpe_tokens)
    special_tokens: list[str]  # ids from bpe_tokens on, in this order
    bos_token: str
    eos_token: str  # what ends a chat turn
    eos_token_ids: list[int]  # every id that ends generation

    @property
    def vocab_size(self) -> int:
        return self.bpe_tokens + len(self.special_tokens)


def llama3_special_tokens() -> list[str]:
    """Llama-3's 256 special tokens in id order (128000...), reserved slots numbered as it numbers them."""
    named = {
        0: "<|begin_of_text|>",
        1: "<|end_of_text|>",
        4: "<|finetune_right_pad_id|>",
        6: "<|start_header_id|>",
        7: "<|end_header_id|>",
        8: "<|eom_id|>",
        9: "<|eot_id|>",
        10: "<|python_tag|>",
    }
    tokens = []
    reserved = 0
    for slot in range(256):
        if slot in named:
            tokens.append(named[slot])
        else:
            tokens.append(f"<|reserved_special_token_{reserved}|>")
            reserved += 1
    return tokens


LLAMA3_TOKENIZER = TokenizerShape(
    bpe_tokens=128000,
    special_tokens=llama3_special_tokens(),
    bos_token="<|begin_of_text|>",
    eos_token="<|eot_id|>",
    eos_token_ids=[128001, 128008, 128009],
)
SHAPES = {"llama3-8b": (LLAMA3_8B, LLAMA3_TOKENIZER)}
# Llama-3's chat format: a header per message, each message ended by <|eot_id|>
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
    "{{ message['content'] | trim }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)


def byte_alphabet() -> list[str]:
    """The byte-level BPE alphabet, indexed by byte: printable bytes stand for themselves, the others
    (controls, space, a few Latin-1 ones) for the characters from U+0100 on, in byte order."""
    printable = set(range(ord("!"), ord("~") + 1))
    printable |= set(range(0xA1, 0xAD)) | set(range(0xAE, 0x100))
    alphabet = []
    shifted = 0
    for byte in range(256):
        if byte in printable:
            alphabet.append(chr(byte))
        else:
            alphabet.append(chr(256 + shifted))
            shifted += 1
    return alphabet


class VocabularyBuilder:
    """Tokens in id order and the merges that make them; every merge joins two tokens already present."""

    def __init__(self, alphabet: list[str]) -> None:
        self.alphabet = alphabet
        self.tokens = list(alphabet)
        self.ids = {token: index for index, token in enumerate(self.tokens)}
        self.merges: list[tuple[str, str]] = []

    def merge(self, left: str, right: str) -> str:
        """Add left + right (both present) unless it is there already; returns it."""
        token = left + right
        if token not in self.ids:
            self.ids[token] = len(self.tokens)
            self.tokens.append(token)
            self.merges.append((left, right))
        return token

    def spell(self, data: bytes) -> str:
        """Add the token for these bytes, built left to right from its bytes."""
        token = self.alphabet[data[0]]
        for byte in data[1:]:
            token = self.merge(token, self.alphabet[byte])
        return token


def build_vocabulary(bpe_tokens: int, seed: int = 0) -> VocabularyBuilder:
    alphabet = byte_alphabet()
    vocab = VocabularyBuilder(alphabet)
    for run in range(2, 17):  # indentation and blank lines
        vocab.spell(b" " * run)
        vocab.spell(b"\n" * min(run, 4))
    for number in range(1000):  # numbers split in groups of up to three digits
        vocab.spell(str(number).encode())
    for first, end in MULTIBYTE_RANGES:
        for code_point in range(first, end):
            vocab.spell(chr(code_point).encode())
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    pieces = []  # word pieces to grow: "t", "T", " t", " T" to begin with
    for letter in letters:
        pieces.append(letter)
        pieces.append(letter.upper())
        pieces.append(vocab.merge(SPACE, letter))
        pieces.append(vocab.merge(SPACE, letter.upper()))
    rng = np.random.default_rng(seed)
    frequencies = np.array(LETTER_FREQUENCIES) / sum(LETTER_FREQUENCIES)
    while len(vocab.tokens) < bpe_tokens:
        # grow a random piece by one letter: short pieces are extended most, as in real vocabularies
        parents = rng.random(4096) ** PARENT_SKEW
        suffixes = rng.choice(len(letters), size=4096, p=frequencies)
        for parent, suffix in zip(parents, suffixes):
            piece = pieces[int(parent * len(pieces))]
            if len(piece) >= MAX_PIECE_CHARS:
                continue
            before = len(vocab.tokens)
            grown = vocab.merge(piece, letters[suffix])
            if len(vocab.tokens) > before:
                pieces.append(grown)
            if len(vocab.tokens) == bpe_tokens:
                break
    return vocab


def build_tokenizer(shape: TokenizerShape, seed: int = 0) -> Tokenizer:
    vocab = build_vocabulary(shape.bpe_tokens, seed)
    tokenizer = Tokenizer(models.BPE(vocab=vocab.ids, merges=vocab.merges))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens(
        [AddedToken(token, special=True, normalized=False) for token in shape.special_tokens]
    )
    bos_id = tokenizer.token_to_id(shape.bos_token)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{shape.bos_token} $A",
        pair=f"{shape.bos_token} $A {shape.bos_token} $B",
        special_tokens=[(shape.bos_token, bos_id)],
    )
    return tokenizer


def make_dummy_model(out: Path, shape: str = "llama3-8b") -> Path:
    """Write config.json, tokenizer.json, tokenizer_config.json and generation_config.json into `out`."""
    config, tokenizer_shape = SHAPES[shape]
    if config["vocab_size"] != tokenizer_shape.vocab_size:
        raise ValueError(f"{shape}: the tokenizer's vocabulary does not match the model's")
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(tokenizer_shape)
    tokenizer.save(str(out / "tokenizer.json"))
    bos_id = tokenizer.token_to_id(tokenizer_shape.bos_token)
    # model_type and tokenizer_class: what transformers' Auto classes (and so `vllm serve`) look for
    model_config = {
        **config,
        "model_type": "llama",
        "bos_token_id": bos_id,
        "eos_token_id": tokenizer_shape.eos_token_ids,
    }
    generation_config = {"bos_token_id": bos_id, "eos_token_id": tokenizer_shape.eos_token_ids}
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": tokenizer_shape.bos_token,
        "eos_token": tokenizer_shape.eos_token,
        "chat_template": CHAT_TEMPLATE,
        "model_max_length": config["max_position_embeddings"],
    }
    for name, content in (
        ("config.json", model_config),
        ("generation_config.json", generation_config),
        ("tokenizer_config.json", tokenizer_config),
    ):
        (out / name).write_text(json.dumps(content, indent=1) + "\n")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="directory to write (created)")
    ap.add_argument("--shape", default="llama3-8b", choices=sorted(SHAPES))
    args = ap.parse_args()
    path = make_dummy_model(args.out, args.shape)
    print(path)


if __name__ == "__main__":
    main()
