"""Client input against the REST server, in process over SmolLM2: each reported defect as a case, then
property-based fuzzing of every field. After each request: a 2xx or a 4xx with an OpenAI-style error body,
never a 5xx, and the next valid request succeeds. At the end the engine holds nothing: every KV block free,
no sequence queued, every request counted once in /metrics.

SWIFTLLM_FUZZ_EXAMPLES sets hypothesis' max_examples per fuzz test (CI's default is small; the README's
figures come from a long run)."""

from __future__ import annotations

import gzip
import http.client
import json
import math
import os
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from in_process_server import InProcessServer
from serving import metrics, request

from swiftllm.controller import rest
from swiftllm.controller.openai_schema import FIELDS
from swiftllm.llm import LLM
from swiftllm.models.gguf_import import ensure_default_model
from swiftllm.sampling_params import SamplingParams

MODEL = ensure_default_model()
KEY = "k3y"
FUZZ_EXAMPLES = int(os.environ.get("SWIFTLLM_FUZZ_EXAMPLES", "40"))
COMPLETION = {"prompt": "The capital of France is", "max_tokens": 2, "temperature": 0}
CHAT = {
    "messages": [{"role": "user", "content": "Hi"}],
    "max_tokens": 2,
    "max_completion_tokens": 2,
    "temperature": 0,
}
# a stand-in replaced by 1e400 in the body text: JSON that Python reads as inf
HUGE = "__1e400__"
# POSTs sent, and the engine requests the 2xx ones made (one per choice): what /metrics must count
sent = {"requests": 0, "engine_requests": 0}


@pytest.fixture(scope="module")
def server() -> Iterator[InProcessServer]:
    llm = LLM(MODEL, kv_cache_memory_gb=0.05, max_num_seqs=16)
    served = InProcessServer(llm, api_keys=(None, KEY))
    yield served
    served.close()


def send(url: str, body: Any, **headers: str) -> tuple[int, Any]:
    """POST a body (JSON-encoded unless bytes; NaN and inf as JS literals, HUGE as 1e400)."""
    sent["requests"] += 1
    data = body
    if not isinstance(body, bytes):
        data = json.dumps(body).replace(f'"{HUGE}"', "1e400").encode()
    status, answer = request(url, data, headers=headers, timeout=60)
    if status == 200:
        sent["engine_requests"] += num_choices(answer)
    return status, answer


def num_choices(answer: Any) -> int:
    """The choices of a response: a body's, or a stream's (each ends with one finish_reason)."""
    if isinstance(answer, dict):
        return len(answer["choices"])
    finished = 0
    for line in answer.splitlines():
        if line.startswith("data: {"):
            for choice in json.loads(line[len("data: ") :]).get("choices", []):
                finished += choice["finish_reason"] is not None
    return finished


def assert_answered(status: int, body: Any) -> None:
    """A success, or a client error with OpenAI's error shape: never a 5xx."""
    assert status < 500, body
    if status >= 400:
        assert isinstance(body, dict) and isinstance(body["error"]["message"], str), body
    elif isinstance(body, str):  # a stream: it ends with [DONE], after at most one error event
        assert body.rstrip().endswith("data: [DONE]"), body


def assert_serves(server: InProcessServer) -> None:
    status, body = send(server.url + "/v1/completions", COMPLETION)
    assert status == 200, body
    assert body["choices"][0]["finish_reason"] == "length"


