"""Tokenizer: chat templates from either file (HF's rendering as oracle) and streaming detokenization."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from swiftllm.controller.tokenizer import Detokenizer, Tokenizer
from swiftllm.model_config import ModelError
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
    # an output's last token flushes what is held back, as U+FFFD (session 45's probe: a completion cut
    # inside a character lost its bytes): at every cut, the text is the whole decode of the output
    cut_inside = 0
    for cut in range(1, len(ids) + 1):
        detokenizer = Detokenizer(tokenizer, prompt)
        flushed = [
            detokenizer.add(token, index == cut - 1) for index, token in enumerate(ids[:cut])
        ]
        assert "".join(flushed) == tokenizer.decode(ids[:cut])
        cut_inside += tokenizer.decode(ids[:cut]).endswith("\ufffd")
    assert cut_inside >= 5


def test_a_prompt_ending_inside_a_character_streams_the_character_it_completes(smol: Path) -> None:
    """A token-id prompt may end inside a character whose last bytes are the output's first token. The
    output's text then begins with that character: the prompt's whole characters and the streamed text
    make HF's decode of prompt and output together (a stream that lost it, as before session 53, fails)."""
    tokenizer = Tokenizer(smol)
    ids = tokenizer.encode("Prompt: 你好世界 🎉👩‍👩‍👧 café — done")
    cuts = [cut for cut in range(1, len(ids)) if tokenizer.decode(ids[:cut]).endswith("\ufffd")]
    assert len(cuts) >= 5
    for cut in cuts:
        detokenizer = Detokenizer(tokenizer, ids[:cut])
        output = ids[cut:]
        streamed = "".join(
            detokenizer.add(token, index == len(output) - 1) for index, token in enumerate(output)
        )
        prompt_text = tokenizer.decode(ids[:cut]).rstrip("\ufffd")
        assert prompt_text + streamed == tokenizer.decode(ids)


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


def test_standalone_tokens_stream_as_a_full_decode(smol: Path) -> None:
    """Random ids over the whole vocabulary (parts of characters, special tokens, whole words): most
    tokens take the no-decode path (standalone_ids), and the streamed text is HF's decode of the whole
    output, less a tail the detokenizer still holds back (an unfinished character)."""
    tokenizer = Tokenizer(smol)
    vocab_size = tokenizer.hf.get_vocab_size()
    rng = np.random.default_rng(0)
    fast = 0
    total = 0
    for prompt in ([], tokenizer.encode("Prompt: ")):
        for _ in range(4):
            ids = rng.integers(0, vocab_size, 300).tolist()
            detokenizer = Detokenizer(tokenizer, prompt)
            pieces = []
            for token in ids:
                pieces.append(detokenizer.add(token))
                fast += token in tokenizer.standalone_ids  # known once the token is first seen
            total += len(ids)
            streamed = "".join(pieces)
            full = tokenizer.decode(ids)
            assert full.startswith(streamed)
            held_back = full[len(streamed) :]
            assert held_back == "" or held_back.endswith("\ufffd")
    assert fast > total // 2


def byte_fallback_tokenizer(directory: Path) -> None:
    """A tokenizer.json of the SentencePiece kind (Llama 2's decoders: the word-start mark made a space,
    byte pieces, the leading space stripped) with a few words and every byte."""
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import decoders, models, pre_tokenizers

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for byte in range(256):
        vocab[f"<0x{byte:02X}>"] = len(vocab)
    merges = []
    for word in ("\u2581hello", "\u2581world", "llo"):
        for char in word:
            vocab.setdefault(char, len(vocab))
        piece = word[0]
        for char in word[1:]:
            merges.append((piece, char))
            piece += char
            vocab.setdefault(piece, len(vocab))
    hf = HFTokenizer(models.BPE(vocab=vocab, merges=merges, byte_fallback=True, unk_token="<unk>"))
    hf.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first")
    hf.decoder = decoders.Sequence(
        [
            decoders.Replace("\u2581", " "),
            decoders.ByteFallback(),
            decoders.Fuse(),
            decoders.Strip(" ", 1, 0),
        ]
    )
    hf.save(str(directory / "tokenizer.json"))


