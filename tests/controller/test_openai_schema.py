"""swiftllm/controller/openai_schema.py: request bodies the API refuses, checked without a server."""

from __future__ import annotations

from typing import Any

import pytest

from swiftllm.controller.openai_schema import ApiError, parse_request

CHAT = {"messages": [{"role": "user", "content": "hi"}]}
COMPLETION = {"prompt": "hi"}


def parse(body: dict[str, Any], chat: bool) -> object:
    return parse_request(body, chat, ("tiny",), max_len=64, max_chars=1000)


@pytest.mark.parametrize(
    "body, chat, field, message",
    [
        pytest.param(
            {**CHAT, "echo": True},
            True,
            "echo",
            "echo=True is not supported in chat",
            id="chat-echo",
        ),
        pytest.param(
            {**COMPLETION, "echo": True, "logprobs": 1},
            False,
            "echo",
            "echo with logprobs needs the prompt's logprobs: not supported",
            id="echo-logprobs",
        ),
        pytest.param(
            {**COMPLETION, "n": 2, "best_of": 3},
            False,
            "best_of",
            r"best_of=3 is not supported: only best_of = n \(2\)",
            id="best_of",
        ),
    ],
)
def test_unsupported_combinations_are_refused_naming_the_field(
    body: dict[str, Any], chat: bool, field: str, message: str
) -> None:
    """Options this server cannot honour are a 400 naming the field, not silently ignored."""
    with pytest.raises(ApiError, match=message) as refused:
        parse(body, chat)
    assert refused.value.param == field and refused.value.status == 400


def test_echo_alone_and_best_of_equal_to_n_are_taken() -> None:
    """The refusals above are of the combinations only: each option alone parses."""
    assert parse({**COMPLETION, "echo": True}, False).echo is True
    assert parse({**COMPLETION, "n": 2, "best_of": 2}, False).n == 2


VLLM_FIELDS_WE_LACK = {
    "return_token_ids": True,
    "return_tokens_as_token_ids": True,
    "logits_processors": ["my_module:Processor"],
    "cache_salt": "tenant-a",
    "documents": [{"title": "a", "text": "b"}],
    "structural_tag": "{}",
    "guided_whitespace_pattern": r"\s*",
    "mm_processor_kwargs": {},
    "kv_transfer_params": {},
    "vllm_xargs": {"a": 1},
    "priority": 1,
}


@pytest.mark.parametrize("field, value", VLLM_FIELDS_WE_LACK.items())
def test_vllm_fields_we_do_not_implement_are_refused_unless_absent(field: str, value: Any) -> None:
    """Session 66's porting probe: these were ignored, so a request asking for token ids, a salted
    prefix cache or documents in its chat template was served as if it had not asked."""
    for body, chat in ((CHAT, True), (COMPLETION, False)):
        with pytest.raises(ApiError, match="is not supported") as refused:
            parse({**body, field: value}, chat)
        assert refused.value.param == field and refused.value.status == 400
        parse({**body, field: None}, chat)  # null is absent
    assert parse({**COMPLETION, "priority": 0}, False) is not None
    assert parse({**COMPLETION, "request_id": "mine"}, False) is not None  # ignored: our own id