def test_logprobs_without_top_logprobs_is_answered(server: InProcessServer) -> None:
    """Defect 1: what the openai client sends for logprobs=True crashed the engine loop."""
    status, body = send(server.url + "/v1/chat/completions", {**CHAT, "logprobs": True})
    assert status == 200, body
    content = body["choices"][0]["logprobs"]["content"]
    assert len(content) == 2 and content[0]["top_logprobs"] == []
    status, body = send(server.url + "/v1/completions", {**COMPLETION, "logprobs": 0})
    assert status == 200, body
    assert len(body["choices"][0]["logprobs"]["token_logprobs"]) == 2
    # session 42's fuzzing: top_logprobs 0 (clients send it by default) with logprobs off was a 400; as vLLM,
    # only a positive top_logprobs needs logprobs on
    for logprobs in (False, None):
        request = {**CHAT, "logprobs": logprobs, "top_logprobs": 0}
        status, body = send(server.url + "/v1/chat/completions", request)
        assert status == 200 and body["choices"][0]["logprobs"] is None, body
    status, body = send(server.url + "/v1/chat/completions", {**CHAT, "top_logprobs": 1})
    assert status == 400 and body["error"]["param"] == "top_logprobs"
    assert_serves(server)


@pytest.mark.parametrize(
    "field, value",
    [("top_p", 1e-300), ("top_p", 5e-324), ("temperature", HUGE), ("top_p", HUGE)],
)
def test_values_that_break_in_float32_are_400s(
    server: InProcessServer, field: str, value: object
) -> None:
    """Defect 2: top_p 1e-300 is 0 in float32; the worker refused the step and the engine died."""
    status, body = send(server.url + "/v1/completions", {**COMPLETION, field: value})
    assert status == 400 and body["error"]["param"] == field, body
    assert_serves(server)


def test_tiny_temperature_is_greedy(server: InProcessServer) -> None:
    """Defect 2: temperature 1e-40 gave garbage (softmax of inf); below 1e-5 it now means greedy."""
    greedy = send(server.url + "/v1/completions", {**COMPLETION, "max_tokens": 6})[1]
    tiny = send(
        server.url + "/v1/completions", {**COMPLETION, "max_tokens": 6, "temperature": 1e-40}
    )
    assert tiny[0] == 200 and tiny[1]["choices"][0]["text"] == greedy["choices"][0]["text"]


def test_surrogates_bad_headers_and_false_encodings_are_400s(server: InProcessServer) -> None:
    """Defect 5: each of these was a 500."""
    for body in (
        {**COMPLETION, "prompt": "a\ud800b"},
        {**COMPLETION, "prompt": ["ok", "\udfff"]},
        {**CHAT, "messages": [{"role": "user", "content": "\ud800"}]},
        {**CHAT, "messages": [{"role": "\ud800", "content": "hi"}]},
    ):
        path = "/v1/chat/completions" if "messages" in body else "/v1/completions"
        status, answer = send(server.url + path, body)
        assert status == 400, answer
    # a non-UTF-8 Authorization header where a key is required: 401, not 500
    keyed = urlparse(server.urls[1])
    connection = http.client.HTTPConnection(keyed.hostname, keyed.port, timeout=30)
    connection.putrequest("POST", "/v1/completions")
    connection.putheader("Authorization", b"Bearer \xff\xfe")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", "2")
    connection.endheaders(b"{}")
    assert connection.getresponse().status == 401
    connection.close()
    assert (
        send(server.urls[1] + "/v1/completions", COMPLETION, Authorization=f"Bearer {KEY}")[0]
        == 200
    )
    # the scheme is case-insensitive; another scheme, or the key alone, is not a bearer token
    for header, expected in [(f"bearer {KEY}", 200), (f"Basic {KEY}", 401), (KEY, 401)]:
        assert (
            send(server.urls[1] + "/v1/completions", COMPLETION, Authorization=header)[0]
            == expected
        )
    # a body that is not gzip though it says so; and one that is
    status, answer = send(
        server.url + "/v1/completions", b"{not gzip", **{"Content-Encoding": "gzip"}
    )
    assert status == 400, answer
    zipped = gzip.compress(json.dumps(COMPLETION).encode())
    assert send(server.url + "/v1/completions", zipped, **{"Content-Encoding": "gzip"})[0] == 200
    deflated = zlib.compress(
        json.dumps(COMPLETION).encode()
    )  # deflate is the zlib format (RFC 9110)
    assert (
        send(server.url + "/v1/completions", deflated, **{"Content-Encoding": "deflate"})[0] == 200
    )
    # an encoding we lack: aiohttp's parser answered a plain-text 400 before any handler (session 45: a
    # 415 with an OpenAI-style body); a body that decompresses past 16 MiB: 413, not gigabytes in memory
    for encoding in ("br", "zstd", "compress"):
        status, answer = send(
            server.url + "/v1/completions", b"\x00" * 8, **{"Content-Encoding": encoding}
        )
        assert status == 415 and "is not supported (gzip, deflate)" in answer["error"]["message"]
    bomb = gzip.compress(b" " * (17 << 20))  # about 17 KB
    status, answer = send(server.url + "/v1/completions", bomb, **{"Content-Encoding": "gzip"})
    assert status == 413 and "decompressed body is over" in answer["error"]["message"], answer
    assert_serves(server)


