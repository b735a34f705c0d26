"""The REST server on aiohttp: OpenAI-compatible completions and chat (streaming or not), models,
health, metrics, and vLLM's tokenize, detokenize and version.

Handlers parse and check sizes, tokenize (in a thread pool; long texts in a pool of their own, so
that they never delay short ones), submit to the engine thread and await its outputs on one asyncio
queue per HTTP request (each of a prompt's `n` choices is an engine sequence). Whatever ends a
handler early, a client disconnect included (aiohttp cancels the handler), aborts its requests and
frees their blocks. Every accepted request ends explicitly: its result, or an OpenAI-style error (a
stream's last event before [DONE])."""

import asyncio
import json
import logging
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import swiftllm
from swiftllm.controller.async_engine import (
    AsyncEngine,
    EngineError,
    Output,
    Request,
    RequestFailed,
)
from swiftllm.controller.openai_schema import (
    ApiError,
    GenerateRequest,
    add_special_tokens_for,
    check_model,
    choice,
    choice_logprobs,
    envelope,
    is_text,
    parse_messages,
    parse_request,
    read_field,
    usage,
)
from swiftllm.controller.tokenizer import Tokenizer
from swiftllm.protocol.auth import token_matches

log = logging.getLogger("swiftllm.rest")
# texts up to this many characters are tokenized in the short pool (a few ms each); longer ones queue
# behind each other in the long pool
SHORT_TEXT_CHARS = 32_768
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
EVENT_STREAM_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
MAX_BODY_BYTES = 16 << 20  # a request body, decompressed
# a gzip body's members: each costs a copy of the body left after it, on the event loop (a 960 KB body of
# 40,000 members held /health for 33 s; a 16 MiB one, hours)
MAX_MEMBERS = 16
# seconds a request's body may take to arrive: one that stalls (a client gone silent after its headers) was
# held with its connection until the client left, as aiohttp sets no body read timeout; 16 MiB at 4 Mbit/s fits
BODY_TIMEOUT = 60.0
# the routes open without the API key: probes, Prometheus and the version (they do no work for a client);
# /tokenize and /detokenize do (vLLM leaves them open: a keyless client could fill the tokenizer pool)
OPEN_ROUTES = ("/health", "/metrics", "/version")
# The AppRunner options of every server of this app (launch_cmd.serve, the tests'): a client that
# disconnects cancels its handler, which aborts its requests; bodies are decompressed by read_object,
# whose errors are OpenAI-style (aiohttp's parser answered an encoding it lacks, br or zstd, in plain text);
# a connection idle for 60 s is closed: one that has not sent a whole request (its headers stopped half-way,
# or never began: aiohttp 3.14 runs this timer from the connection's start, and has no header timeout of its
# own; its default is an hour) as well as one kept alive between requests (HTTP clients close theirs sooner:
# httpx after 5 s, aiohttp's client after 15), never one whose request is being served
RUNNER_OPTIONS = {"handler_cancellation": True, "auto_decompress": False, "keepalive_timeout": 60.0}


def reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def error_of(error: Exception, path: str) -> ApiError:
    """What the client is told of a failure that ended its request: nothing a client sends crashes
    the server; an unforeseen one is logged with its traceback and answered as a 500."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, web.HTTPException):  # no such route, wrong method, body too large
        return ApiError(error.reason, None, error.status)
    if isinstance(error, EngineError):  # the engine cannot serve
        return ApiError(str(error), None, 503)
    if isinstance(error, RequestFailed):  # this request failed in the engine, which serves on
        return ApiError(str(error), None, 500)
    log.exception("error serving %s", path)
    return ApiError("internal server error", None, 500)


def decompress(body: bytes, encoding: str) -> bytes:
    """A gzip or deflate body, at most MAX_BODY_BYTES once decompressed (a small body can expand to
    gigabytes): else a 413, and a body that is not what it claims a 400; another encoding, a 415."""
    if encoding not in ("gzip", "deflate"):
        raise ApiError(f"Content-Encoding {encoding} is not supported (gzip, deflate)", None, 415)
    data = b""
    # member by member: a gzip body may hold several, read as one (RFC 1952)
    for _ in range(MAX_MEMBERS):
        # window bits that take a gzip or a zlib header (each encoding's RFC form)
        member = zlib.decompressobj(32 + zlib.MAX_WBITS)
        try:
            data += member.decompress(body, MAX_BODY_BYTES + 1 - len(data))
        except zlib.error as error:
            raise ApiError(f"the body is not valid {encoding}: {error}") from None
        if len(data) > MAX_BODY_BYTES:
            raise ApiError(f"the decompressed body is over {MAX_BODY_BYTES} bytes", None, 413)
        if not member.eof:  # cut off before its trailer (and checksum)
            raise ApiError(f"the body is not valid {encoding}: it ends early")
        body = member.unused_data
        if not body:
            return data
    raise ApiError(f"the body holds more than {MAX_MEMBERS} {encoding} members", None, 413)


async def read_object(request: web.Request) -> dict[str, Any]:
    """The body, decompressed, as a JSON object: a body that is not what its Content-Encoding
    says, not JSON (NaN and Infinity are not), or not an object is a 400."""
    try:
        raw_body = await asyncio.wait_for(request.read(), BODY_TIMEOUT)
    except web.HTTPException:
        raise  # too large: 413
    except asyncio.TimeoutError:  # TimeoutError from Python 3.11; on 3.10 a class of its own
        raise ApiError(f"the body did not arrive within {BODY_TIMEOUT:g} s", None, 408) from None
    except Exception as error:
        raise ApiError(f"cannot read the request body: {error}") from None
    encoding = request.headers.get("Content-Encoding", "identity").lower()
    if encoding != "identity":
        raw_body = decompress(raw_body, encoding)
    try:
        body = json.loads(raw_body, parse_constant=reject_constant)
    except (ValueError, RecursionError) as error:
        raise ApiError(f"malformed JSON body: {error}") from None
    if not isinstance(body, dict):
        raise ApiError("the request body must be a JSON object")
    return body


async def output_batches(queue: asyncio.Queue, unfinished: int) -> AsyncIterator[list[Output]]:
    """The request's outputs until each of its `unfinished` choices has finished, each time all
    that are queued: a stream that fell behind the engine catches up in one write instead of one
    per token."""
    while unfinished:
        items = [await queue.get()]
        while not queue.empty():
            items.append(queue.get_nowait())
        batch: list[Output] = []
        for item in items:
            if isinstance(item, Exception):
                if batch:
                    yield batch  # what came before the error goes out first
                if isinstance(item, ValueError):  # the engine refused the request's values
                    raise ApiError(str(item))
                raise item  # an EngineError or RequestFailed (error_of)
            if item.finish_reason is not None:
                unfinished -= 1
            batch.append(item)
        yield batch


class RestServer:
    def __init__(
        self,
        async_engine: AsyncEngine,
        tokenizer: Tokenizer,
        model_name: str,
        model_path: str,
        api_key: str | None = None,
    ) -> None:
        self.async_engine = async_engine
        self.tokenizer = tokenizer
        self.model_name = model_name
        self.model_names = (model_name, model_path)  # what a request's `model` may be
        self.api_key = api_key
        self.max_len = async_engine.engine.scheduler.max_len
        self.vocab_size = async_engine.engine.model_config.vocab_size
        # a text longer than this cannot fit in max_len tokens: refused before it is tokenized
        self.max_chars = tokenizer.max_chars(self.max_len)
        self.model_card = {  # what /v1/models lists and /v1/models/{id} answers
            "id": model_name,
            "object": "model",
            "created": int(time.time()),
            "owned_by": "swiftllm",
            "root": model_path,
            "max_model_len": self.max_len,
        }
        self.pool = ThreadPoolExecutor(2, thread_name_prefix="tokenizer")
        self.long_pool = ThreadPoolExecutor(1, thread_name_prefix="tokenizer-long")
        # requests whose handler has not returned: a shutdown waits for them too, not only for the engine's
        # (a /tokenize still in the tokenizer pool was cut off with no reply, session 56)
        self.handling = 0
        self.app = web.Application(middlewares=[self.errors], client_max_size=MAX_BODY_BYTES)
        self.app.add_routes(
            [
                web.post("/v1/completions", partial(self.generate, chat=False)),
                web.post("/v1/chat/completions", partial(self.generate, chat=True)),
                web.get("/v1/models", self.models),
                # a model path served as its own name has slashes
                web.get("/v1/models/{model:.+}", self.model),
                web.get("/health", self.health),
                web.get("/metrics", self.metrics),
                web.post("/tokenize", self.tokenize),
                web.post("/detokenize", self.detokenize),
                web.get("/version", self.version),
            ]
        )

    @web.middleware
    async def errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every failure becomes an OpenAI-style error body (error_of)."""
        self.handling += 1
        try:
            if self.api_key and request.path not in OPEN_ROUTES:
                # the scheme is case-insensitive (RFC 9110); token_matches encodes with surrogatepass, so
                # a header that is not UTF-8 still encodes (and does not match), never a 500
                scheme, _, key = request.headers.get("Authorization", "").partition(" ")
                # RFC 9110 allows several spaces after the scheme ("Bearer  KEY" was a 401)
                if scheme.lower() != "bearer" or not token_matches(key.lstrip(" "), self.api_key):
                    raise ApiError("Incorrect API key provided", None, 401, "invalid_api_key")
            return await handler(request)
        except Exception as error:
            api_error = error_of(error, request.path)
            response = web.json_response(api_error.body(), status=api_error.status)
            if isinstance(error, web.HTTPMethodNotAllowed):  # RFC 9110: a 405 names what is allowed
                response.headers["Allow"] = error.headers["Allow"]
            return response
        finally:
            self.handling -= 1

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [self.model_card]})

    async def model(self, request: web.Request) -> web.Response:
        """GET /v1/models/{id}: our card when the id names our model (as a request's `model` may)."""
        check_model(request.match_info["model"], self.model_names)
        return web.json_response(self.model_card)

    async def health(self, request: web.Request) -> web.Response:
        if problem := self.async_engine.health():
            return web.json_response({"status": "unhealthy", "reason": problem}, status=503)
        return web.json_response({"status": "ok"}, status=200)

    async def metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.async_engine.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def tokenize(self, request: web.Request) -> web.Response:
        """vLLM's: {model, prompt | messages} -> {count, max_model_len, tokens}."""
        body = await read_object(request)
        check_model(read_field(body, "model"), self.model_names)
        add_special_tokens = add_special_tokens_for(body, "messages" in body)
        if "messages" in body:
            # a 400 unless true, as chat completions answers it (it was ignored: the tokens ended with
            # the assistant's header all the same)
            read_field(body, "add_generation_prompt")
            messages = parse_messages(body["messages"], self.max_len, self.max_chars)
            tokens = await self.encode_chat(messages)
        elif is_text(body.get("prompt")):
            tokens = await self.encode_prompt(body["prompt"], add_special_tokens)
        else:
            raise ApiError("give a prompt (a UTF-8 string) or messages", "prompt")
        return web.json_response(
            {"count": len(tokens), "max_model_len": self.max_len, "tokens": tokens}
        )

    async def detokenize(self, request: web.Request) -> web.Response:
        """vLLM's: {model, tokens} -> {prompt}."""
        body = await read_object(request)
        check_model(read_field(body, "model"), self.model_names)
        tokens = body.get("tokens")
        well_formed = isinstance(tokens, list) and all(type(token) is int for token in tokens)
        if not well_formed or any(not 0 <= token < self.vocab_size for token in tokens):
            raise ApiError(
                f"tokens must be a list of token ids in [0, {self.vocab_size})", "tokens"
            )
        return web.json_response({"prompt": await self.prompt_text(tokens)})

    async def version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": swiftllm.__version__})

    async def generate(self, request: web.Request, chat: bool) -> web.StreamResponse:
        """Completions and chat: parse, tokenize, submit an engine request per choice (n per prompt),
        answer. The n choices of a prompt are n sequences with the same prompt: prefix caching, where
        the engine has it, shares the prompt's blocks; usage counts each prompt once."""
        body = await read_object(request)
        spec = parse_request(body, chat, self.model_names, self.max_len, self.max_chars)
        add_special_tokens = add_special_tokens_for(body, chat)  # a text prompt's BOS and the like
        if chat:
            prompts = [await self.encode_chat(spec.messages)]
        else:
            encodes = [self.encode_prompt(item, add_special_tokens) for item in spec.prompts]
            prompts = await asyncio.gather(*encodes)
        params = [spec.params_for(len(ids), self.max_len) for ids in prompts]
        # before echo decodes them: the tokenizer raises on an id beyond 2**32
        if any(not 0 <= token < self.vocab_size for ids in prompts for token in ids):
            raise ApiError(f"token ids must lie in [0, {self.vocab_size})", "prompt")
        echoes = [""] * (len(prompts) * spec.n)  # per choice: the text before its own
        if spec.echo:
            texts = await asyncio.gather(*(self.prompt_text(prompt) for prompt in spec.prompts))
            echoes = [text for text in texts for _ in range(spec.n)]
        queue: asyncio.Queue = asyncio.Queue()
        engine_requests: list[Request] = []
        prompt_tokens = sum(map(len, prompts))
        try:  # a submit failing half-way still aborts the ones before it
            for prompt_index, (prompt_ids, prompt_params) in enumerate(zip(prompts, params)):
                # choice index: prompt-major, as vLLM numbers them
                for sample_index in range(spec.n):
                    choice_params = spec.choice_params(prompt_params, sample_index)
                    choice_index = prompt_index * spec.n + sample_index
                    engine_requests.append(
                        self.async_engine.submit(prompt_ids, choice_params, queue, choice_index)
                    )
            if spec.stream:
                return await self.stream(request, spec, queue, echoes, prompt_tokens)
            return web.json_response(await self.whole_response(spec, queue, echoes, prompt_tokens))
        finally:
            for engine_request in engine_requests:
                self.async_engine.abort(engine_request)  # no-op for a finished one

    async def in_pool(self, num_chars: int, encode: Callable[[], list[int]]) -> list[int]:
        """Tokenizer work off the event loop: in the short pool, or for a long text the long one."""
        pool = self.long_pool if num_chars > SHORT_TEXT_CHARS else self.pool
        return await asyncio.get_running_loop().run_in_executor(pool, encode)

    def close(self) -> None:
        self.pool.shutdown(wait=False)
        self.long_pool.shutdown(wait=False)

    async def encode_prompt(self, prompt: str | list[int], add_special_tokens: bool) -> list[int]:
        """Token ids as they are; a text encoded in the tokenizer pool for its length."""
        if isinstance(prompt, list):
            return prompt
        encode = partial(self.tokenizer.encode, prompt, add_special_tokens)
        return await self.in_pool(len(prompt), encode)

    async def encode_chat(self, messages: list[dict[str, Any]]) -> list[int]:
        """The chat template rendered and encoded in the tokenizer pool for the messages' length."""
        num_chars = sum(len(message["content"]) for message in messages)
        try:  # the template's refusal (or none to apply), raised in the pool, reaches us here
            return await self.in_pool(num_chars, partial(self.tokenizer.encode_chat, messages))
        except ValueError as error:
            raise ApiError(f"cannot apply the chat template: {error}", "messages") from None

    async def prompt_text(self, prompt: str | list[int]) -> str:
        """A prompt's text, what echo repeats and /detokenize answers: token ids decoded in the tokenizer
        pool (256 prompts of 8,000 ids took 0.49 s to decode, which the event loop spent serving no one
        else)."""
        if isinstance(prompt, str):
            return prompt
        return await self.in_pool(len(prompt), partial(self.tokenizer.decode, prompt))

    async def whole_response(
        self, spec: GenerateRequest, queue: asyncio.Queue, echoes: list[str], prompt_tokens: int
    ) -> dict[str, Any]:
        """The body of a response that is not streamed: every choice's outputs, concatenated, each
        after its echo."""
        merged: dict[int, Output] = {}  # choice index -> its outputs so far, as one
        async for batch in output_batches(queue, len(echoes)):
            for output in batch:
                earlier = merged.get(output.index)
                merged[output.index] = output if earlier is None else earlier.followed_by(output)
        choices = []
        for index, echo in enumerate(echoes):
            output = merged[index]
            content = {"text": echo + output.text}
            if spec.chat:
                content = {"message": {"role": "assistant", "content": output.text}}
            logprobs = choice_logprobs(self.tokenizer, spec, output)
            choices.append(choice(index, content, logprobs, output.finish_reason))
        head = envelope(spec.request_id, self.model_name, spec.chat, False)
        return {**head, "choices": choices, "usage": usage(prompt_tokens, merged.values(), spec.n)}

    async def stream(
        self,
        request: web.Request,
        spec: GenerateRequest,
        queue: asyncio.Queue,
        echoes: list[str],
        prompt_tokens: int,
    ) -> web.StreamResponse:
        """A server-sent event per output that says something (after each choice's echo, if any),
        then usage if asked, then [DONE]."""
        response = web.StreamResponse(headers=EVENT_STREAM_HEADERS)
        await response.prepare(request)
        # every chunk is the same envelope around one choice: the envelope is encoded once and each
        # choice spliced in (encoding whole chunks was a tenth of the controller's CPU at 200 streams)
        head = envelope(spec.request_id, self.model_name, spec.chat, True)
        prefix = b"data: " + json.dumps(head)[:-1].encode() + b', "choices": ['
        # usage is null in every chunk but the last
        suffix = b'], "usage": null}\n\n' if spec.include_usage else b"]}\n\n"

        def event(index: int, content: dict[str, Any], logprobs: Any, finish: str | None) -> bytes:
            return prefix + json.dumps(choice(index, content, logprobs, finish)).encode() + suffix

        latest: dict[int, Output] = {}  # choice index -> its latest output (for usage)
        try:
            # each chat choice opens with its role, a completion choice with its echo (if any)
            chat_opening = {"delta": {"role": "assistant", "content": ""}}
            openings = [
                event(index, chat_opening if spec.chat else {"text": echo}, None, None)
                for index, echo in enumerate(echoes)
                if spec.chat or echo
            ]
            if openings:
                await response.write(b"".join(openings))
            async for batch in output_batches(queue, len(echoes)):
                events: list[bytes] = []
                for output in batch:
                    latest[output.index] = output
                    logprobs = choice_logprobs(self.tokenizer, spec, output)
                    # (logprobs is an object, also for an output that holds no token)
                    if not (output.text or output.finish_reason or (logprobs and output.token_ids)):
                        continue  # held-back text and nothing else to say
                    content = {"text": output.text}
                    if spec.chat:  # a chunk with no new text has an empty delta
                        content = {"delta": {"content": output.text} if output.text else {}}
                    events.append(event(output.index, content, logprobs, output.finish_reason))
                if events:
                    await response.write(b"".join(events))
            if spec.include_usage:
                totals = usage(prompt_tokens, latest.values(), spec.n)
                last = {**head, "choices": [], "usage": totals}
                await response.write(b"data: " + json.dumps(last).encode() + b"\n\n")
        except ConnectionError:  # the client left; the caller aborts
            return response
        except Exception as error:  # the status line is gone: the error is the stream's last event
            body = error_of(error, request.path).body()
            await response.write(b"data: " + json.dumps(body).encode() + b"\n\n")
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response