def word_piece_tokenizer(directory: Path) -> None:
    """A WordPiece tokenizer.json: its decoder puts a space between words, so no token's text stands
    alone though each one's text alone is its piece."""
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import decoders, models, pre_tokenizers

    vocab = {"[UNK]": 0, "hello": 1, "world": 2, "wor": 3, "##ld": 4, ",": 5}
    hf = HFTokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    hf.pre_tokenizer = pre_tokenizers.Whitespace()
    hf.decoder = decoders.WordPiece()
    hf.save(str(directory / "tokenizer.json"))


@pytest.mark.parametrize("make", [byte_fallback_tokenizer, word_piece_tokenizer])
def test_other_decoders_stream_through_the_window_decode(tmp_path: Path, make) -> None:  # noqa: ANN001
    """Under decoders that are not byte-level no token is taken as standalone, and the stream still
    reads as the whole decode (a WordPiece stream would lose its spaces otherwise)."""
    make(tmp_path)
    tokenizer = Tokenizer(tmp_path)
    for text in ("hello héllo world 你好", "hello world, hello world", "hello wor"):
        ids = tokenizer.encode(text, add_special_tokens=False)
        detokenizer = Detokenizer(tokenizer, [])
        streamed = "".join(detokenizer.add(token) for token in ids)
        assert streamed == tokenizer.decode(ids)
    assert tokenizer.standalone_ids == set()


def test_token_bytes_of_a_sentencepiece_tokenizer_spell_its_text(tmp_path: Path) -> None:
    """logprobs' `bytes` under SentencePiece decoders (Llama 2's): a byte piece is its one byte, a word piece
    its text with the word-start mark as a space, and a text's tokens' bytes joined are its UTF-8 (with the
    leading space the decoder strips); an id past the vocabulary has none."""
    byte_fallback_tokenizer(tmp_path)
    tokenizer = Tokenizer(tmp_path)
    assert not tokenizer.byte_level
    vocab = tokenizer.hf.get_vocab()
    assert tokenizer.token_bytes(vocab["<0xE2>"]) == b"\xe2"
    assert tokenizer.token_bytes(vocab["\u2581hello"]) == b" hello"
    assert tokenizer.token_bytes(vocab["llo"]) == b"llo"
    for text in ("hello world", "hello héllo 你好 €", "€"):
        ids = tokenizer.encode(text, add_special_tokens=False)
        assert b"".join(map(tokenizer.token_bytes, ids)) == f" {text}".encode()
    assert tokenizer.token_bytes(len(vocab) + 5) == b""