def test_a_body_that_stalls_is_a_408(
    server: InProcessServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Session 62's known gap: a body that stopped arriving held its connection until the client left.
    Now the handler answers a 408 (OpenAI-style) after BODY_TIMEOUT, and the server keeps serving."""
    monkeypatch.setattr(rest, "BODY_TIMEOUT", 0.5)
    address = urlparse(server.url)
    for chunked in (False, True):
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        connection.putrequest("POST", "/v1/completions")
        connection.putheader("Content-Type", "application/json")
        if chunked:  # one chunk of a body whose end never comes
            connection.putheader("Transfer-Encoding", "chunked")
            connection.endheaders(b'b\r\n{"model": "\r\n')
        else:  # 10 of the 100 bytes announced
            connection.putheader("Content-Length", "100")
            connection.endheaders(b'{"model": ')
        started = time.monotonic()
        response = connection.getresponse()
        waited = time.monotonic() - started
        answer = json.loads(response.read())
        assert response.status == 408, answer
        assert "did not arrive within 0.5 s" in answer["error"]["message"]
        assert 0.3 < waited < 10, waited
        connection.close()
    assert_serves(server)


def test_a_connection_idle_without_a_whole_request_is_closed(server: InProcessServer) -> None:
    """Session 67's known gap: a connection that stopped half-way through its headers, or sent nothing, was
    held for an hour (aiohttp has no header timeout; its idle timer, run from a connection's start, defaulted
    to 3,630 s). RUNNER_OPTIONS' keepalive_timeout (60 s) now closes it; here a server over the same engine
    with 0.5 s. A stream served for longer than that is not cut, the kept-alive connection serves its next
    request, and it is closed once idle for that long."""
    assert rest.RUNNER_OPTIONS["keepalive_timeout"] <= rest.BODY_TIMEOUT  # not aiohttp's hour
    address = urlparse(server.add_server(keepalive_timeout=0.5))
    for opening in (b"", b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Ty"):
        with socket.create_connection((address.hostname, address.port), timeout=30) as stalled:
            stalled.sendall(opening)
            started = time.monotonic()
            assert stalled.recv(1024) == b""  # closed by the server, with nothing said
            waited = time.monotonic() - started
        assert 0.25 < waited < 10, (opening, waited)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    stream = {**COMPLETION, "max_tokens": 40, "ignore_eos": True, "stream": True}
    for body in (stream, COMPLETION):
        started = time.monotonic()
        headers = {"Content-Type": "application/json"}
        connection.request("POST", "/v1/completions", json.dumps(body), headers)
        response = connection.getresponse()
        text = response.read().decode()
        assert response.status == 200, text
        sent["requests"] += 1  # as send() counts them, for test_zz_nothing_is_left_behind
        sent["engine_requests"] += 1
        if body is stream:
            assert text.rstrip().endswith("data: [DONE]"), text[-300:]
            assert time.monotonic() - started > 1.0  # served for twice the idle time or more
        else:
            assert json.loads(text)["choices"][0]["finish_reason"] == "length"
    assert connection.sock is not None
    started = time.monotonic()
    assert connection.sock.recv(1024) == b""  # then idle: closed
    assert 0.25 < time.monotonic() - started < 10
    connection.close()
    assert_serves(server)


def test_n_choices_of_a_seed_near_2_to_the_64_are_served(server: InProcessServer) -> None:
    """Session 45's probe: choice i's seed, seed + i, passed 2**64 and was a 500; it wraps, as the engine
    takes every seed modulo 2**64 (so choice 1 of 2**64 - 1 draws as seed 0)."""
    base = {**COMPLETION, "max_tokens": 4, "temperature": 1.0, "ignore_eos": True}
    status, body = send(server.url + "/v1/completions", {**base, "n": 2, "seed": 2**64 - 1})
    assert status == 200, body
    status, zero = send(server.url + "/v1/completions", {**base, "seed": 0})
    assert body["choices"][1]["text"] == zero["choices"][0]["text"]


def test_stream_options_need_stream(server: InProcessServer) -> None:
    """Session 45's probe: stream_options on a request that does not stream passed (OpenAI and vLLM: a 400)."""
    options = {"include_usage": True}
    for path, body in (("/v1/completions", COMPLETION), ("/v1/chat/completions", CHAT)):
        for stream in (False, None):
            request = {**body, "stream": stream, "stream_options": options}
            status, answer = send(server.url + path, request)
            assert status == 400 and answer["error"]["param"] == "stream_options", answer
        status, answer = send(
            server.url + path, {**body, "stream": True, "stream_options": options}
        )
        assert status == 200 and '"usage": {' in answer, answer
        status, answer = send(server.url + path, {**body, "stream_options": None})
        assert status == 200, answer
    assert_serves(server)


def test_echo_decodes_off_the_event_loop(
    server: InProcessServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Session 45's probe: echo decoded token-id prompts on the event loop (0.49 s for 256 x 8,000 ids,
    with every other stream waiting). Now in the tokenizer pool; the echo is still the prompt's text."""
    tokenizer = server.rests[0].tokenizer
    decode = tokenizer.decode
    threads = {}

    def traced_decode(ids: list[int], *args: Any, **kwargs: Any) -> str:
        threads[tuple(ids)] = threading.current_thread().name
        return decode(ids, *args, **kwargs)

    prompts = [[504, 3575, 282], [1780, 314]]
    monkeypatch.setattr(tokenizer, "decode", traced_decode)
    status, body = send(
        server.url + "/v1/completions", {**COMPLETION, "prompt": prompts, "echo": True}
    )
    monkeypatch.undo()
    assert status == 200, body
    for prompt, choice in zip(prompts, body["choices"]):
        assert threads[tuple(prompt)].startswith("tokenizer"), threads
        assert choice["text"].startswith(decode(prompt))
    assert_serves(server)


def test_text_offsets_are_where_each_token_begins_in_the_text(server: InProcessServer) -> None:
    """Session 47's probe: text_offset added up the tokens' own texts, where a token holding part of a
    character is U+FFFD, so after each character split over tokens the offsets ran one further ahead of
    the text, past its end. Now each is where the token's text begins: the length of the text the tokens
    before it completed (the whole decode of them, less a character they leave unfinished)."""
    llm_tokenizer = server.rests[0].tokenizer
    body = {**COMPLETION, "prompt": "Emoji party: 🎉🎉", "max_tokens": 9, "logprobs": 0}
    status, whole = send(server.url + "/v1/completions", body)
    assert status == 200, whole
    text = whole["choices"][0]["text"]
    logprobs = whole["choices"][0]["logprobs"]
    # the same greedy tokens through the Python API (an LLM of its own: the server's steps its engine)
    alone = LLM(MODEL, kv_cache_memory_gb=0.01)
    ids = alone.generate([body["prompt"]], SamplingParams(max_tokens=9, temperature=0))[0].token_ids
    alone.close()
    assert len(ids) == len(logprobs["tokens"])
    expected = [len(llm_tokenizer.decode(ids[:i]).rstrip("\ufffd")) for i in range(len(ids))]
    assert logprobs["text_offset"] == expected and expected[-1] <= len(text)
    assert len(set(expected)) < len(expected)  # some emoji took more than one token
    # streamed, the same offsets chunk by chunk
    status, events = send(server.url + "/v1/completions", {**body, "stream": True})
    offsets = []
    for line in events.splitlines():
        if line.startswith("data: {"):
            chunk = json.loads(line[len("data: ") :])["choices"][0]
            offsets += (chunk["logprobs"] or {}).get("text_offset", [])
    assert offsets == expected
    assert_serves(server)


def test_text_offsets_stay_within_the_text_a_stop_string_cut(server: InProcessServer) -> None:
    """Session 48's probe: a stop string spanning tokens cut the text, but the tokens that spelled it had
    gone out already (a stream holds back text a stop string may cut, not its tokens), with offsets past
    the kept text's end: [0, 6, 7, 2] for a text of 2 characters, whole or streamed. Now a token waits
    with its text."""
    body = {**COMPLETION, "max_tokens": 8, "logprobs": 0}
    status, free = send(server.url + "/v1/completions", body)
    assert status == 200, free
    text = free["choices"][0]["text"]
    offsets = free["choices"][0]["logprobs"]["text_offset"]
    # begins inside a token of 2+ characters and ends two tokens later, inside that one's text
    first = next(i for i in range(len(offsets) - 3) if offsets[i + 1] - offsets[i] >= 2)
    stop = text[offsets[first] + 1 : offsets[first + 2] + 1]
    assert text.find(stop) == offsets[first] + 1, (text, offsets)
    for stream in (False, True):
        status, answer = send(
            server.url + "/v1/completions", {**body, "stop": [stop], "stream": stream}
        )
        assert status == 200, answer
        got_offsets = []
        got_text = ""
        if stream:
            for line in answer.splitlines():
                if line.startswith("data: {"):
                    chunk = json.loads(line[len("data: ") :])["choices"][0]
                    got_text += chunk["text"]
                    got_offsets += (chunk["logprobs"] or {}).get("text_offset", [])
        else:
            got_text = answer["choices"][0]["text"]
            got_offsets = answer["choices"][0]["logprobs"]["text_offset"]
        assert got_text == text[: offsets[first] + 1]
        expected = [min(offset, len(got_text)) for offset in offsets[: first + 3]]
        assert got_offsets == expected, (stream, got_offsets, expected)
    assert_serves(server)


def test_a_held_back_stream_with_logprobs_sends_no_empty_chunks(server: InProcessServer) -> None:
    """Hunt probe: with logprobs on, a stream whose text a stop string held back sent a chunk per step with
    no text, no token and no finish reason (chat: an empty delta, logprobs {"content": []}): the check
    that skips such chunks took the empty logprobs object for something to say."""
    stop = {"stop": ["a stop string that never comes"], "ignore_eos": True, "stream": True}
    for path, body in (
        ("/v1/completions", {**COMPLETION, "max_tokens": 8, "logprobs": 0, **stop}),
        ("/v1/chat/completions", {**CHAT, "max_completion_tokens": 8, "logprobs": True, **stop}),
    ):
        status, answer = send(server.url + path, body)
        assert status == 200, answer
        chunks = [
            json.loads(line[len("data: ") :])["choices"][0]
            for line in answer.splitlines()
            if line.startswith("data: {")
        ]
        for chunk in chunks[1:] if "chat" in path else chunks:  # chat opens with its role
            tokens = chunk["logprobs"].get("content") or chunk["logprobs"].get("tokens")
            text = chunk.get("text") or chunk.get("delta", {}).get("content")
            assert tokens or text or chunk["finish_reason"], (path, chunks)
    assert_serves(server)


def tokenize(server: InProcessServer, body: dict[str, Any]) -> tuple[int, Any]:
    """/tokenize's status and tokens, or its error (not counted by send: no engine request)."""
    status, answer = request(server.url + "/tokenize", json.dumps(body).encode(), timeout=60)
    return status, answer["tokens"] if status == 200 else answer["error"]


def test_add_special_tokens_is_read(server: InProcessServer) -> None:
    """Session 45's probe: /tokenize and completions ignored add_special_tokens (vLLM's field). SmolLM2's
    tokenizer adds no special token, so for this test it is given a post-processor that puts BOS (id 1)
    first, as Llama's do; true (the default) adds it, false does not; with messages only false passes."""
    from tokenizers import processors

    tokenizer = server.rests[0].tokenizer.hf
    plain = tokenizer.encode("hi").ids
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<|im_start|> $A", special_tokens=[("<|im_start|>", 1)]
    )
    try:
        for flag, expected in ((None, [1, *plain]), (True, [1, *plain]), (False, plain)):
            body = {"prompt": "hi", "add_special_tokens": flag}
            assert tokenize(server, body) == (200, expected)
            request = {**COMPLETION, **body}
            status, answer = send(server.url + "/v1/completions", request)
            assert status == 200 and answer["usage"]["prompt_tokens"] == len(expected), answer
        # messages: the template holds BOS; true would add a second one
        messages = {"messages": CHAT["messages"], "add_special_tokens": True}
        status, answer = tokenize(server, messages)
        assert status == 400 and answer["param"] == "add_special_tokens", answer
        assert tokenize(server, {**messages, "add_special_tokens": False})[0] == 200
        status, answer = send(server.url + "/v1/chat/completions", {**CHAT, **messages})
        assert status == 400 and answer["error"]["param"] == "add_special_tokens", answer
        assert (
            send(server.url + "/v1/chat/completions", {**CHAT, "add_special_tokens": False})[0]
            == 200
        )
        status, answer = tokenize(server, {"prompt": "hi", "add_special_tokens": 1})
        assert status == 400 and answer["param"] == "add_special_tokens", answer
    finally:
        tokenizer.post_processor = processors.TemplateProcessing(single="$A", special_tokens=[])
    assert tokenize(server, {"prompt": "hi"}) == (200, plain)
    assert_serves(server)


