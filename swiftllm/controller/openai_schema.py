"""OpenAI request parsing and validation, and the response shapes of the completions and chat APIs.

Choices where OpenAI leaves them to the server:
- max_tokens absent: 16 for /v1/completions (OpenAI's documented default), and for chat the rest
  of the context capped at 4096; either way never more than fits. A max_tokens given that does not
  fit beside the prompt is a 400 (code context_length_exceeded), as OpenAI answers.
- Fields OpenAI or vLLM define that we do not implement are accepted at their neutral values
  (logit_bias={}, min_tokens=0 ...: NEUTRAL, listed in docs/api.md); any other value is a 400
  naming the field. Fields neither defines are ignored, as OpenAI clients expect.
- echo (completions only) puts the prompt's text before each choice's; with logprobs it would need
  the prompt's logprobs, which we do not compute: a 400."""

import dataclasses
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from swiftllm.controller.sequence import TokenLogprobs
from swiftllm.controller.tokenizer import Tokenizer
from swiftllm.sampling_params import SamplingParams

CHAT_DEFAULT_MAX_TOKENS = 4096
COMPLETION_DEFAULT_MAX_TOKENS = 16
# unsupported fields (OpenAI's, then vLLM's): the values that mean "off" (null always does)
NEUTRAL: dict[str, tuple[Any, ...]] = {
    "suffix": ("",),
    "logit_bias": ({},),
    "tools": ([],),
    "functions": ([],),
    "tool_choice": ("none", "auto"),  # with no tools, "auto" calls none
    "function_call": ("none", "auto"),
    "parallel_tool_calls": (True, False),
    "response_format": ({"type": "text"},),
    "modalities": (["text"],),
    "audio": (),
    "prediction": (),
    "web_search_options": (),
    "min_tokens": (0,),
    "use_beam_search": (False,),
    "length_penalty": (1, 1.0),
    "prompt_logprobs": (),
    "allowed_token_ids": (),
    "bad_words": ([],),
    "guided_json": (),
    "guided_regex": (),
    "guided_choice": (),
    "guided_grammar": (),
    "guided_decoding_backend": (),
    "structured_outputs": (),
    "truncate_prompt_tokens": (),
    "skip_special_tokens": (True,),
    "spaces_between_special_tokens": (True,),
    "add_generation_prompt": (True,),
    "continue_final_message": (False,),
    "chat_template": (),
    "chat_template_kwargs": ({},),
}
# chat has no echo (vLLM's chat echo repeats the last message: not implemented)
NEUTRAL_IN_CHAT = {"echo": (False,)}
# the roles a chat message may have (no tool calls: "tool" messages only as a template renders them)
ROLES = ("system", "developer", "user", "assistant", "tool")
NUMBER = (int, float)
MAX_CHOICES = 64  # n at most: each choice is a sequence of its own


class ApiError(Exception):
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


def read_field(
    body: dict[str, Any],
    name: str,
    kinds: tuple[type, ...],
    what: str,
    default: Any = None,
    valid: Callable[[Any], bool] = lambda value: True,
) -> Any:
    """body[name] checked against kinds (bool is not a number here), then `valid`; null means
    absent."""
    value = body.get(name)
    if value is None:
        return default
    wrong_kind = not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
    if wrong_kind or not valid(value):
        raise ApiError(f"{name} must be {what}", name)
    return value


@dataclass(frozen=True)
class GenerateRequest:
    prompts: list[str | list[int]]  # completions: texts or token ids; chat: empty
    messages: list[dict[str, str]]  # chat only
    params: SamplingParams  # max_tokens still a placeholder: see params_for
    max_tokens: int | None
    stream: bool
    include_usage: bool
    echo: bool = False  # completions: each choice's text begins with its prompt's
    n: int = 1  # choices per prompt

    def choice_params(self, params: SamplingParams, sample_index: int) -> SamplingParams:
        """The params of a prompt's choice number `sample_index`: its own random stream (the
        request's seed + sample_index; with no seed, the engine draws one per choice)."""
        if params.seed is None or sample_index == 0:
            return params
        return dataclasses.replace(params, seed=params.seed + sample_index)

    def params_for(self, prompt_len: int, max_len: int, chat: bool) -> SamplingParams:
        """The SamplingParams for one prompt, with max_tokens settled against the room left."""
        room = max_len - prompt_len
        prompt_field = "messages" if chat else "prompt"
        if prompt_len < 1:
            raise ApiError("the prompt is empty", prompt_field)
        if room < 1 or (self.max_tokens or 0) > room:
            asked = ""
            if self.max_tokens:
                asked = (
                    f" However, you requested {prompt_len + self.max_tokens} tokens ({prompt_len} "
                    f"in the prompt, {self.max_tokens} for the completion)."
                )
            raise ApiError(
                f"This model's maximum context length is {max_len} tokens, "
                f"the prompt has {prompt_len}.{asked} "
                "Please reduce the length of the prompt or of the completion.",
                "max_tokens" if room >= 1 else prompt_field,
                400,
                "context_length_exceeded",
            )
        default = CHAT_DEFAULT_MAX_TOKENS if chat else COMPLETION_DEFAULT_MAX_TOKENS
        return dataclasses.replace(self.params, max_tokens=self.max_tokens or min(room, default))


