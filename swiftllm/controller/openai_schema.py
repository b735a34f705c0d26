"""OpenAI request parsing and validation, and the response shapes of the completions and chat APIs.

Choices where OpenAI leaves them to the server:
- max_tokens absent: 16 for /v1/completions (OpenAI's documented default), and for chat the rest of the
  context capped at 4096; either way never more than fits. A max_tokens given that does not fit beside the
  prompt is a 400 (code context_length_exceeded), as OpenAI answers.
- Fields we do not implement are accepted at their neutral values (n=1, logit_bias={}, echo=false ...);
  any other value is a 400 naming the field. Unknown fields are ignored."""

import dataclasses
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from swiftllm.controller.tokenizer import Tokenizer
from swiftllm.sampling_params import SamplingParams

CHAT_DEFAULT_MAX_TOKENS, COMPLETION_DEFAULT_MAX_TOKENS = 4096, 16
NEUTRAL: dict[
    str, tuple[Any, ...]
] = {  # unsupported fields: the values that mean "off" (null always does)
    "n": (1,),
    "best_of": (1,),
    "echo": (False,),
    "suffix": ("",),
    "logit_bias": ({},),
    "tools": ([],),
    "functions": ([],),
    "tool_choice": ("none",),
    "function_call": ("none",),
    "response_format": ({"type": "text"},),
}
NUMBER = (int, float)


class ApiError(Exception):
    def __init__(
        self, message: str, param: str | None = None, status: int = 400, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.param, self.status, self.code = param, status, code

    def body(self) -> dict[str, Any]:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        return {
            "error": {"message": str(self), "type": kind, "param": self.param, "code": self.code}
        }


def get(
    body: dict[str, Any],
    name: str,
    kinds: tuple[type, ...],
    what: str,
    default: Any = None,
    valid: Callable[[Any], bool] = lambda value: True,
) -> Any:
    """body[name] checked against kinds (bool is not a number here), then `valid`; null means absent."""
    value = body.get(name)
    if value is None:
        return default
    if (
        not isinstance(value, kinds)
        or (isinstance(value, bool) and bool not in kinds)
        or not valid(value)
    ):
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

    def params_for(self, prompt_len: int, max_len: int, chat: bool) -> SamplingParams:
        room = max_len - prompt_len
        if prompt_len < 1:
            raise ApiError("the prompt is empty", "messages" if chat else "prompt")
        if room < 1 or (self.max_tokens or 0) > room:
            asked = (
                f" However, you requested {prompt_len + self.max_tokens} tokens ({prompt_len} in the prompt, "
                f"{self.max_tokens} for the completion)."
                if self.max_tokens
                else ""
            )
            raise ApiError(
                f"This model's maximum context length is {max_len} tokens, the prompt has {prompt_len}."
                f"{asked} Please reduce the length of the prompt or of the completion.",
                "max_tokens" if room >= 1 else ("messages" if chat else "prompt"),
                400,
                "context_length_exceeded",
            )
        default = CHAT_DEFAULT_MAX_TOKENS if chat else COMPLETION_DEFAULT_MAX_TOKENS
        return dataclasses.replace(self.params, max_tokens=self.max_tokens or min(room, default))


def parse_request(body: object, chat: bool, model_names: tuple[str, ...]) -> GenerateRequest:
    if not isinstance(body, dict):
        raise ApiError("the request body must be a JSON object")
    for name, neutral in NEUTRAL.items():
        if body.get(name) is not None and body[name] not in neutral:
            raise ApiError(f"{name}={body[name]!r} is not supported", name)
    model = get(body, "model", (str,), "a string")
    if model is not None and model not in model_names:
        raise ApiError(f"The model `{model}` does not exist", "model", 404, "model_not_found")
    options = get(body, "stream_options", (dict,), "an object", {})
    if chat:
        max_tokens = get(body, "max_completion_tokens", (int,), "an integer")
        max_tokens = (
            get(body, "max_tokens", (int,), "an integer") if max_tokens is None else max_tokens
        )
        top = get(body, "top_logprobs", (int,), "an integer")
        want = get(body, "logprobs", (bool,), "a boolean", False)
        if top is not None and not want:
            raise ApiError("top_logprobs needs logprobs: true", "top_logprobs")
        logprobs, prompts, messages = (
            (top or 0) if want else None,
            [],
            parse_messages(body.get("messages")),
        )
    else:
        max_tokens = get(body, "max_tokens", (int,), "an integer")
        logprobs, prompts, messages = (
            get(body, "logprobs", (int,), "an integer"),
            parse_prompt(body.get("prompt")),
            [],
        )
    stop = get(
        body, "stop", (str, list), "a string or a list of strings", ()
    )  # SamplingParams checks the items
    stop_ids = get(
        body,
        "stop_token_ids",
        (list,),
        "a list of token ids",
        [],
        lambda ids: all(type(t) is int for t in ids),
    )
    top_k = get(
        body, "top_k", (int,), "an integer below 2**31", None, lambda k: k < 2**31
    )  # it travels as int32
    try:
        params = SamplingParams(
            max_tokens=1 if max_tokens is None else max_tokens,
            top_k=top_k,
            stop=stop,
            stop_token_ids=stop_ids,
            logprobs=logprobs,
            seed=get(body, "seed", (int,), "an integer"),
            temperature=get(body, "temperature", NUMBER, "a number"),
            top_p=get(body, "top_p", NUMBER, "a number"),
            ignore_eos=get(body, "ignore_eos", (bool,), "a boolean", False),
            presence_penalty=get(body, "presence_penalty", NUMBER, "a number", 0.0),
            frequency_penalty=get(body, "frequency_penalty", NUMBER, "a number", 0.0),
        )
    except ValueError as e:  # SamplingParams' messages begin with the field's name
        name = str(e).split()[0]
        raise ApiError(str(e), "top_logprobs" if chat and name == "logprobs" else name) from None
    return GenerateRequest(
        prompts,
        messages,
        params,
        max_tokens,
        get(body, "stream", (bool,), "a boolean", False),
        get(options, "include_usage", (bool,), "a boolean", False),
    )


def parse_prompt(prompt: object) -> list[str | list[int]]:
    """A text, a list of texts, token ids, or a list of token-id lists: one choice per prompt."""

    def ids(x: object) -> bool:
        return isinstance(x, list) and bool(x) and all(type(t) is int for t in x)

    if isinstance(prompt, str) or ids(prompt):
        return [prompt]
    if isinstance(prompt, list) and prompt and all(isinstance(p, str) or ids(p) for p in prompt):
        return prompt
    raise ApiError(
        "prompt must be a string, a list of strings, a list of token ids or a list of such lists",
        "prompt",
    )


def parse_messages(messages: object) -> list[dict[str, str]]:
    if not isinstance(messages, list) or not messages:
        raise ApiError("messages must be a non-empty list", "messages")
    out = []
    for m in messages:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, list):  # content parts: only text ones
            if not all(
                isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
                for p in content
            ):
                raise ApiError("only text content parts are supported", "messages")
            content = "\n".join(p["text"] for p in content)
        if not (
            isinstance(m, dict)
            and isinstance(m.get("role"), str)
            and isinstance(content, (str, type(None)))
        ):
            raise ApiError("each message needs a string role and text content", "messages")
        out.append({"role": m["role"], "content": content or ""})
    return out