def test_chat_message_without_content_is_a_400(server: InProcessServer) -> None:
    """Defect 6: a user message with no content was accepted as empty."""
    for message in ({"role": "user"}, {"role": "user", "content": None}, {"content": "hi"}):
        status, body = send(server.url + "/v1/chat/completions", {**CHAT, "messages": [message]})
        assert status == 400 and body["error"]["param"] == "messages", body
    # an assistant turn with null content (it carried tool calls) stays valid, as OpenAI has it
    history = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": None},
        {"role": "user", "content": "Hi again"},
    ]
    assert send(server.url + "/v1/chat/completions", {**CHAT, "messages": history})[0] == 200


def test_oversized_prompts_are_refused_before_tokenizing(server: InProcessServer) -> None:
    """Defect 5: prompts were tokenized before the length check; now anything longer than
    max_model_len x the longest token is a 400 at once, and so are more messages than tokens."""
    rest = server.rests[0]
    too_long = "x" * (rest.max_chars + 1)
    status, body = send(server.url + "/v1/completions", {**COMPLETION, "prompt": too_long})
    assert status == 400 and body["error"]["code"] == "context_length_exceeded"
    messages = [{"role": "user", "content": ""}] * (rest.max_len + 1)
    status, body = send(server.url + "/v1/chat/completions", {**CHAT, "messages": messages})
    assert status == 400 and body["error"]["param"] == "messages"
    ids = [1] * (rest.max_len + 1)
    assert send(server.url + "/v1/completions", {**COMPLETION, "prompt": ids})[0] == 400
    assert_serves(server)


