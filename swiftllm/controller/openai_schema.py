"""OpenAI request parsing and validation, and the response shapes of the completions and chat APIs.

Choices where OpenAI leaves them to the server:
- max_tokens absent: 16 for /v1/completions (OpenAI's documented default), and for chat the rest
  of the context capped at 4096; either way never more than fits. A max_tokens given that does not
  fit beside the prompt is a 400 (code context_length_exceeded), as OpenAI answers.
- Fields OpenAI or vLLM define that we do not implement are accepted at their neutral values
  (logit_bias={}, min_tokens=0 ...: the FIELDS entries with a `neutral` value, listed in docs/api.md);
  any other value is a 400 naming the field. Fields neither defines are ignored, as OpenAI clients expect.
- echo (completions only) puts the prompt's text before each choice's; with logprobs it would need
  the prompt's logprobs, which we do not compute: a 400."""

import json
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from swiftllm.controller.async_engine import Output
from swiftllm.controller.tokenizer import Tokenizer
from swiftllm.field_rules import INT, NUMBER, PARAM_FIELDS, SAMPLING_FIELDS, Field, int_in, is_text
from swiftllm.sampling_params import SamplingParams

CHAT_DEFAULT_MAX_TOKENS = 4096
COMPLETION_DEFAULT_MAX_TOKENS = 16
MAX_PROMPTS = 256  # prompts in one completions request (each with its n choices)
ANY = (object,)  # any JSON value (a neutral-only field with no neutral value: only null passes)
# the roles a chat message may have (no tool calls: "tool" messages only as a template renders them)
ROLES = ("system", "developer", "user", "assistant", "tool")
# a chat message's fields besides role and content that reach the template as sent (HF passes them, and
# vLLM), and what each must be; null is absent, and so is an empty tool_calls (as vLLM drops it: a
# template that tests `'tool_calls' in message` would take an ordinary turn for one of tool calls)
MESSAGE_EXTRAS = {"name": "a string", "tool_call_id": "a string", "tool_calls": "a list of objects"}
MAX_CHOICES = 64  # n at most: each choice is a sequence of its own


