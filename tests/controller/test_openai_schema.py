"""swiftllm/controller/openai_schema.py: request bodies the API refuses, checked without a server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from swiftllm.controller.openai_schema import ApiError, parse_messages, parse_request
from swiftllm.controller.tokenizer import Tokenizer
from swiftllm.models.gguf_import import ensure_default_model

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


# renders each message's name, the function of each tool call, and the call a tool message answers
TOOL_TEMPLATE = (
    "{% for m in messages %}[{{ m['role'] }}{% if m.name %} {{ m.name }}{% endif %}]{{ m['content'] }}"
    "{% for call in m.tool_calls or [] %}<call {{ call.id }} {{ call.function.name }}>{% endfor %}"
    "{% if m.tool_call_id %}<answers {{ m.tool_call_id }}>{% endif %}|{% endfor %}"
)
TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}


def test_name_tool_calls_and_tool_call_id_reach_the_chat_template(tmp_path: Path) -> None:
    """They were dropped before the template (an assistant turn of tool calls rendered empty); HF passes the
    messages as they are, vLLM passes these three: each now reaches the template as sent."""
    from transformers import AutoTokenizer

    smol = ensure_default_model()
    shutil.copy(smol / "tokenizer.json", tmp_path / "tokenizer.json")
    config = json.loads((smol / "tokenizer_config.json").read_text())
    config["chat_template"] = TOOL_TEMPLATE
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    messages = [
        {"role": "system", "content": "Be brief.", "name": "rules"},
        {"role": "user", "content": "Weather in Paris?", "name": "ann"},
        {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL]},
        {"role": "tool", "content": "sunny", "tool_call_id": "call_1"},
    ]
    rendered = Tokenizer(tmp_path).render_chat(parse_messages(messages, 64, 1000))
    assert rendered == (
        "[system rules]Be brief.|[user ann]Weather in Paris?|[assistant]<call call_1 get_weather>|"
        "[tool]sunny<answers call_1>|"
    )
    expected = AutoTokenizer.from_pretrained(tmp_path).apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True
    )
    assert rendered == expected
    # a null content beside tool calls is empty text, as before
    calls_only = {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]}
    assert parse_messages([calls_only], 64, 1000)[0]["content"] == ""


def test_a_tool_calls_arguments_reach_the_template_as_the_object_they_hold(tmp_path: Path) -> None:
    """OpenAI sends a call's arguments as a JSON string; chat templates expect the object (HF's docs, and
    vLLM reads the string into it), writing `arguments | tojson`: the string came out quoted. The oracle:
    HF's apply_chat_template given the object itself."""
    from transformers import AutoTokenizer

    smol = ensure_default_model()
    shutil.copy(smol / "tokenizer.json", tmp_path / "tokenizer.json")
    config = json.loads((smol / "tokenizer_config.json").read_text())
    config["chat_template"] = (
        "{% for m in messages %}{% for call in m.tool_calls or [] %}"
        "{{ call.function.name }}({{ call.function.arguments | tojson }}){% endfor %}|{% endfor %}"
    )
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    empty = {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": ""}}
    as_object = {"id": "call_3", "function": {"name": "add", "arguments": {"a": 1}}}
    sent = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL, empty, as_object]},
    ]
    before = json.dumps(sent)
    parsed = parse_messages(sent, 64, 1000)
    assert json.dumps(sent) == before  # the caller's messages are left as they were
    calls = parsed[1]["tool_calls"]
    assert [call["function"]["arguments"] for call in calls] == [{"city": "Paris"}, {}, {"a": 1}]
    assert calls[0]["id"] == "call_1" and calls[0]["function"]["name"] == "get_weather"
    rendered = Tokenizer(tmp_path).render_chat(parsed)
    assert rendered == '|get_weather({"city": "Paris"})now({})add({"a": 1})|'
    oracle = json.loads(before)
    for call, arguments in zip(oracle[1]["tool_calls"], ({"city": "Paris"}, {}, {"a": 1})):
        call["function"]["arguments"] = arguments
    expected = AutoTokenizer.from_pretrained(tmp_path).apply_chat_template(oracle, tokenize=False)
    assert rendered == expected


@pytest.mark.parametrize(
    "arguments",
    ['{"city": ', "Paris", '{"x": NaN', '{"x": "\\ud800"}', "[" * 100_000, "[" * 990 + "]" * 990],
)
def test_tool_call_arguments_that_are_not_json_text_are_a_400(arguments: str) -> None:
    """Not JSON, a lone surrogate escaped in it (it would reach the tokenizer), or nested deeper than
    Python writes back (990 levels parsed and then could not be written: a 500 before this check)."""
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": arguments}}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    with pytest.raises(ApiError, match="arguments must be JSON text") as refused:
        parse({"messages": [message]}, True)
    assert refused.value.param == "messages" and refused.value.status == 400


def test_messages_without_those_fields_keep_role_and_content_alone() -> None:
    """Role and content as before: text parts joined, null fields absent (an empty tool_calls too, as vLLM
    drops it), unknown fields dropped."""
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": None, "name": None, "tool_calls": None, "other": 1},
        {"role": "assistant", "content": "y", "tool_calls": []},
        {"role": "tool", "content": "x", "tool_call_id": None},
    ]
    assert parse_messages(messages, 64, 1000) == [
        {"role": "user", "content": "a\nb"},
        {"role": "assistant", "content": ""},
        {"role": "assistant", "content": "y"},
        {"role": "tool", "content": "x"},
    ]


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", 5),
        ("name", ["ann"]),
        ("name", "\ud800"),
        ("tool_call_id", 7),
        ("tool_call_id", {"id": "call_1"}),
        ("tool_calls", TOOL_CALL),
        ("tool_calls", ["call_1"]),
        ("tool_calls", [{"function": {"name": "f", "arguments": '{"x": "\ud800"}'}}]),
    ],
)
def test_a_message_field_of_the_wrong_type_is_a_400_naming_it(field: str, value: Any) -> None:
    message = {"role": "assistant", "content": "hi", field: value}
    with pytest.raises(ApiError, match=f"message {field} must be ") as refused:
        parse({"messages": [message]}, True)
    assert refused.value.param == "messages" and refused.value.status == 400