# --- fuzzing --------------------------------------------------------------------------------------

EXTREMES = [0, -1, 1, 2**31, 2**31 - 1, 2**63, -(2**63), 2**64, 10**30]
FLOATS = [0.0, -0.0, 1e-300, 5e-324, 1e-40, 1e-5, 0.5, 1.0, 2.5, 1e38, 1e308, -1e308]
STRINGS = ["", "a", "\ud800", "x\udfffy", "\x00", "stop", "🙂", "<|im_start|>"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(EXTREMES),
    st.integers(),
    st.sampled_from(FLOATS),
    st.sampled_from([math.nan, math.inf, -math.inf, HUGE]),
    st.floats(),
    st.sampled_from(STRINGS),
    st.text(max_size=8),
)
garbage = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
# every field the schema reads, and the prompts
FUZZED = sorted({*FIELDS, "prompt", "messages", "logprobs"} - {"logprobs_chat", "include_usage"})


def fuzzed_body(base: dict[str, Any], protected: set[str]) -> st.SearchStrategy[dict[str, Any]]:
    """`base` with some fields set to garbage, and some unknown fields besides (to be ignored)."""
    names = st.lists(
        st.sampled_from([name for name in FUZZED if name not in protected]), max_size=4
    )
    unknown = st.dictionaries(
        st.text(min_size=1, max_size=8).map(lambda n: "x_" + n), garbage, max_size=2
    )

    @st.composite
    def body(draw: st.DrawFn) -> dict[str, Any]:
        result = dict(base)
        for name in draw(names):
            result[name] = draw(garbage)
        if draw(st.booleans()):
            result["stream_options"] = {"include_usage": draw(garbage)}
        result.update(draw(unknown))
        return result

    return body()


FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.slow
@FUZZ
@given(body=fuzzed_body(COMPLETION, protected=set()))
def test_fuzz_completions(server: InProcessServer, body: dict[str, Any]) -> None:
    assert_answered(*send(server.url + "/v1/completions", body))
    assert_serves(server)


@pytest.mark.slow
@FUZZ
@given(body=fuzzed_body(CHAT, protected={"max_completion_tokens"}))
def test_fuzz_chat(server: InProcessServer, body: dict[str, Any]) -> None:
    assert_answered(*send(server.url + "/v1/chat/completions", body))
    assert_serves(server)


@pytest.mark.slow
@FUZZ
@given(body=garbage, raw=st.binary(max_size=64))
def test_fuzz_whole_bodies(server: InProcessServer, body: Any, raw: bytes) -> None:
    for path in ("/v1/completions", "/v1/chat/completions"):
        assert_answered(*send(server.url + path, body))
        assert_answered(*send(server.url + path, raw))
    assert_serves(server)


def test_zz_nothing_is_left_behind(server: InProcessServer) -> None:
    """After everything above: every block free, no sequence queued, no request counted twice."""
    scheduler = server.llm.engine.scheduler
    assert scheduler.block_manager.gpu.num_free == scheduler.block_manager.gpu.num_blocks
    assert not (scheduler.running or scheduler.waiting or scheduler.swapped)
    assert not server.async_engine.active and not server.async_engine.open
    counted = metrics(server.url)
    total = sum(
        value for name, value in counted.items() if name.startswith("swiftllm_requests_total")
    )
    # every request that reached the engine ended once; 4xx ones never reached it
    assert total == sent["engine_requests"] > 0
    assert counted.get('swiftllm_requests_total{finish_reason="error"}', 0) == 0
    print(
        f"REST fuzzing: {sent['requests']} requests sent, {int(total)} reached the engine, lost: 0"
    )


