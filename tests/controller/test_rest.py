"""The REST server end to end: `swiftctl launch` subprocesses driven through the official openai client.

Two SmolLM2 servers start together (they load while LLM.generate computes the reference): `main`, and
`small`, whose 8-block cache forces swaps and recomputes and which requires an API key. Tiny random models
cover shutdown on SIGTERM and a worker that dies.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import openai
import pytest
from serving import Server, get, launch, metrics, post, request

import swiftllm
from swiftllm.controller.tokenizer import Tokenizer
from swiftllm.llm import LLM
from swiftllm.models.gguf_import import ensure_default_model
from swiftllm.sampling_params import SamplingParams

MODEL = ensure_default_model()
NAME = MODEL.name
KEY = "test-key"
PROMPTS = [
    "Hello, my name is",
    "The capital of France is",
    "def add(a, b):",
    "1, 2, 3, 4,",
    "Once upon a time",
    "The quick brown fox",
]
CHAT = [{"role": "user", "content": "What is the capital of France?"}]
GREEDY = dict(model=NAME, max_tokens=8, temperature=0)


@pytest.fixture(scope="module")
def started() -> Iterator[tuple[Server, Server]]:
    main = launch("--kv-cache-memory-gb", "0.1", "--max-model-len", "512")
    # swap: 2 blocks
    small = launch("--num-gpu-blocks", "8", "--swap-space", "0.0014", "--api-key", KEY)
    yield main, small
    for server in (main, small):
        server.stop()


@pytest.fixture(scope="module")
def reference(started: tuple[Server, Server]) -> dict:
    llm = LLM(str(MODEL), kv_cache_memory_gb=0.05, max_model_len=512)
    short = SamplingParams(max_tokens=8, temperature=0)
    long = SamplingParams(max_tokens=24, temperature=0, ignore_eos=True)
    outs = llm.generate([*PROMPTS, *PROMPTS, CHAT], [short] * 6 + [long] * 6 + [short])
    return {
        "short": dict(zip(PROMPTS, outs[:6])),
        "long": dict(zip(PROMPTS, outs[6:12])),
        "chat": outs[12],
        "ids": {p: llm.encode(p) for p in PROMPTS},
        "chat_ids": llm.encode(CHAT),
    }


@pytest.fixture(scope="module")
def main(started: tuple[Server, Server], reference: dict) -> Server:
    return started[0].wait_ready()


@pytest.fixture(scope="module")
def small(started: tuple[Server, Server], reference: dict) -> Server:
    return started[1].wait_ready()


def client(server: Server, key: str = "none") -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=300)


def run_all(jobs: list[Callable[[], None]]) -> None:
    """Run the jobs concurrently (they share engine steps) and re-raise the first failure."""
    with ThreadPoolExecutor(len(jobs)) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()


def test_concurrent_requests_match_llm_generate(main: Server, reference: dict) -> None:
    api = client(main)
    short = reference["short"]
    ids = reference["ids"]
    assert [model.id for model in api.models.list()] == [NAME]

    def plain(prompt: str) -> None:
        reply = api.completions.create(prompt=prompt, **GREEDY)
        assert (reply.choices[0].text, reply.choices[0].finish_reason) == (
            short[prompt].text,
            short[prompt].finish_reason,
        )
        assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (
            len(ids[prompt]),
            len(short[prompt].token_ids),
        )

    def token_ids(prompt: str) -> None:
        reply = api.completions.create(prompt=ids[prompt], **GREEDY)
        assert reply.choices[0].text == short[prompt].text

    def streamed(prompt: str) -> None:
        chunks = list(api.completions.create(prompt=prompt, stream=True, **GREEDY))
        assert "".join(chunk.choices[0].text for chunk in chunks) == short[prompt].text
        assert chunks[-1].choices[0].finish_reason == short[prompt].finish_reason

    def logprobs(prompt: str) -> None:
        reply = api.completions.create(prompt=prompt, logprobs=2, **GREEDY)
        legacy = reply.choices[0].logprobs
        assert (
            len(legacy.tokens)
            == len(legacy.token_logprobs)
            == len(legacy.top_logprobs)
            == len(short[prompt].token_ids)
        )
        assert legacy.text_offset[0] == 0 and all(len(top) <= 2 for top in legacy.top_logprobs)
        # greedy: the chosen token is the top one
        for chosen, top in zip(legacy.token_logprobs, legacy.top_logprobs):
            assert abs(chosen - max(top.values())) < 1e-5

    def chat() -> None:
        reply = api.chat.completions.create(messages=CHAT, **GREEDY)
        assert reply.choices[0].message.content == reference["chat"].text
        assert reply.choices[0].message.role == "assistant"

    def chat_streamed() -> None:
        chunks = list(
            api.chat.completions.create(
                messages=CHAT, stream=True, stream_options={"include_usage": True}, **GREEDY
            )
        )
        assert chunks[0].choices[0].delta.role == "assistant"
        text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks[:-1])
        assert text == reference["chat"].text
        assert chunks[-2].choices[0].finish_reason == reference["chat"].finish_reason
        assert chunks[-1].choices == []
        assert chunks[-1].usage.completion_tokens == len(reference["chat"].token_ids)

    def chat_logprobs() -> None:
        reply = api.chat.completions.create(messages=CHAT, logprobs=True, top_logprobs=2, **GREEDY)
        content = reply.choices[0].logprobs.content
        assert len(content) == len(reference["chat"].token_ids)
        assert all(len(token.top_logprobs) == 2 for token in content)

    def several_prompts() -> None:
        reply = api.completions.create(prompt=PROMPTS[:2], **GREEDY)
        assert [choice.index for choice in reply.choices] == [0, 1]
        assert [choice.text for choice in reply.choices] == [
            short[prompt].text for prompt in PROMPTS[:2]
        ]
        completion_tokens = sum(len(short[prompt].token_ids) for prompt in PROMPTS[:2])
        assert reply.usage.completion_tokens == completion_tokens

    jobs = [
        lambda check=check, prompt=prompt: check(prompt)
        for prompt in PROMPTS
        for check in (plain, token_ids, streamed, logprobs)
    ]
    run_all([*jobs, chat, chat_streamed, chat_logprobs, several_prompts])  # 28 requests at once


def test_stop_strings_and_seeds(main: Server, reference: dict) -> None:
    api = client(main)
    greedy_text = reference["short"][PROMPTS[0]].text
    stop = greedy_text.split()[2]
    expected = greedy_text[: greedy_text.index(stop)]
    seeded = dict(model=NAME, prompt=PROMPTS[4], max_tokens=8, temperature=1.0)
    texts: dict[int, list[str]] = {1234: [], 1: [], 2: []}

    def cut() -> None:
        reply = api.completions.create(prompt=PROMPTS[0], stop=[stop, "never"], **GREEDY)
        assert (reply.choices[0].text, reply.choices[0].finish_reason) == (expected, "stop")

    def cut_streamed() -> None:
        # text that may become a stop string is held back, never sent then taken back
        chunks = list(api.completions.create(prompt=PROMPTS[0], stop=stop, stream=True, **GREEDY))
        assert "".join(chunk.choices[0].text for chunk in chunks) == expected

    def sample(seed: int) -> None:
        texts[seed].append(api.completions.create(seed=seed, **seeded).choices[0].text)

    samples = [lambda seed=seed: sample(seed) for seed in (1234, 1234, 1, 2)]
    run_all([cut, cut_streamed, *samples])
    sample(1234)  # alone this time: the same text whatever the batch
    assert texts[1234][0] == texts[1234][1] == texts[1234][2]
    assert len({texts[1234][0], texts[1][0], texts[2][0]}) > 1


TOO_LONG = [5] * 600  # the main server's context is 512
BAD_REQUESTS = [
    ("completions", {"n": 0}, 400, "n"),
    ("completions", {"n": 2, "best_of": 3}, 400, "best_of"),
    ("completions", {"logit_bias": {"50": 10}}, 400, "logit_bias"),
    ("completions", {"best_of": 3}, 400, "best_of"),
    ("completions", {"echo": True, "logprobs": 1}, 400, "echo"),
    ("chat/completions", {"echo": True}, 400, "echo"),
    ("completions", {"min_tokens": 3}, 400, "min_tokens"),
    ("completions", {"guided_json": {"type": "object"}}, 400, "guided_json"),
    # vLLM's usage in every chunk is not implemented (it was ignored until session 60)
    (
        "completions",
        {"stream": True, "stream_options": {"continuous_usage_stats": True}},
        400,
        "continuous_usage_stats",
    ),
    ("completions", {"min_p": 2}, 400, "min_p"),
    ("completions", {"repetition_penalty": 0}, 400, "repetition_penalty"),
    ("chat/completions", {"messages": [{"role": "wizard", "content": "hi"}]}, 400, "messages"),
    ("chat/completions", {"messages": [{"role": "user"}]}, 400, "messages"),
    ("completions", {"suffix": "x"}, 400, "suffix"),
    ("completions", {"temperature": -1}, 400, "temperature"),
    ("completions", {"temperature": "hot"}, 400, "temperature"),
    ("completions", {"top_p": 0}, 400, "top_p"),
    ("completions", {"top_k": -5}, 400, "top_k"),
    ("completions", {"top_k": 2**40}, 400, "top_k"),
    ("completions", {"max_tokens": 0}, 400, "max_tokens"),
    ("completions", {"max_tokens": 10**6}, 400, "max_tokens"),
    ("completions", {"logprobs": 50}, 400, "logprobs"),
    ("completions", {"stop": 5}, 400, "stop"),
    ("completions", {"presence_penalty": 3}, 400, "presence_penalty"),
    ("completions", {"seed": 1.5}, 400, "seed"),
    ("completions", {"stream": "yes"}, 400, "stream"),
    ("completions", {"prompt": []}, 400, "prompt"),
    ("completions", {"prompt": [1, "a"]}, 400, "prompt"),
    ("completions", {"prompt": [10**9]}, 400, "prompt"),
    # checked before echo decodes them (the tokenizer raised on these: a 500 until session 41)
    ("completions", {"prompt": [-1], "echo": True}, 400, "prompt"),
    ("completions", {"prompt": [[5, 2**63]], "echo": True}, 400, "prompt"),
    ("completions", {"prompt": ""}, 400, "prompt"),
    ("completions", {"prompt": TOO_LONG}, 400, "prompt"),
    ("completions", {"prompt": None}, 400, "prompt"),
    ("completions", {"model": "nope"}, 404, "model"),
    ("chat/completions", {"messages": []}, 400, "messages"),
    ("chat/completions", {"messages": [{"content": "hi"}]}, 400, "messages"),
    # session 70: a tool call's arguments are read as JSON, so one that is not is refused
    (
        "chat/completions",
        {
            "messages": [
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [{"function": {"arguments": "{"}}],
                }
            ]
        },
        400,
        "messages",
    ),
    (
        "chat/completions",
        {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
        400,
        "messages",
    ),
    (
        "chat/completions",
        {"tools": [{"type": "function", "function": {"name": "f"}}]},
        400,
        "tools",
    ),
    ("chat/completions", {"response_format": {"type": "json_object"}}, 400, "response_format"),
    ("chat/completions", {"top_logprobs": 2}, 400, "top_logprobs"),
    ("chat/completions", {"logprobs": True, "top_logprobs": 30}, 400, "top_logprobs"),
    ("chat/completions", {"n": 1000}, 400, "n"),
    ("chat/completions", {"model": "gpt-4"}, 404, "model"),
    ("chat/completions", {"max_completion_tokens": 10**6}, 400, "max_completion_tokens"),
    ("chat/completions", {"max_completion_tokens": None, "max_tokens": 10**6}, 400, "max_tokens"),
    ("completions", {"max_tokens": 10**6}, 400, "max_tokens"),
    # session 59's hunt: a bad max_tokens beside max_completion_tokens passed
    ("chat/completions", {"max_completion_tokens": 5, "max_tokens": -5}, 400, "max_tokens"),
]


def test_bad_requests_get_openai_errors(main: Server) -> None:
    for path, fields, status, param in BAD_REQUESTS:
        body = {"prompt": "hi", "messages": CHAT, **fields}
        code, reply = post(f"{main.url}/v1/{path}", body)
        assert (code, reply["error"]["param"]) == (status, param), (path, fields, reply)
        assert reply["error"]["type"] == "invalid_request_error" and reply["error"]["message"]
    for raw in (
        b"{not json",
        b'{"prompt": "hi", "temperature": NaN}',
        b"[" * 100_000,
        b"[1, 2]",
        b"\xff\xfe",
    ):
        code, reply = post(f"{main.url}/v1/completions", raw)
        assert code == 400 and reply["error"]["type"] == "invalid_request_error", raw[:20]
    assert request(f"{main.url}/v1/nope")[0] == 404
    assert request(f"{main.url}/v1/completions")[0] == 405
    with pytest.raises(urllib.error.HTTPError) as refused:  # session 56: with the methods allowed
        urllib.request.urlopen(f"{main.url}/health", data=b"{}", timeout=60)
    assert refused.value.code == 405 and refused.value.headers["Allow"] == "GET,HEAD"
    with pytest.raises(openai.BadRequestError, match="maximum context length"):
        client(main).completions.create(model=NAME, prompt=TOO_LONG)
    # neutral values of unsupported fields, and unknown fields, are fine
    ok = {
        "prompt": "hi",
        "max_tokens": 1,
        "n": 1,
        "logit_bias": {},
        "echo": False,
        "best_of": 1,
        "min_tokens": 0,
        "tool_choice": "auto",
        "foo": [1],
    }
    assert post(f"{main.url}/v1/completions", ok)[0] == 200
    streamed = {**ok, "stream": True, "stream_options": {"continuous_usage_stats": False}}
    assert post(f"{main.url}/v1/completions", streamed)[0] == 200


def test_vllm_endpoints_and_fields(main: Server, reference: dict) -> None:
    api = client(main)
    card = api.models.list().data[0]
    assert (card.id, card.owned_by, card.max_model_len) == (NAME, "swiftllm", 512)
    # one model by its id: the served name or the path (slashes percent-encoded by the client)
    assert api.models.retrieve(NAME).model_dump() == card.model_dump()
    assert api.models.retrieve(str(MODEL)).model_dump() == card.model_dump()
    with pytest.raises(openai.NotFoundError) as missing:
        api.models.retrieve("no-such-model")
    assert missing.value.code == "model_not_found" and missing.value.param == "model"
    assert get(main.url + "/version") == (200, {"version": swiftllm.__version__})
    ids = reference["ids"][PROMPTS[1]]
    assert post(f"{main.url}/tokenize", {"model": NAME, "prompt": PROMPTS[1]}) == (
        200,
        {"count": len(ids), "max_model_len": 512, "tokens": ids},
    )
    status, chat_ids = post(f"{main.url}/tokenize", {"messages": CHAT})
    assert status == 200 and chat_ids["tokens"] == reference["chat_ids"]
    # add_generation_prompt false was ignored (session 45's probe): refused, as chat refuses it
    code, reply = post(f"{main.url}/tokenize", {"messages": CHAT, "add_generation_prompt": False})
    assert (code, reply["error"]["param"]) == (400, "add_generation_prompt")
    assert post(f"{main.url}/tokenize", {"messages": CHAT, "add_generation_prompt": True}) == (
        200,
        chat_ids,
    )
    assert post(f"{main.url}/detokenize", {"tokens": ids}) == (200, {"prompt": PROMPTS[1]})
    assert post(f"{main.url}/detokenize", {"tokens": [10**9]})[0] == 400
    # a model that is not a string is a bad field (400), as completions answers it; an unknown name a 404
    for route in ("/tokenize", "/detokenize"):
        code, reply = post(f"{main.url}{route}", {"model": 7, "prompt": "hi", "tokens": [1]})
        assert (code, reply["error"]["param"]) == (400, "model")
        code, reply = post(f"{main.url}{route}", {"model": "x", "prompt": "hi", "tokens": [1]})
        assert (code, reply["error"]["code"]) == (404, "model_not_found")
    assert post(f"{main.url}/tokenize", {"model": "gpt-4", "prompt": "hi"})[0] == 404
    # a lone surrogate cannot be tokenized: a 400 naming the prompt, not a 500 (session 41's fuzzing)
    code, reply = post(f"{main.url}/tokenize", {"prompt": "a\ud800b"})
    assert (code, reply["error"]["param"]) == (400, "prompt")
    with pytest.raises(openai.BadRequestError, match="wizard"):
        api.chat.completions.create(messages=[{"role": "wizard", "content": "hi"}], **GREEDY)
    greedy = reference["short"][PROMPTS[1]].text
    echoed = api.completions.create(prompt=PROMPTS[1], echo=True, **GREEDY)
    assert echoed.choices[0].text == PROMPTS[1] + greedy
    chunks = api.completions.create(prompt=ids, echo=True, stream=True, **GREEDY)
    assert "".join(chunk.choices[0].text for chunk in chunks) == PROMPTS[1] + greedy
    # min_p 1 keeps only the most likely token: sampling at temperature 1 is greedy
    only_top = api.completions.create(
        prompt=PROMPTS[1], seed=7, extra_body={"min_p": 1.0}, **{**GREEDY, "temperature": 1.0}
    )
    assert only_top.choices[0].text == greedy
    counting = reference["short"][PROMPTS[3]].text
    penalised = api.completions.create(
        prompt=PROMPTS[3], extra_body={"repetition_penalty": 2.0}, **GREEDY
    )
    assert penalised.choices[0].text != counting
    # logprobs bytes: a token's own bytes, which join to the text even across split characters
    reply = api.chat.completions.create(
        messages=[{"role": "user", "content": "Write the word café and an emoji."}],
        logprobs=True,
        model=NAME,
        max_tokens=24,
        temperature=0,
    )
    content = reply.choices[0].logprobs.content
    if reply.choices[0].finish_reason == "stop":
        content = content[:-1]  # the end-of-sequence token is no text
    joined = bytes(byte for token in content for byte in token.bytes)
    text = reply.choices[0].message.content
    # the text is the tokens' bytes decoded: a character cut by max_tokens is U+FFFD at its end (session
    # 47; until then the text dropped it)
    assert joined.decode(errors="replace") == text
    partial = [token for token in content if bytes(token.bytes).decode(errors="ignore") == ""]
    assert partial, "the prompt should make the model write a character split over tokens"


def test_n_choices_each_with_its_own_seed_stream(main: Server, reference: dict) -> None:
    api = client(main)
    ids = reference["ids"]
    sampled = dict(model=NAME, max_tokens=8, temperature=1.0, seed=11)
    reply = api.completions.create(prompt=PROMPTS[4], n=3, **sampled)
    assert [choice.index for choice in reply.choices] == [0, 1, 2]
    assert reply.usage.prompt_tokens == len(ids[PROMPTS[4]])  # the prompt counts once
    single = api.completions.create(prompt=PROMPTS[4], **sampled)
    assert reply.choices[0].text == single.choices[0].text
    assert len({choice.text for choice in reply.choices}) > 1
    # two prompts, two choices each: prompt-major indices, each choice its prompt's greedy text
    greedy = api.completions.create(prompt=PROMPTS[:2], n=2, best_of=2, **GREEDY)
    short = reference["short"]
    expected = [short[PROMPTS[0]].text] * 2 + [short[PROMPTS[1]].text] * 2
    assert [choice.text for choice in greedy.choices] == expected
    assert greedy.usage.prompt_tokens == len(ids[PROMPTS[0]]) + len(ids[PROMPTS[1]])
    chunks = list(api.chat.completions.create(messages=CHAT, n=2, stream=True, **GREEDY))
    for index in (0, 1):
        deltas = [c.choices[0].delta for c in chunks if c.choices and c.choices[0].index == index]
        assert deltas[0].role == "assistant"
        assert "".join(delta.content or "" for delta in deltas) == reference["chat"].text


def test_usage_and_metrics_count_prefix_cache_hits(main: Server) -> None:
    api = client(main)
    two_tokens = {**GREEDY, "max_tokens": 2}  # the prompt is what counts here
    prompt = "A prompt long enough to fill a few KV blocks of sixteen tokens each, " * 3
    api.completions.create(prompt=prompt, **two_tokens)  # caches the leading blocks
    before = metrics(main.url)
    first = api.completions.create(prompt=prompt + "once", **two_tokens)
    again = api.completions.create(prompt=prompt + "once", **two_tokens)
    streamed = list(
        api.completions.create(
            prompt=prompt + "once",
            stream=True,
            stream_options={"include_usage": True},
            **two_tokens,
        )
    )
    after = metrics(main.url)
    num_tokens = first.usage.prompt_tokens
    # the first one shares the prompt's leading blocks with the call before `before`
    full_blocks = 16 * ((num_tokens - 1) // 16)
    assert 0 < first.usage.prompt_tokens_details.cached_tokens <= full_blocks
    assert again.usage.prompt_tokens_details.cached_tokens == full_blocks
    assert streamed[-1].usage.prompt_tokens_details.cached_tokens == full_blocks
    assert again.choices[0].text == first.choices[0].text
    hits = first.usage.prompt_tokens_details.cached_tokens + 2 * full_blocks

    def grew(name: str) -> float:
        return after[name] - before[name]

    assert grew("swiftllm_prefix_cache_queries_total") == 3 * num_tokens
    assert grew("swiftllm_prefix_cache_hits_total") == hits
    assert grew("swiftllm_prompt_tokens_computed_total") == 3 * num_tokens - hits
    # the worker's step timings, summed, and the controller's own CPU time (bench/serving.py reads them)
    assert grew("swiftllm_worker_forward_seconds_total") > 0
    # counted in clock ticks (10 ms): these three short requests may take less than one
    assert after["process_cpu_seconds_total"] > 0
    assert grew("process_cpu_seconds_total") >= 0
    # n choices share one prompt: its hits count once, as prompt_tokens does, streamed or not (before session
    # 38 each choice's were summed: cached_tokens above prompt_tokens)
    four = api.completions.create(prompt=prompt + "once", n=4, **two_tokens)
    four_streamed = list(
        api.completions.create(
            prompt=prompt + "once",
            n=4,
            stream=True,
            stream_options={"include_usage": True},
            **two_tokens,
        )
    )
    assert four.usage.prompt_tokens == num_tokens
    assert four.usage.prompt_tokens_details.cached_tokens == full_blocks
    assert four_streamed[-1].usage.prompt_tokens_details.cached_tokens == full_blocks


def test_disconnect_aborts_and_frees_blocks(main: Server) -> None:
    idle = metrics(main.url)
    aborted = idle.get('swiftllm_requests_total{finish_reason="abort"}', 0)
    url = urlparse(main.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    body = {"prompt": PROMPTS[4], "max_tokens": 400, "ignore_eos": True}
    conn.request(
        "POST",
        "/v1/completions",
        json.dumps({**body, "stream": True}),
        {"Content-Type": "application/json"},
    )
    response = conn.getresponse()
    assert response.status == 200
    # wait until the stream has started: generation is under way
    while not response.readline().startswith(b"data: "):
        pass
    conn.close()
    # a non-streaming client that gives up
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        post(f"{main.url}/v1/completions", body, timeout=2)
    deadline = time.monotonic() + 60
    while True:
        samples = metrics(main.url)
        # no sample until the first abort is counted (a busy machine may take a while)
        if samples.get('swiftllm_requests_total{finish_reason="abort"}', 0) == aborted + 2:
            break
        assert time.monotonic() < deadline, samples
        time.sleep(0.5)
    assert samples["swiftllm_num_requests_running"] == 0
    assert samples["swiftllm_num_requests_waiting"] == 0
    assert samples["swiftllm_gpu_blocks_free"] == idle["swiftllm_gpu_blocks_free"]
    assert get(main.url + "/health")[0] == 200


@pytest.mark.slow
def test_preemption_by_swap_and_recompute_keeps_greedy_results(
    small: Server, reference: dict
) -> None:
    api = client(small, KEY)
    texts: dict[str, str] = {}

    def complete(prompt: str) -> None:
        reply = api.completions.create(
            prompt=prompt, model=NAME, max_tokens=24, temperature=0, extra_body={"ignore_eos": True}
        )
        texts[prompt] = reply.choices[0].text

    run_all([lambda prompt=prompt: complete(prompt) for prompt in PROMPTS])
    assert texts == {prompt: reference["long"][prompt].text for prompt in PROMPTS}
    samples = metrics(small.url)
    assert samples["swiftllm_swaps_out_total"] > 0, samples
    assert samples["swiftllm_recomputes_total"] > 0, samples
    assert samples["swiftllm_gpu_blocks_free"] == 8
    assert samples["swiftllm_num_requests_swapped"] == 0


def test_api_key(small: Server) -> None:
    for key in ("wrong", ""):
        with pytest.raises(openai.AuthenticationError):
            client(small, key or "none").models.list()
    assert post(f"{small.url}/v1/completions", {"prompt": "hi"})[0] == 401
    assert get(small.url + "/health")[0] == 200  # probes need no key
    assert get(small.url + "/metrics")[0] == 200
    assert get(small.url + "/version")[0] == 200
    # /tokenize and /detokenize do work for a client, so they need the key (vLLM's do not)
    assert post(f"{small.url}/tokenize", {"prompt": "hi"})[0] == 401
    assert post(f"{small.url}/detokenize", {"tokens": [1]})[0] == 401
    assert [model.id for model in client(small, KEY).models.list()] == [NAME]


@pytest.fixture
def tiny_servable(tiny_model_dir: Path, tmp_path: Path) -> str:
    """The tiny random model with SmolLM2's tokenizer (launch needs one; its ids need not fit this
    vocab)."""
    path = tmp_path / "tiny"
    shutil.copytree(tiny_model_dir, path)
    shutil.copy(MODEL / "tokenizer.json", path)
    return str(path)


@pytest.mark.slow
def test_sigterm_shuts_down_cleanly(tiny_servable: str) -> None:
    """And a request still in the tokenizer pool when the signal comes gets its reply: session 56's hunt
    had a long /tokenize cut off with none (the drain waited for the engine's requests only)."""
    # a drain long enough for both encodes on a slow machine (~3 s each here)
    flags = ["--kv-cache-memory-gb", "0.01", "--shutdown-timeout", "60"]
    server = launch("--model", tiny_servable, *flags).wait_ready()
    workers = server.worker_pids()
    assert len(workers) == 1
    prompt = "hello world " * 1_250_000  # 15 MB: seconds to encode here
    replies: list[tuple[int, dict | str]] = []
    # two: the long-text pool encodes one at a time, so the second waits seconds behind the first
    senders = [
        threading.Thread(
            target=lambda: replies.append(post(f"{server.url}/tokenize", {"prompt": prompt}))
        )
        for _ in range(2)
    ]
    for sender in senders:
        sender.start()
    time.sleep(1.5)  # both bodies are read and the first encode has begun
    server.proc.send_signal(signal.SIGTERM)
    for sender in senders:
        sender.join(120)
    assert server.proc.wait(60) == 0
    count = len(Tokenizer(tiny_servable).encode(prompt))
    assert [status for status, _ in replies] == [200, 200], replies
    assert [reply["count"] for _, reply in replies] == [count, count]
    assert not any(os.path.exists(f"/proc/{pid}") for pid in workers)


def test_serve_with_name_template_access_log_and_threads(
    tiny_servable: str, tmp_path: Path
) -> None:
    """`swiftctl serve MODEL` and its flags: the served name, a chat template file, the access log, the
    worker's thread count, the start-up summary and the shutdown line."""
    template = tmp_path / "template.jinja"
    template.write_text(
        "{% for message in messages %}{% if message.role == 'system' %}"
        "{{ raise_exception('no system messages here') }}{% endif %}"
        "<{{ message.role }}>{{ message.content }}{% endfor %}"
    )
    stderr = tmp_path / "stderr"
    command = [sys.executable, "-m", "swiftllm.launch.cli", "serve", tiny_servable, "--port", "0"]
    flags = ["--served-model-name", "tiny", "--chat-template", str(template), "--log-requests"]
    flags += ["--threads", "1", "--seed", "3", "--kv-cache-memory-gb", "0.01"]
    env = {k: v for k, v in os.environ.items() if k != "SWIFTLLM_API_KEY"}
    with stderr.open("w") as err:
        proc = subprocess.Popen(
            [*command, *flags], stdout=subprocess.PIPE, stderr=err, text=True, env=env
        )
    server = Server(proc, "").wait_ready()
    try:
        api = client(server)
        assert [model.id for model in api.models.list()] == ["tiny"]
        reply = api.completions.create(model="tiny", prompt=[1, 2, 3], max_tokens=2)
        assert reply.model == "tiny" and reply.usage.completion_tokens == 2
        tokens = post(f"{server.url}/tokenize", {"messages": [{"role": "user", "content": "hi"}]})
        expected = Tokenizer(tiny_servable).encode("<user>hi", add_special_tokens=False)
        assert tokens[1]["tokens"] == expected
        # messages the template refuses: a 400 naming them, and the server serves on
        with pytest.raises(openai.BadRequestError, match="no system messages here") as refused:
            api.chat.completions.create(
                model="tiny", messages=[{"role": "system", "content": "x"}], max_tokens=2
            )
        assert refused.value.body["param"] == "messages"
        worker_args = Path(f"/proc/{server.worker_pids()[0]}/cmdline").read_text().split("\0")
        assert worker_args[worker_args.index("--threads") + 1] == "1"
    finally:
        assert server.stop() == 0
    log = stderr.read_text()
    for part in ("model      tiny", "KV cache", "address    http://", "SwiftLLM shut down"):
        assert part in log, (part, log)
    assert '"POST /v1/completions HTTP/1.1" 200' in log


def test_dead_worker_stops_the_server(tiny_servable: str) -> None:
    server = launch("--model", tiny_servable, "--kv-cache-memory-gb", "0.01").wait_ready()
    os.kill(server.worker_pids()[0], signal.SIGKILL)
    assert server.proc.wait(60) == 1


def test_a_chat_template_that_does_not_compile_is_refused_at_start(tmp_path: Path) -> None:
    template = tmp_path / "template.jinja"
    template.write_text("{% for message in messages %}{{ message.content }}")
    out = subprocess.run(
        [sys.executable, "-m", "swiftllm.launch.cli", "launch", "--chat-template", str(template)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert "the chat template does not compile" in out.stderr
    assert "Traceback" not in out.stderr


def test_several_workers_the_model_does_not_split_over_are_refused() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "swiftllm.launch.cli", "launch", "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert (
        "does not split over 2 tensor-parallel workers: 2 does not divide 9 attention heads"
        in out.stderr
    )


def test_a_request_that_fails_in_the_engine_ends_with_its_error_and_the_server_serves_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A request the engine fails alone (Engine.fail: its postprocessing raised, a worker refused it) ends
    over REST too: not streamed, a 500 with the engine's words; streamed, the text before the failure and
    then the error as the stream's last event. Requests beside it and after it are served, and it holds no
    KV block. (A coverage run found these paths of rest.py run by no test.)"""
    from in_process_server import InProcessServer

    llm = LLM(MODEL, kv_cache_memory_gb=0.05, max_num_seqs=8)
    poisoned = [7, 7, 7, 9]  # a prompt whose third output token fails in postprocessing
    detokenize = llm.engine.detokenize

    def fail_poisoned(seq: object, token: int) -> None:
        if seq.prompt_ids == poisoned and seq.num_outputs == 3:
            raise RuntimeError("poisoned")
        detokenize(seq, token)

    monkeypatch.setattr(llm.engine, "detokenize", fail_poisoned)
    served = InProcessServer(llm)
    try:
        client = openai.OpenAI(base_url=served.url + "/v1", api_key="none", max_retries=0)
        options = {
            "model": "m",
            "max_tokens": 6,
            "temperature": 0,
            "extra_body": {"ignore_eos": True},
        }
        why = r"internal error while postprocessing: RuntimeError\('poisoned'\)"
        with pytest.raises(openai.InternalServerError, match=why) as failed:
            client.completions.create(prompt=poisoned, **options)
        assert failed.value.status_code == 500  # the engine serves on: not a 503
        texts = []
        with pytest.raises(openai.APIError, match=why):
            for chunk in client.completions.create(prompt=poisoned, stream=True, **options):
                texts.append(chunk.choices[0].text)
        healthy = client.completions.create(prompt=[7, 7, 9], **options)
        assert healthy.choices[0].finish_reason == "length"
        # the two tokens before the failure streamed as the whole request's first two would
        first_two = client.completions.create(prompt=poisoned, **{**options, "max_tokens": 2})
        assert "".join(texts) == first_two.choices[0].text
        assert len(texts) >= 1
        engine = llm.engine
        assert not engine.has_work
        assert engine.scheduler.block_manager.gpu.num_free == engine.scheduler.cfg.num_gpu_blocks
    finally:
        served.close()