def parse_request(body: object, chat: bool, model_names: tuple[str, ...]) -> GenerateRequest:
    if not isinstance(body, dict):
        raise ApiError("the request body must be a JSON object")
    unsupported = NEUTRAL
    if chat:
        unsupported = {**NEUTRAL, **NEUTRAL_IN_CHAT}
    for name, neutral in unsupported.items():
        if body.get(name) is not None and body[name] not in neutral:
            raise ApiError(f"{name}={body[name]!r} is not supported", name)
    model = read_field(body, "model", (str,), "a string")
    if model is not None and model not in model_names:
        raise ApiError(f"The model `{model}` does not exist", "model", 404, "model_not_found")
    options = read_field(body, "stream_options", (dict,), "an object", {})
    if chat:
        max_tokens = read_field(body, "max_completion_tokens", (int,), "an integer")
        if max_tokens is None:
            max_tokens = read_field(body, "max_tokens", (int,), "an integer")
        top_logprobs = read_field(body, "top_logprobs", (int,), "an integer")
        want_logprobs = read_field(body, "logprobs", (bool,), "a boolean", False)
        if top_logprobs is not None and not want_logprobs:
            raise ApiError("top_logprobs needs logprobs: true", "top_logprobs")
        logprobs = (top_logprobs or 0) if want_logprobs else None
        prompts = []
        messages = parse_messages(body.get("messages"))
    else:
        max_tokens = read_field(body, "max_tokens", (int,), "an integer")
        logprobs = read_field(body, "logprobs", (int,), "an integer")
        prompts = parse_prompt(body.get("prompt"))
        messages = []
    echo = False
    if not chat:
        echo = read_field(body, "echo", (bool,), "a boolean", False)
    if echo and logprobs is not None:
        raise ApiError("echo with logprobs needs the prompt's logprobs: not supported", "echo")
    # SamplingParams checks the items
    stop = read_field(body, "stop", (str, list), "a string or a list of strings", ())
    stop_ids = read_field(
        body,
        "stop_token_ids",
        (list,),
        "a list of token ids",
        [],
        lambda ids: all(type(token) is int for token in ids),
    )
    # it travels as int32
    top_k = read_field(
        body, "top_k", (int,), "an integer below 2**31", None, lambda top_k: top_k < 2**31
    )
    try:
        params = SamplingParams(
            max_tokens=1 if max_tokens is None else max_tokens,
            top_k=top_k,
            stop=stop,
            stop_token_ids=stop_ids,
            logprobs=logprobs,
            seed=read_field(body, "seed", (int,), "an integer"),
            temperature=read_field(body, "temperature", NUMBER, "a number"),
            top_p=read_field(body, "top_p", NUMBER, "a number"),
            ignore_eos=read_field(body, "ignore_eos", (bool,), "a boolean", False),
            presence_penalty=read_field(body, "presence_penalty", NUMBER, "a number", 0.0),
            frequency_penalty=read_field(body, "frequency_penalty", NUMBER, "a number", 0.0),
            **read_vllm_sampling(body),
        )
    except ValueError as error:  # SamplingParams' messages begin with the field's name
        name = str(error).split()[0]
        if chat and name == "logprobs":
            name = "top_logprobs"
        raise ApiError(str(error), name) from None
    return GenerateRequest(
        prompts,
        messages,
        params,
        max_tokens,
        read_field(body, "stream", (bool,), "a boolean", False),
        read_field(options, "include_usage", (bool,), "a boolean", False),
        echo,
        read_choice_count(body),
    )


def read_choice_count(body: dict[str, Any]) -> int:
    """n, the choices per prompt; best_of only as absent or equal to n (no ranking of candidates)."""
    n = read_field(body, "n", (int,), f"an integer in [1, {MAX_CHOICES}]", 1, in_choice_range)
    best_of = read_field(body, "best_of", (int,), "equal to n (absent or n)", n)
    if best_of != n:
        raise ApiError(f"best_of={best_of} is not supported: only best_of = n ({n})", "best_of")
    return n