class ApiError(ValueError):
    """A request the API refuses; a ValueError, as the Python API raises for the same input."""

    def __init__(
        self, message: str, param: str | None = None, status: int = 400, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.param = param
        self.status = status
        self.code = code

    def body(self) -> dict[str, Any]:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        return {
            "error": {"message": str(self), "type": kind, "param": self.param, "code": self.code}
        }


def too_long(message: str, param: str) -> ApiError:
    """The 400 OpenAI answers for a prompt (or prompt and completion) beyond the context length."""
    return ApiError(message, param, 400, "context_length_exceeded")


def check_fits(size: int, limit: int, what: str, max_len: int, param: str) -> None:
    """too_long for a prompt part, `what` (its size said in words), of more than `limit` characters,
    ids or messages: checked before tokenizing, it cannot fit in max_len tokens."""
    if size > limit:
        raise too_long(f"{what} cannot fit the maximum context length of {max_len} tokens", param)


# OpenAI's and vLLM's fields we do not implement that have no neutral value but absence: a request giving
# one is refused (a 400 naming it) rather than served as if it were absent (return_token_ids would return
# none, cache_salt would share the prefix cache, documents would not reach the chat template)
ABSENT_ONLY = (
    "audio prediction web_search_options prompt_logprobs allowed_token_ids guided_json guided_regex "
    "guided_choice guided_grammar guided_decoding_backend structured_outputs truncate_prompt_tokens "
    "chat_template return_token_ids return_tokens_as_token_ids logits_processors cache_salt "
    "documents structural_tag guided_whitespace_pattern mm_processor_kwargs kv_transfer_params "
    "vllm_xargs"
).split()

# Every request field we read, in one place: adding a field is one line here (and its use in
# parse_request), or in SAMPLING_FIELDS.
FIELDS: dict[str, Field] = {
    **PARAM_FIELDS,
    "model": Field((str,), "a string"),
    "stream": Field((bool,), "a boolean", default=False),
    "stream_options": Field((dict,), "an object", default={}),
    "include_usage": Field((bool,), "a boolean", default=False),  # in stream_options
    # vLLM's, in stream_options: usage in every chunk, not implemented
    "continuous_usage_stats": Field((bool,), "false", neutral=(False,)),
    "max_completion_tokens": PARAM_FIELDS["max_tokens"],
    "logprobs_chat": Field((bool,), "a boolean", default=False),  # chat's "logprobs"
    "top_logprobs": PARAM_FIELDS["logprobs"],  # completions' logprobs: in PARAM_FIELDS
    # accepted at their neutral values only (null always is)
    "n": Field(INT, f"an integer in [1, {MAX_CHOICES}]", int_in(1, MAX_CHOICES), 1),
    "best_of": Field(INT, f"an integer in [1, {MAX_CHOICES}]", int_in(1, MAX_CHOICES)),
    "echo": Field((bool,), "a boolean", default=False),  # completions only
    "add_special_tokens": Field((bool,), "a boolean"),  # add_special_tokens_for says its default
    "suffix": Field((str,), "empty", neutral=("",)),
    "logit_bias": Field((dict,), "empty", neutral=({},)),
    "tools": Field((list,), "empty", neutral=([],)),
    "functions": Field((list,), "empty", neutral=([],)),
    # no tools: "auto" calls none
    "tool_choice": Field((str, dict), "none", neutral=("none", "auto")),
    "function_call": Field((str, dict), "none", neutral=("none", "auto")),
    "response_format": Field((dict,), "text", neutral=({"type": "text"},)),
    "parallel_tool_calls": Field((bool,), "a boolean", neutral=(True, False)),
    "modalities": Field((list,), "text", neutral=(["text"],)),
    "min_tokens": Field(INT, "0", neutral=(0,)),
    "use_beam_search": Field((bool,), "false", neutral=(False,)),
    "length_penalty": Field(NUMBER, "1", neutral=(1,)),
    "bad_words": Field((list,), "empty", neutral=([],)),
    "skip_special_tokens": Field((bool,), "true", neutral=(True,)),
    "spaces_between_special_tokens": Field((bool,), "true", neutral=(True,)),
    "add_generation_prompt": Field((bool,), "true", neutral=(True,)),
    "continue_final_message": Field((bool,), "false", neutral=(False,)),
    "chat_template_kwargs": Field((dict,), "empty", neutral=({},)),
    "priority": Field(INT, "0", neutral=(0,)),  # vLLM's, for its priority scheduling
    **{name: Field(ANY, "absent", neutral=()) for name in ABSENT_ONLY},
}


def read_field(body: dict[str, Any], name: str, key: str | None = None) -> Any:
    """body[key or name] checked as FIELDS[name] says; null means absent (the field's default)."""
    spec = FIELDS[name]
    key = key or name
    if (value := body.get(key)) is None:
        return spec.default
    if spec.neutral is not None:
        if not spec.is_kind(value) or value not in spec.neutral:
            raise ApiError(f"{key}={value!r} is not supported", key)
    elif not spec.accepts(value):
        raise ApiError(f"{key} must be {spec.what}", key)
    return value


@dataclass(frozen=True)
class GenerateRequest:
    chat: bool  # /v1/chat/completions, else /v1/completions
    request_id: str  # the response's id
    prompts: list[str | list[int]]  # completions: texts or token ids; chat: empty
    messages: list[dict[str, Any]]  # chat only
    params: SamplingParams  # max_tokens still a placeholder: see params_for
    max_tokens: int | None
    # the field that gave max_tokens (chat: max_completion_tokens or max_tokens), named in its errors
    max_tokens_field: str
    stream: bool
    include_usage: bool
    echo: bool = False  # completions: each choice's text begins with its prompt's
    n: int = 1  # choices per prompt

    def choice_params(self, params: SamplingParams, sample_index: int) -> SamplingParams:
        """The params of a prompt's choice number `sample_index`: its own random stream (the
        request's seed + sample_index, modulo 2**64 as the engine takes seeds, so that a seed near 2**64
        stays one; with no seed, the engine draws one per choice)."""
        if params.seed is None or sample_index == 0:
            return params
        return replace(params, seed=(params.seed + sample_index) % 2**64)

    def params_for(self, prompt_len: int, max_len: int) -> SamplingParams:
        """The SamplingParams for one prompt, with max_tokens settled against the room left."""
        room = max_len - prompt_len
        prompt_field = "messages" if self.chat else "prompt"
        if prompt_len < 1:
            raise ApiError("the prompt is empty", prompt_field)
        if room < 1 or (self.max_tokens or 0) > room:
            asked = ""
            if self.max_tokens:
                asked = (
                    f" However, you requested {prompt_len + self.max_tokens} tokens ({prompt_len} "
                    f"in the prompt, {self.max_tokens} for the completion)."
                )
            raise too_long(
                f"This model's maximum context length is {max_len} tokens, "
                f"the prompt has {prompt_len}.{asked} "
                "Please reduce the length of the prompt or of the completion.",
                self.max_tokens_field if room >= 1 else prompt_field,
            )
        default = CHAT_DEFAULT_MAX_TOKENS if self.chat else COMPLETION_DEFAULT_MAX_TOKENS
        return replace(self.params, max_tokens=self.max_tokens or min(room, default))


def check_model(model: object, model_names: tuple[str, ...]) -> None:
    """A request that names a model names ours (its served name or its path): else a 404."""
    if model is not None and model not in model_names:
        raise ApiError(f"The model `{model}` does not exist", "model", 404, "model_not_found")


def parse_request(
    body: dict[str, Any], chat: bool, model_names: tuple[str, ...], max_len: int, max_chars: int
) -> GenerateRequest:
    """Check every field (FIELDS) and the prompt's size before any tokenizing: `max_len` tokens per
    sequence, `max_chars` characters per prompt (a longer one cannot fit in max_len tokens)."""
    for name, spec in FIELDS.items():
        # continuous_usage_stats is a field of stream_options only (read below): at the top level, a field
        # no API defines, ignored as others are (it was refused)
        if spec.neutral is not None and name != "continuous_usage_stats":
            read_field(body, name)
    check_model(read_field(body, "model"), model_names)
    options = read_field(body, "stream_options")
    if body.get("stream_options") is not None and not read_field(body, "stream"):
        raise ApiError("stream_options is allowed only with stream: true", "stream_options")
    read_field(options, "continuous_usage_stats")  # the loop above read it at the top level only
    # chat: max_completion_tokens, when given, over max_tokens (which must be valid all the same)
    max_tokens_field = "max_tokens"
    max_tokens = read_field(body, "max_tokens")
    if chat and read_field(body, "max_completion_tokens") is not None:
        max_tokens_field = "max_completion_tokens"
        max_tokens = read_field(body, max_tokens_field)
    if chat:
        top_logprobs = read_field(body, "top_logprobs")
        want_logprobs = read_field(body, "logprobs_chat", "logprobs")
        if top_logprobs and not want_logprobs:  # 0 (many clients send it) with logprobs off is fine
            raise ApiError("top_logprobs needs logprobs: true", "top_logprobs")
        logprobs = (top_logprobs or 0) if want_logprobs else None
        prompts = []
        messages = parse_messages(body.get("messages"), max_len, max_chars)
    else:
        logprobs = read_field(body, "logprobs")
        prompts = parse_prompt(body.get("prompt"), max_len, max_chars)
        messages = []
    echo = read_field(body, "echo")
    if chat and echo:
        raise ApiError("echo=True is not supported in chat", "echo")
    if echo and logprobs is not None:
        raise ApiError("echo with logprobs needs the prompt's logprobs: not supported", "echo")
    # n, the choices per prompt; best_of only as absent or equal to n (no ranking of candidates)
    n = read_field(body, "n")
    if (best_of := read_field(body, "best_of")) is not None and best_of != n:
        raise ApiError(f"best_of={best_of} is not supported: only best_of = n ({n})", "best_of")
    sampling = {name: read_field(body, name) for name in SAMPLING_FIELDS}
    return GenerateRequest(
        chat,
        f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex}",
        prompts,
        messages,
        # every value was read above by the rules SamplingParams checks (field_rules), so it cannot
        # refuse them; max_tokens: a placeholder until params_for settles it against the prompt's
        # length
        SamplingParams(max_tokens=max_tokens or 1, logprobs=logprobs, **sampling),
        max_tokens,
        max_tokens_field,
        read_field(body, "stream"),
        read_field(options, "include_usage"),
        echo,
        n,
    )