def test_bearer_with_several_spaces_before_the_key(server: InProcessServer) -> None:
    """Session 65's hunt: RFC 9110 allows one or more spaces between the scheme and the credentials;
    "Bearer  KEY" was a 401."""
    status, answer = request(
        server.urls[1] + "/v1/completions",
        json.dumps(COMPLETION).encode(),
        headers={"Authorization": f"Bearer  {KEY}"},
    )
    assert status == 200, answer


def test_continuous_usage_stats_at_the_top_level_is_ignored(server: InProcessServer) -> None:
    """Session 65's hunt: the field belongs to stream_options; at the top level it is a field no API
    defines, ignored as the others are (it was a 400). Inside stream_options, true is still refused."""
    body = {**COMPLETION, "continuous_usage_stats": True}
    status, answer = request(server.url + "/v1/completions", json.dumps(body).encode())
    assert status == 200, answer
    options = {"include_usage": True, "continuous_usage_stats": True}
    body = {**COMPLETION, "stream": True, "stream_options": options}
    status, answer = request(server.url + "/v1/completions", json.dumps(body).encode())
    assert status == 400 and answer["error"]["param"] == "continuous_usage_stats", answer


def test_legacy_top_logprobs_keep_every_candidate(server: InProcessServer) -> None:
    """Session 65's hunt: the legacy top_logprobs map is keyed by token text, and every token that is part of
    a UTF-8 character decoded to U+FFFD, so such candidates merged into one key (2 of 5 entries here), the
    least likely one's value kept. Now they are named by their bytes, as OpenAI does ("bytes:\\xe6\\x96")."""
    body = {"prompt": "日本語の文章：", "max_tokens": 3, "temperature": 0, "logprobs": 5}
    status, answer = request(server.url + "/v1/completions", json.dumps(body).encode())
    assert status == 200, answer
    logprobs = answer["choices"][0]["logprobs"]
    assert any(token.startswith("bytes:\\x") for token in logprobs["tokens"]), logprobs["tokens"]
    for token, logprob, top in zip(
        logprobs["tokens"], logprobs["token_logprobs"], logprobs["top_logprobs"]
    ):
        assert len(top) == 5, top
        # greedy: the chosen token is the most likely, under its own key
        assert top[token] == pytest.approx(logprob, abs=1e-4) == max(top.values()), (token, top)