@pytest.mark.parametrize(
    "template, error, match",
    [
        # does not compile: refused when the tokenizer loads (before: at the first chat request)
        ("{% for m in messages %}{{ m.content }}", ModelError, "does not compile.*endfor"),
        ("{{ messages[0].content | no_such_filter }}", ModelError, "does not compile"),
        # compiles, refuses these messages: ValueError (REST: 400; LLM.chat: the caller's error)
        ("{{ raise_exception('no system role') }}", ValueError, "no system role$"),
        ("{{ messages[0].content.nope() }}", ValueError, "UndefinedError"),
        ("{{ messages[0].content + 1 }}", ValueError, "TypeError"),
        ("{{ range(10**9) | list }}", ValueError, "OverflowError: Range too big"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", ValueError, "RecursionError"),
    ],
)
def test_chat_template_faults_are_named(
    smol: Path, tmp_path: Path, template: str, error: type, match: str
) -> None:
    shutil.copy(smol / "tokenizer.json", tmp_path / "tokenizer.json")
    (tmp_path / "chat_template.jinja").write_text(template)
    if error is ModelError:
        with pytest.raises(ModelError, match=match):
            Tokenizer(tmp_path)
        return
    tokenizer = Tokenizer(tmp_path)
    with pytest.raises(ValueError, match=match):
        tokenizer.render_chat(MESSAGES)
    # the user's file in place of the model's goes the same way
    user_file = tmp_path / "user.jinja"
    user_file.write_text("{% if %}")
    with pytest.raises(ModelError, match="does not compile"):
        Tokenizer(smol, str(user_file))


@pytest.mark.parametrize(
    "config_text, jinja_bytes",
    [
        ("[1, 2]", None),  # not an object
        ("null", None),
        ("{not json", None),
        ('{"chat_template": []}', None),  # named templates, none there
        ('{"chat_template": [{"name": "default"}]}', None),  # one without its template
        ('{"chat_template": ["plain string"]}', None),
        ('{"chat_template": 7}', None),
        ('{"chat_template": {"template": "x"}}', None),
        ("{}", b"\xff\xfe not utf-8 {{ messages }}"),
    ],
)
def test_a_malformed_tokenizer_config_is_one_model_error_naming_it(
    smol: Path, tmp_path: Path, config_text: str, jinja_bytes: bytes | None
) -> None:
    """Session 42's fuzzing: each gave AttributeError / IndexError / KeyError / jinja's TypeError, or a line
    that named no file."""
    shutil.copy(smol / "tokenizer.json", tmp_path / "tokenizer.json")
    (tmp_path / "tokenizer_config.json").write_text(config_text)
    if jinja_bytes is not None:
        (tmp_path / "chat_template.jinja").write_bytes(jinja_bytes)
    with pytest.raises(ModelError, match=f"{tmp_path}: chat template or tokenizer config"):
        Tokenizer(tmp_path)


def test_a_model_directory_without_tokenizer_json_is_a_model_error_naming_it(
    smol: Path, tmp_path: Path
) -> None:
    shutil.copy(smol / "tokenizer_config.json", tmp_path / "tokenizer_config.json")
    with pytest.raises(ModelError, match=f"^{re.escape(str(tmp_path))} has no tokenizer.json$"):
        Tokenizer(tmp_path)


def test_chat_without_a_chat_template_is_a_model_error(smol: Path, tmp_path: Path) -> None:
    """A tokenizer.json alone (no tokenizer_config.json, no chat_template.jinja): plain text encodes, chat
    messages are refused with a ModelError (a ValueError: REST answers it with a 400)."""
    shutil.copy(smol / "tokenizer.json", tmp_path / "tokenizer.json")
    tokenizer = Tokenizer(tmp_path)
    assert tokenizer.chat_template is None and tokenizer.encode("Hi there!")
    for call in (tokenizer.render_chat, tokenizer.encode_chat):
        with pytest.raises(ModelError, match="^this model has no chat template$"):
            call(MESSAGES)


def test_a_missing_chat_template_file_is_named(smol: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=f"nope.jinja.*No such file.*{tmp_path}"):
        Tokenizer(smol, str(tmp_path / "nope.jinja"))


def test_encode_gives_the_plain_encodes_ids_and_lets_other_threads_run(smol: Path) -> None:
    """Session 56's hunt: `tokenizers.Tokenizer.encode` holds the GIL throughout, so one long /tokenize
    stopped the event loop and the engine thread for seconds. A thread that ticks every millisecond got one
    or two ticks in while `encode` ran; the batch form lets it run."""
    tokenizer = Tokenizer(smol)
    for text in (
        "hello world " * 50,
        "Ünïcödé ✓ 日本語",
        "<|im_start|>user\nhi<|im_end|>",
        "",
        " \n\t",
    ):
        for special in (True, False):
            plain = tokenizer.hf.encode(text, add_special_tokens=special).ids
            assert tokenizer.encode(text, special) == plain
    ticks: list[float] = []
    done = threading.Event()

    def tick() -> None:
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    ticker = threading.Thread(target=tick)
    ticker.start()
    time.sleep(0.05)
    start = time.perf_counter()
    tokenizer.encode("hello world " * 200_000)
    end = time.perf_counter()
    done.set()
    ticker.join()
    during = [stamp for stamp in ticks if start <= stamp <= end]
    # hundreds at one a millisecond; under a held GIL, one or two
    assert len(during) >= 20, (len(during), end - start)


def test_a_truncation_or_padding_in_tokenizer_json_is_not_applied(
    smol: Path, tmp_path: Path
) -> None:
    """Session 65's hunt: a tokenizer.json saved with truncation (or padding) cut every prompt it encoded (to 8
    tokens here, the chat template's end lost); transformers turns both off unless asked, and so do we."""
    for name in ("config.json", "tokenizer_config.json"):
        shutil.copy(smol / name, tmp_path / name)
    data = json.loads((smol / "tokenizer.json").read_text())
    data["truncation"] = {
        "direction": "Right",
        "max_length": 8,
        "strategy": "LongestFirst",
        "stride": 0,
    }
    data["padding"] = {
        "strategy": {"Fixed": 32},
        "direction": "Right",
        "pad_to_multiple_of": None,
        "pad_id": 0,
        "pad_type_id": 0,
        "pad_token": "<|endoftext|>",
    }
    (tmp_path / "tokenizer.json").write_text(json.dumps(data))
    text = "one two three four five six seven eight nine ten eleven twelve"
    plain = Tokenizer(smol)
    configured = Tokenizer(tmp_path)
    assert len(plain.encode(text)) > 8
    assert configured.encode(text) == plain.encode(text)
    assert configured.encode_chat(MESSAGES) == plain.encode_chat(MESSAGES)


HF_ENV_TEMPLATES = {
    # Llama-3.2's date: HF (and vLLM through it) give templates strftime_now; without it, a fixed 2024 date
    "strftime_now": "{% if strftime_now is defined %}{{ strftime_now('%d %b %Y') }}{% else %}26 Jul 2024"
    "{% endif %}{% for m in messages %}{{ m['content'] }}{% endfor %}",
    # HF's tojson: plain json.dumps (keys in order, no HTML escapes, non-ASCII kept), not Jinja's own
    "tojson": "{% for m in messages %}{{ m | tojson }}{{ m['content'] | tojson(indent=2) }}{% endfor %}",
    # jinja2.ext.loopcontrols: a template with {% break %} did not compile (the model did not load)
    "loop_controls": "{% for m in messages %}{% if m['role'] == 'system' %}{% continue %}{% endif %}"
    "{{ m['content'] }}{% break %}{% endfor %}",
    # HF passes tools=None and documents=None: a template testing `is not none` unguarded
    "tools_none": "{% if tools is not none %}{{ tools | tojson }}{% endif %}{% if documents is not none %}"
    "D{% endif %}{{ messages[-1]['content'] }}",
}


@pytest.mark.parametrize("name", HF_ENV_TEMPLATES)
def test_chat_templates_see_what_hf_gives_them(smol: Path, tmp_path: Path, name: str) -> None:
    """Session 67's hunt: HF's chat-template environment (strftime_now, its tojson, loop controls, tools and
    documents as none), rendered as AutoTokenizer.apply_chat_template does."""
    from transformers import AutoTokenizer

    shutil.copy(smol / "tokenizer.json", tmp_path / "tokenizer.json")
    config = json.loads((smol / "tokenizer_config.json").read_text())
    (tmp_path / "tokenizer_config.json").write_text(
        json.dumps({**config, "chat_template": HF_ENV_TEMPLATES[name]})
    )
    messages = [
        {"role": "system", "content": "Be <b>brief</b> & kind"},
        {"role": "user", "content": "Café 你好 'quoted'"},
    ]
    expected = AutoTokenizer.from_pretrained(tmp_path).apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True
    )
    assert Tokenizer(tmp_path).render_chat(messages) == expected