def add_special_tokens_for(body: dict[str, Any], chat: bool) -> bool:
    """vLLM's field: whether a text prompt gets the tokenizer's special tokens (BOS and the like), true
    unless false. Chat's template writes them itself, so there (and for /tokenize's messages) only false
    is taken, and the answer is false: true would put a second BOS before the template's."""
    value = read_field(body, "add_special_tokens")
    if chat and value:
        raise ApiError("add_special_tokens must be false with messages", "add_special_tokens")
    return not chat and value is not False


def is_one_prompt(value: object) -> bool:
    """A text, or a non-empty list of token ids."""
    if isinstance(value, list):
        return bool(value) and all(type(token) is int for token in value)
    return is_text(value)


def parse_prompt(prompt: object, max_len: int, max_chars: int) -> list[str | list[int]]:
    """A text, a list of texts, token ids, or a list of token-id lists: n choices per prompt. Each is
    checked for size before tokenizing: at most max_len ids, or max_chars characters."""
    prompts = [prompt] if is_one_prompt(prompt) else prompt
    well_formed = isinstance(prompts, list) and 0 < len(prompts) <= MAX_PROMPTS
    if not well_formed or not all(is_one_prompt(item) for item in prompts):
        raise ApiError(
            "prompt must be a UTF-8 string, a list of strings, a list of token ids or a list of "
            f"up to {MAX_PROMPTS} such lists",
            "prompt",
        )
    for item in prompts:
        limit = max_chars if isinstance(item, str) else max_len
        check_fits(
            len(item), limit, f"a prompt of {len(item)} characters or ids", max_len, "prompt"
        )
    return prompts