def in_choice_range(n: int) -> bool:
    return 1 <= n <= MAX_CHOICES


def read_vllm_sampling(body: dict[str, Any]) -> dict[str, Any]:
    """The sampling fields vLLM adds to OpenAI's, as SamplingParams keyword arguments (it checks the
    ranges)."""
    return {
        "min_p": read_field(body, "min_p", NUMBER, "a number", 0.0),
        "repetition_penalty": read_field(body, "repetition_penalty", NUMBER, "a number", 1.0),
        "include_stop_str_in_output": read_field(
            body, "include_stop_str_in_output", (bool,), "a boolean", False
        ),
    }


def parse_prompt(prompt: object) -> list[str | list[int]]:
    """A text, a list of texts, token ids, or a list of token-id lists: one choice per prompt."""

    def is_token_ids(value: object) -> bool:
        return (
            isinstance(value, list) and bool(value) and all(type(token) is int for token in value)
        )

    def is_one_prompt(value: object) -> bool:
        return isinstance(value, str) or is_token_ids(value)

    if is_one_prompt(prompt):
        return [prompt]
    if isinstance(prompt, list) and prompt and all(is_one_prompt(item) for item in prompt):
        return prompt
    raise ApiError(
        "prompt must be a string, a list of strings, a list of token ids or a list of such lists",
        "prompt",
    )


def parse_messages(messages: object) -> list[dict[str, str]]:
    if not isinstance(messages, list) or not messages:
        raise ApiError("messages must be a non-empty list", "messages")
    parsed = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):  # content parts: only text ones
            if not all(is_text_part(part) for part in content):
                raise ApiError("only text content parts are supported", "messages")
            content = "\n".join(part["text"] for part in content)
        well_formed = (
            isinstance(message, dict)
            and isinstance(message.get("role"), str)
            and isinstance(content, (str, type(None)))
        )
        if not well_formed:
            raise ApiError("each message needs a string role and text content", "messages")
        check_message(message["role"], content)
        parsed.append({"role": message["role"], "content": content})
    return parsed


def check_message(role: str, content: str | None) -> None:
    """A message has one of ROLES and some content (no tool calls: nothing else may stand for it)."""
    if role not in ROLES:
        raise ApiError(f"role {role!r} is not one of {', '.join(ROLES)}", "messages")
    if content is None:
        raise ApiError(f"a {role} message needs content", "messages")


def is_text_part(part: object) -> bool:
    return (
        isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
    )


def token_text(tokenizer: Tokenizer, token_id: int) -> str:
    return tokenizer.hf.decode([token_id], skip_special_tokens=False)


def choice_logprobs(
    tokenizer: Tokenizer,
    token_ids: list[int],
    logprobs: list[TokenLogprobs],
    chat: bool,
    offset: int,
) -> dict[str, Any]:
    """New tokens' logprobs in chat's shape, or in the legacy one with text_offset counting from
    `offset`."""

    def item(token_id: int, logprob: float) -> dict[str, Any]:
        text = token_text(tokenizer, token_id)
        # the token's own bytes: a part of a UTF-8 character is its bytes, not U+FFFD's
        return {"token": text, "logprob": logprob, "bytes": list(tokenizer.token_bytes(token_id))}

    if chat:
        content = []
        for token_id, entry in zip(token_ids, logprobs):
            top = [item(top_id, top_logprob) for top_id, top_logprob in entry.top]
            content.append({**item(token_id, entry.logprob), "top_logprobs": top})
        return {"content": content}
    tokens = [token_text(tokenizer, token_id) for token_id in token_ids]
    top_by_text = [
        {token_text(tokenizer, top_id): top_logprob for top_id, top_logprob in entry.top}
        for entry in logprobs
    ]
    return {
        "tokens": tokens,
        "token_logprobs": [entry.logprob for entry in logprobs],
        "top_logprobs": top_by_text,
        "text_offset": list(itertools.accumulate(map(len, tokens), initial=offset))[:-1],
    }


def usage(prompt_tokens: int, completion_tokens: int, cached_tokens: int) -> dict[str, Any]:
    """OpenAI's usage object; cached_tokens: prompt tokens served from the prefix cache."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens},
    }


def envelope(
    request_id: str, model: str, chat: bool, chunk: bool, choices: list[dict[str, Any]]
) -> dict[str, Any]:
    kind = "text_completion"
    if chat:
        kind = "chat.completion.chunk" if chunk else "chat.completion"
    return {
        "id": request_id,
        "object": kind,
        "created": int(time.time()),
        "model": model,
        "choices": choices,
    }