def test_chat_templates_see_every_special_token_hf_gives_them(tmp_path: Path) -> None:
    """HF passes a template each special token its tokenizer has: sep_token, cls_token and mask_token were
    missing here (empty), as a tiny BERT-style tokenizer with all seven shows against apply_chat_template."""
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import models, pre_tokenizers
    from transformers import AutoTokenizer

    specials = ["<s>", "</s>", "[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"]
    vocab = {token: i for i, token in enumerate([*specials, "hi", "there"])}
    hf_tokenizer = HFTokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    hf_tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    hf_tokenizer.add_special_tokens(specials)
    hf_tokenizer.save(str(tmp_path / "tokenizer.json"))
    names = "bos_token eos_token unk_token sep_token pad_token cls_token mask_token".split()
    config: dict[str, object] = dict(zip(names, specials))
    # a token given as an AddedToken map, as tokenizer_config.json files often do
    config["mask_token"] = {"__type": "AddedToken", "content": "[MASK]", "normalized": False}
    shown = "|".join("{{ " + name + " }}" for name in names)
    loop = "{% for m in messages %}{{ cls_token }}{{ m['content'] }}{{ sep_token }}{% endfor %}"
    config.update(tokenizer_class="PreTrainedTokenizerFast", chat_template=shown + loop)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    messages = [{"role": "user", "content": "hi there"}]
    expected = AutoTokenizer.from_pretrained(tmp_path).apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True
    )
    assert expected == "<s>|</s>|[UNK]|[SEP]|[PAD]|[CLS]|[MASK][CLS]hi there[SEP]"
    assert Tokenizer(tmp_path).render_chat(messages) == expected