def token_text(tok: Tokenizer, token_id: int) -> str:
    return tok.hf.decode([token_id], skip_special_tokens=False)


def choice_logprobs(
    tok: Tokenizer, token_ids: list[int], logprobs: list, chat: bool, offset: int
) -> dict[str, Any]:
    """New tokens' logprobs in chat's shape, or in the legacy one with text_offset counting from `offset`."""

    def item(token_id: int, logprob: float) -> dict[str, Any]:
        text = token_text(tok, token_id)
        return {"token": text, "logprob": logprob, "bytes": list(text.encode())}

    if chat:
        return {
            "content": [
                {**item(t, lp), "top_logprobs": [item(i, x) for i, x in top]}
                for t, (lp, top) in zip(token_ids, logprobs)
            ]
        }
    tokens = [token_text(tok, t) for t in token_ids]
    return {
        "tokens": tokens,
        "token_logprobs": [lp for lp, _ in logprobs],
        "top_logprobs": [{token_text(tok, t): lp for t, lp in top} for _, top in logprobs],
        "text_offset": list(itertools.accumulate(map(len, tokens), initial=offset))[:-1],
    }


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def envelope(
    request_id: str, model: str, chat: bool, chunk: bool, choices: list[dict[str, Any]]
) -> dict[str, Any]:
    kind = ("chat.completion.chunk" if chunk else "chat.completion") if chat else "text_completion"
    return {
        "id": request_id,
        "object": kind,
        "created": int(time.time()),
        "model": model,
        "choices": choices,
    }