def parse_messages(messages: object, max_len: int, max_chars: int) -> list[dict[str, Any]]:
    """Chat messages: each a string role and content (a string, or text parts; null only for an
    assistant message), and any of MESSAGE_EXTRAS as sent. More messages than max_len, or more characters
    than max_chars, cannot fit."""
    if not isinstance(messages, list) or not messages:
        raise ApiError("messages must be a non-empty list", "messages")
    check_fits(len(messages), max_len, f"{len(messages)} messages", max_len, "messages")
    parsed = []
    for message in messages:
        if not isinstance(message, dict):
            raise ApiError("each message must be an object", "messages")
        content = message.get("content")
        if isinstance(content, list):  # content parts: only text ones
            # an empty list is refused, as OpenAI does: not served as an empty message
            if not content or not all(is_text_part(part) for part in content):
                raise ApiError("content parts: one or more, only text content parts", "messages")
            content = "\n".join(part["text"] for part in content)
        role = message.get("role")
        # an assistant message may carry tool calls instead of content (OpenAI)
        if content is None and role == "assistant" and "content" in message:
            content = ""
        if not (is_text(role) and is_text(content)):
            raise ApiError("each message needs a string role and text content (UTF-8)", "messages")
        if role not in ROLES:
            raise ApiError(f"role {role!r} is not one of {', '.join(ROLES)}", "messages")
        extras = {key: message[key] for key in MESSAGE_EXTRAS if message.get(key) not in (None, [])}
        for key, value in extras.items():
            is_list = isinstance(value, list) and all(isinstance(item, dict) for item in value)
            is_kind = is_list if key == "tool_calls" else isinstance(value, str)
            # the strings inside tool_calls (its arguments) too: the template may write them in the prompt
            if not (is_kind and is_text(json.dumps(value, ensure_ascii=False, default=str))):
                raise ApiError(f"message {key} must be {MESSAGE_EXTRAS[key]} (UTF-8)", "messages")
        if "tool_calls" in extras:
            extras["tool_calls"] = [parse_tool_call(call) for call in extras["tool_calls"]]
        parsed.append({"role": role, "content": content, **extras})
    num_chars = sum(len(message["role"]) + len(message["content"]) for message in parsed)
    check_fits(num_chars, max_chars, f"messages of {num_chars} characters", max_len, "messages")
    return parsed