def test_a_gzip_body_of_several_members_is_read_whole_and_one_cut_short_is_refused() -> None:
    """Session 65's known gap: only a gzip body's first member was read (the JSON split over two
    members was a 400), and one cut off before its trailer (its checksum unread) was accepted."""
    body = json.dumps(COMPLETION).encode()
    half = len(body) // 2
    two_members = gzip.compress(body[:half]) + gzip.compress(body[half:])
    assert rest.decompress(two_members, "gzip") == body == gzip.decompress(two_members)
    whole = gzip.compress(body)
    for cut in (whole[:-4], whole[:-8], zlib.compress(body)[:-2]):
        with pytest.raises(rest.ApiError, match="it ends early"):
            rest.decompress(cut, "gzip")
    # a member after a deflate (zlib) stream, or bytes after the last member, are not a body either
    with pytest.raises(rest.ApiError, match="not valid deflate"):
        rest.decompress(zlib.compress(body) + b"junk", "deflate")
    # the limit counts every member's bytes: two of 9 MiB are over 16 MiB
    nine_mib = gzip.compress(b" " * (9 << 20))
    with pytest.raises(rest.ApiError, match="decompressed body is over") as raised:
        rest.decompress(nine_mib + nine_mib, "gzip")
    assert raised.value.status == 413
    assert rest.decompress(nine_mib, "gzip") == b" " * (9 << 20)


def test_a_gzip_body_of_many_members_is_refused_before_it_is_read() -> None:
    """Session 67's hunt: each member cost a copy of the body after it, on the event loop, so a body of
    tiny members took time quadratic in their number (40,000 in 960 KB held /health for 33 s, through the
    keyless /tokenize; a 16 MiB body, hours). More than MAX_MEMBERS members are a 413."""
    member = gzip.compress(b" ", mtime=0)
    assert rest.decompress(member * rest.MAX_MEMBERS, "gzip") == b" " * rest.MAX_MEMBERS
    with pytest.raises(rest.ApiError, match="more than 16 gzip members") as raised:
        rest.decompress(member * 2_000, "gzip")
    assert raised.value.status == 413
