"""Text in, token ids out, and back: HF `tokenizers`, the model's chat template, streaming
detokenization."""

import json
import os
import re
import time
from pathlib import Path

from jinja2 import Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import Tokenizer as HFTokenizer

from swiftllm.model_config import ModelError

# the special tokens transformers' apply_chat_template passes a template (its SPECIAL_TOKENS_ATTRIBUTES)
SPECIAL_TOKENS = "bos_token eos_token unk_token sep_token pad_token cls_token mask_token".split()
# a SentencePiece byte-fallback piece: one raw byte
BYTE_PIECE = re.compile(r"<0x([0-9A-Fa-f]{2})>")


def byte_level_alphabet() -> dict[str, int]:
    """Byte-level BPE's printable stand-ins, back to the bytes they stand for: printable Latin-1 bytes
    stand for themselves, the other 68 bytes for the characters from U+0100 on, in byte order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    others = [byte for byte in range(256) if byte not in printable]
    stand_ins = {chr(0x100 + rank): byte for rank, byte in enumerate(others)}
    return {chr(byte): byte for byte in printable} | stand_ins


BYTE_LEVEL_ALPHABET = byte_level_alphabet()


def raise_exception(message: str) -> None:
    """What HF chat templates call to refuse their input (a system message where none is allowed)."""
    raise ValueError(message)


def compile_chat_template(template: str) -> Template:
    """A chat template compiled in a sandbox (a template is code from the model directory); one that does
    not compile is a ModelError naming its line."""
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    # what transformers gives templates: {% break %} / {% continue %}, the date (Llama 3.2's system prompt,
    # gpt-oss's), and its tojson (json.dumps with non-ASCII kept, not Jinja's sorted, HTML-escaped one)
    env.add_extension("jinja2.ext.loopcontrols")
    env.globals.update(raise_exception=raise_exception, strftime_now=time.strftime)
    env.filters["tojson"] = lambda x, **kw: json.dumps(x, **{"ensure_ascii": False, **kw})
    try:
        return env.from_string(template)
    except TemplateError as error:
        raise ModelError(f"the chat template does not compile: {error}") from None


class Tokenizer:
    def __init__(self, model_dir: str | Path, chat_template_file: str | None = None) -> None:
        model_dir = Path(model_dir)
        if not (model_dir / "tokenizer.json").is_file():
            raise ModelError(f"{model_dir} has no tokenizer.json")
        try:
            self.hf = HFTokenizer.from_file(str(model_dir / "tokenizer.json"))
        except Exception as error:  # tokenizers raises a bare Exception for a file it cannot parse
            raise ModelError(f"cannot read {model_dir / 'tokenizer.json'}: {error}") from None
        # a tokenizer.json may carry truncation or padding, which encode would apply to every prompt (one cut
        # to 8 tokens, its chat template's end lost: session 65's hunt); transformers turns them off too
        self.hf.no_truncation()
        self.hf.no_padding()
        self.byte_level = type(self.hf.decoder).__name__ == "ByteLevel"
        # the most characters one token stands for (its vocab string: one character per byte in byte-level
        # BPE): a text longer than max_model_len times this cannot fit, and is refused before encoding
        self.max_token_chars = max(map(len, self.hf.get_vocab(with_added_tokens=True)), default=1)
        config_file = model_dir / "tokenizer_config.json"
        # what transformers 5 writes beside the config
        template_file = model_dir / "chat_template.jinja"
        try:  # any of the three files malformed: one line naming them, not a library's traceback
            config = json.loads(config_file.read_text()) if config_file.is_file() else {}
            template = config.get("chat_template")
            if template_file.is_file():
                template = template_file.read_text()
            if chat_template_file is not None:  # the user's, in place of the model's
                template = Path(chat_template_file).read_text()
            if isinstance(template, list):  # named templates: the default one, else the first
                by_name = {named.get("name"): named["template"] for named in template}
                template = by_name.get("default", template[0]["template"])
            # compiled once (a request renders it, compiling would cost more than rendering); a template
            # that does not compile fails here, not at the first chat request
            self.chat_template = compile_chat_template(template) if template else None
            # the special tokens the template may name (each a string, or a dict with its "content"), and
            # tools and documents as transformers passes them without any (a template may test `is not none`)
            self.special: dict[str, str | None] = {"tools": None, "documents": None}
            for name in SPECIAL_TOKENS:
                token = config.get(name) or ""
                self.special[name] = token.get("content", "") if isinstance(token, dict) else token
        except (OSError, ValueError, LookupError, AttributeError, TypeError) as error:
            where = chat_template_file or f"{config_file.name} / {template_file.name}"
            why = f"{model_dir}: chat template or tokenizer config ({where}): {error}"
            raise ModelError(why) from None
        self.token_texts: dict[int, str] = {}  # token_text's, at most one per token id decoded
        # of those, the tokens whose text stands alone (token_text says which)
        self.standalone_ids: set[int] = set()

    def max_chars(self, max_tokens: int) -> int:
        """The longest text that can encode to at most max_tokens tokens (max_token_chars each): a longer
        one is refused before it is encoded, by REST and by LLM alike."""
        return max_tokens * self.max_token_chars

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        """The batch form, for a batch of one: tokenizers' `encode` holds the GIL from start to end (a 15 MB
        /tokenize stopped the event loop and the engine thread for ~9 s, session 56), its batch forms let
        other threads run, and `_fast` skips the character offsets, which nothing here reads (~2.5x faster;
        the same ids: tests/controller/test_tokenizer.py)."""
        return self.hf.encode_batch_fast([text], add_special_tokens=add_special_tokens)[0].ids

    def decode(self, ids: list[int]) -> str:
        return self.hf.decode(ids, skip_special_tokens=True)

    def token_text(self, token_id: int) -> str:
        """decode([token_id]), computed once per token id: streaming asks for it at nearly every step.

        It also notes whether the token's text stands alone (standalone_ids): whether it is exactly the
        text the token adds after any text that ends on a character boundary. Byte-level BPE decodes a
        run of tokens by joining their bytes, so a token whose bytes are whole UTF-8 characters (its text
        alone, encoded, gives them back) does; under other decoders (SentencePiece's leading space,
        WordPiece's joins), and for part of a character or a skipped special token, that depends on the
        neighbours, and the detokenizer decodes a window."""
        if token_id not in self.token_texts:
            text = self.decode([token_id])
            self.token_texts[token_id] = text
            if self.byte_level and text != "" and text.encode() == self.token_bytes(token_id):
                self.standalone_ids.add(token_id)
        return self.token_texts[token_id]

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes a token stands for, which may be part of a UTF-8 character (decoding it alone would
        give U+FFFD): a byte-fallback piece's byte, a byte-level piece's bytes, else its text."""
        if (piece := self.hf.id_to_token(token_id)) is None:
            return b""
        if byte_piece := BYTE_PIECE.fullmatch(piece):
            return bytes([int(byte_piece.group(1), 16)])
        if self.byte_level and all(char in BYTE_LEVEL_ALPHABET for char in piece):
            return bytes(BYTE_LEVEL_ALPHABET[char] for char in piece)
        return piece.replace("\u2581", " ").encode()  # SentencePiece's word-start mark is a space

    def render_chat(self, messages: list[dict]) -> str:
        """The template rendered, with the assistant's header after the messages (add_generation_prompt:
        REST takes only true); messages it refuses (its raise_exception, or any error rendering them: a
        missing field, a sandbox limit, a recursion) raise ValueError."""
        if self.chat_template is None:
            raise ModelError("this model has no chat template")
        try:
            return self.chat_template.render(
                messages=messages, add_generation_prompt=True, **self.special
            )
        except Exception as error:  # a template is code: whatever it raises, these messages fail it
            raise ValueError(f"{type(error).__name__}: {error}") from None

    def encode_chat(self, messages: list[dict]) -> list[int]:
        # the rendered template already holds BOS and friends as text
        return self.encode(self.render_chat(messages), add_special_tokens=False)


class Detokenizer:
    """Turns a growing list of ids into text increments, holding back bytes of an unfinished
    character.

    Decoding only a short window (from a few tokens before the unemitted ones) keeps each step O(1)
    while still letting byte-level BPE merge multi-token characters and word-leading spaces
    correctly."""

    def __init__(self, tokenizer: Tokenizer, prompt_ids: list[int]) -> None:
        self.tokenizer = tokenizer
        self.ids = list(prompt_ids[-4:])
        self.window_start = 0
        self.emitted_end = len(self.ids)  # ids before this are already emitted

    def add(self, token: int, last: bool = False) -> str:
        """The text this token completes ("" while a character or word is unfinished). The last token of
        an output flushes what is held back: bytes of an unfinished character are U+FFFD, as in a whole
        decode of the output (a completion cut inside a character lost them, and its text_offsets then
        ran past the text's end)."""
        self.ids.append(token)
        # most tokens stand alone (Tokenizer.token_text): with every id before this one emitted, no decode
        # call (at 256 streams the decodes took ~0.6 ms of a step's host work on a 2-core machine)
        new_text = self.tokenizer.token_text(token)
        if token not in self.tokenizer.standalone_ids or self.emitted_end < len(self.ids) - 1:
            new_text = self.held_text(last)
            if new_text == "":
                return ""  # an incomplete UTF-8 sequence, or a token with no text yet
        self.window_start = self.emitted_end
        self.emitted_end = len(self.ids)
        return new_text

    def held_text(self, last: bool) -> str:
        """The text of the ids not emitted yet: "" while it ends inside a character, unless `last` (the
        output's end, also when an EOS or stop token that is itself no text ends it): then that
        character's bytes are U+FFFD, as in a whole decode."""
        emitted_ids = self.ids[self.window_start : self.emitted_end]
        if len(emitted_ids) == 1:  # the last token emitted text alone, as most do
            emitted = self.tokenizer.token_text(emitted_ids[0])
        else:
            emitted = self.tokenizer.decode(emitted_ids)
        text = self.tokenizer.decode(self.ids[self.window_start :])
        if text.endswith("\ufffd") and not last:
            return ""
        # from where the two decodes part: where `emitted` ends inside a character (a token-id prompt's
        # last bytes, as U+FFFD), `text` completes it, and the completed character is this token's text
        return text[len(os.path.commonprefix([emitted, text])) :]