def parse_tool_call(call: dict[str, Any]) -> dict[str, Any]:
    """A tool call with its function's `arguments`, a JSON string in OpenAI's API, read into the value
    chat templates expect (they write `arguments | tojson`, which quotes a string), as vLLM reads it: an
    empty string is {}; a string that is not JSON, or whose value is not UTF-8 text (an escaped lone
    surrogate) or nests too deeply to write back, is a 400. A call without such a string is left as sent."""
    function = call.get("function")
    if not (isinstance(function, dict) and isinstance(function.get("arguments"), str)):
        return call
    try:
        arguments = json.loads(function["arguments"] or "{}")
        json.dumps(arguments, ensure_ascii=False).encode()  # UnicodeEncodeError is a ValueError
    except (ValueError, RecursionError):
        raise ApiError("a tool call's function arguments must be JSON text", "messages") from None
    return {**call, "function": {**function, "arguments": arguments}}


def is_text_part(part: object) -> bool:
    return isinstance(part, dict) and part.get("type") == "text" and is_text(part.get("text"))


def token_text(tokenizer: Tokenizer, token_id: int) -> str:
    """A token's text in logprobs; a part of a UTF-8 character (U+FFFD alone) is named by its bytes, as
    OpenAI does ("bytes:\\xe6\\x96"): as U+FFFD, a step's top tokens that were such parts shared one key of
    the legacy top_logprobs map, the last (least likely) one's value overwriting the others (session 65)."""
    text = tokenizer.hf.decode([token_id], skip_special_tokens=False)
    if "\ufffd" in text:
        text = "bytes:" + "".join(f"\\x{byte:02x}" for byte in tokenizer.token_bytes(token_id))
    return text


def choice_logprobs(
    tokenizer: Tokenizer, spec: GenerateRequest, output: Output
) -> dict[str, Any] | None:
    """The output's new tokens' logprobs, if the request asked for them: in chat's shape, or in the
    legacy one, whose text_offset is where each token's text begins in the choice's text (the engine's
    count, Sequence.text_offsets: the tokens' own texts would count a character split over two tokens
    twice, as U+FFFD each, and run past the text's end; no echo precedes it, echo takes no logprobs)."""
    if spec.params.logprobs is None:
        return None

    def item(token_id: int, logprob: float) -> dict[str, Any]:
        text = token_text(tokenizer, token_id)
        # the token's own bytes: a part of a UTF-8 character is its bytes, not U+FFFD's
        return {"token": text, "logprob": logprob, "bytes": list(tokenizer.token_bytes(token_id))}

    if spec.chat:
        content = []
        for token_id, entry in zip(output.token_ids, output.logprobs):
            top = [item(top_id, top_logprob) for top_id, top_logprob in entry.top]
            content.append({**item(token_id, entry.logprob), "top_logprobs": top})
        return {"content": content}
    return {
        "tokens": [token_text(tokenizer, token_id) for token_id in output.token_ids],
        "token_logprobs": [entry.logprob for entry in output.logprobs],
        "top_logprobs": [
            {token_text(tokenizer, top_id): top_logprob for top_id, top_logprob in entry.top}
            for entry in output.logprobs
        ],
        "text_offset": output.text_offsets,
    }


def usage(prompt_tokens: int, outputs: Collection[Output], n: int) -> dict[str, Any]:
    """OpenAI's usage object from each choice's latest output (its counts are running totals);
    cached_tokens: prompt tokens served from the prefix cache, counted as prompt_tokens are, once per
    prompt (its first choice's: choice index % n == 0), so never more than prompt_tokens."""
    completion_tokens = sum(output.num_output_tokens for output in outputs)
    cached_tokens = sum(output.num_cached_tokens for output in outputs if output.index % n == 0)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens},
    }


def choice(
    index: int, content: dict[str, Any], logprobs: dict[str, Any] | None, finish_reason: str | None
) -> dict[str, Any]:
    """One choice of a response or of a stream's chunk; `content` holds its text under the key the
    API names ("text", chat's "message" or a chunk's "delta")."""
    return {"index": index, **content, "logprobs": logprobs, "finish_reason": finish_reason}


def envelope(request_id: str, model: str, chat: bool, chunk: bool) -> dict[str, Any]:
    """A response's or a chunk's fields before its choices (each caller adds its own, and usage)."""
    kind = "text_completion"
    if chat:
        kind = "chat.completion.chunk" if chunk else "chat.completion"
    return {"id": request_id, "object": kind, "created": int(time.time()), "model": model}
