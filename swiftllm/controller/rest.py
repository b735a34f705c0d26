"""The REST server on aiohttp: OpenAI-compatible completions and chat (streaming or not), models, health, metrics.

Handlers parse and tokenize (in a small thread pool: the tokenizer pool), submit to the engine thread and
await its outputs on one asyncio queue per HTTP request (one choice per prompt). Whatever ends a handler
early, a client disconnect included (aiohttp cancels the handler), aborts its requests and frees their blocks."""

import asyncio
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from aiohttp import web
from jinja2 import TemplateError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from swiftllm.controller.async_engine import AsyncEngine, EngineError, Output
from swiftllm.controller.openai_schema import (
    ApiError,
    GenerateRequest,
    choice_logprobs,
    envelope,
    parse_request,
    usage,
)
from swiftllm.controller.tokenizer import Tokenizer

log = logging.getLogger("swiftllm.rest")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


class RestServer:
    def __init__(
        self,
        engine: AsyncEngine,
        tokenizer: Tokenizer,
        model_name: str,
        model_path: str,
        api_key: str | None = None,
    ) -> None:
        self.engine, self.tok, self.model_name, self.api_key = (
            engine,
            tokenizer,
            model_name,
            api_key,
        )
        self.names = (model_name, model_path)
        self.max_len = engine.engine.scheduler.max_len
        self.vocab_size = engine.engine.model_config.vocab_size
        self.failure: str | None = None  # set by whoever watches the workers
        self.created = int(time.time())
        self.pool = ThreadPoolExecutor(2, thread_name_prefix="tokenizer")
        self.app = web.Application(middlewares=[self.errors], client_max_size=16 << 20)
        self.app.add_routes(
            [
                web.post("/v1/completions", partial(self.generate, chat=False)),
                web.post("/v1/chat/completions", partial(self.generate, chat=True)),
                web.get("/v1/models", self.models),
                web.get("/health", self.health),
                web.get("/metrics", self.metrics),
            ]
        )

    @web.middleware
    async def errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every failure becomes an OpenAI-style error body; nothing a client sends crashes the server."""
        try:
            if (
                self.api_key
                and request.path.startswith("/v1/")
                and not hmac.compare_digest(
                    request.headers.get("Authorization", "").encode(),
                    f"Bearer {self.api_key}".encode(),
                )
            ):
                raise ApiError("Incorrect API key provided", None, 401, "invalid_api_key")
            return await handler(request)
        except ApiError as e:
            return web.json_response(e.body(), status=e.status)
        except web.HTTPException as e:  # no such route, wrong method, body too large
            return web.json_response(ApiError(e.reason, None, e.status).body(), status=e.status)
        except EngineError as e:
            return web.json_response(ApiError(str(e), None, 503).body(), status=503)
        except Exception:
            log.exception("error serving %s", request.path)
            return web.json_response(
                ApiError("internal server error", None, 500).body(), status=500
            )

    async def models(self, request: web.Request) -> web.Response:
        card = {
            "id": self.model_name,
            "object": "model",
            "created": self.created,
            "owned_by": "swiftllm",
            "root": self.names[1],
            "max_model_len": self.max_len,
        }
        return web.json_response({"object": "list", "data": [card]})

    async def health(self, request: web.Request) -> web.Response:
        problem = self.failure or self.engine.health()
        return web.json_response(
            {"status": "unhealthy", "reason": problem} if problem else {"status": "ok"},
            status=503 if problem else 200,
        )

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.engine.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    async def generate(self, request: web.Request, chat: bool) -> web.StreamResponse:
        try:
            body = json.loads(await request.read(), parse_constant=reject_constant)
        except (ValueError, RecursionError) as e:
            raise ApiError(f"malformed JSON body: {e}") from None
        spec = parse_request(body, chat, self.names)
        loop = asyncio.get_running_loop()
        if chat:
            prompts = [await loop.run_in_executor(self.pool, self.render_chat, spec.messages)]
        else:
            prompts = await asyncio.gather(
                *(
                    asyncio.sleep(0, p)
                    if isinstance(p, list)
                    # ids: as they are
                    else loop.run_in_executor(self.pool, self.tok.encode, p)
                    for p in spec.prompts
                )
            )
        params = [spec.params_for(len(ids), self.max_len, chat) for ids in prompts]
        if any(not 0 <= t < self.vocab_size for ids in prompts for t in ids):
            raise ApiError(f"token ids must lie in [0, {self.vocab_size})", "prompt")
        queue: asyncio.Queue = asyncio.Queue()
        requests: list = []
        request_id = f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex}"
        prompt_tokens = sum(map(len, prompts))
        try:  # a submit failing half-way still aborts the ones before it
            for i, (ids, p) in enumerate(zip(prompts, params)):
                requests.append(self.engine.submit(ids, p, queue, i))
            if spec.stream:
                return await self.stream(
                    request, spec, queue, len(requests), chat, request_id, prompt_tokens
                )
            return web.json_response(
                await self.collect(spec, queue, len(requests), chat, request_id, prompt_tokens)
            )
        finally:
            for r in requests:
                self.engine.abort(r)  # no-op for a finished one

    def render_chat(self, messages: list[dict[str, str]]) -> list[int]:
        try:
            return self.tok.encode_chat(messages)
        except (TemplateError, ValueError, TypeError) as e:
            raise ApiError(f"cannot apply the chat template: {e}", "messages") from None

    @staticmethod
    async def outputs(queue: asyncio.Queue, n: int) -> AsyncIterator[Output]:
        while n:  # until each of the n choices has finished
            out = await queue.get()
            if isinstance(out, Exception):  # the engine died (EngineError), or refused the request
                raise ApiError(str(out), None, 503 if isinstance(out, EngineError) else 400)
            n -= out.finish_reason is not None
            yield out

    def logprobs(
        self, spec: GenerateRequest, out: Output, chat: bool, offset: int
    ) -> dict[str, Any] | None:
        if spec.params.logprobs is None:
            return None
        return choice_logprobs(self.tok, out.token_ids, out.logprobs, chat, offset)

    async def collect(
        self,
        spec: GenerateRequest,
        queue: asyncio.Queue,
        n: int,
        chat: bool,
        request_id: str,
        prompt_tokens: int,
    ) -> dict[str, Any]:
        merged: list[Output | None] = [None] * n  # each choice's outputs, concatenated
        async for out in self.outputs(queue, n):
            prev = merged[out.index]
            merged[out.index] = (
                out
                if prev is None
                else Output(
                    out.index,
                    prev.text + out.text,
                    prev.token_ids + out.token_ids,
                    prev.logprobs + out.logprobs,
                    out.finish_reason,
                    out.num_output_tokens,
                )
            )
        choices = [
            {
                "index": i,
                **(
                    {"message": {"role": "assistant", "content": o.text}}
                    if chat
                    else {"text": o.text}
                ),
                "finish_reason": o.finish_reason,
                "logprobs": self.logprobs(spec, o, chat, 0),
            }
            for i, o in enumerate(merged)
        ]
        return {
            **envelope(request_id, self.model_name, chat, False, choices),
            "usage": usage(prompt_tokens, sum(o.num_output_tokens for o in merged)),
        }

    async def stream(
        self,
        request: web.Request,
        spec: GenerateRequest,
        queue: asyncio.Queue,
        n: int,
        chat: bool,
        request_id: str,
        prompt_tokens: int,
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        extra = {"usage": None} if spec.include_usage else {}

        async def send(choices: list[dict[str, Any]], **fields: Any) -> None:
            chunk = {
                **envelope(request_id, self.model_name, chat, True, choices),
                **extra,
                **fields,
            }
            await response.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")

        offsets, generated = [0] * n, [0] * n
        try:
            if chat:
                await send(
                    [
                        {
                            "index": 0,
                            "delta": {"role": "assistant", "content": ""},
                            "logprobs": None,
                            "finish_reason": None,
                        }
                    ]
                )
            async for out in self.outputs(queue, n):
                i, generated[out.index] = out.index, out.num_output_tokens
                lp = self.logprobs(spec, out, chat, offsets[i])
                if not (out.text or out.finish_reason or lp):
                    continue  # held-back text and nothing else to say
                offsets[i] += sum(map(len, lp["tokens"])) if lp and not chat else 0
                content = (
                    {"delta": {"content": out.text} if out.text else {}}
                    if chat
                    else {"text": out.text}
                )
                await send(
                    [{"index": i, **content, "logprobs": lp, "finish_reason": out.finish_reason}]
                )
            if spec.include_usage:
                await send([], usage=usage(prompt_tokens, sum(generated)))
        except ApiError as e:  # the status line is gone: report in the stream
            await response.write(b"data: " + json.dumps(e.body()).encode() + b"\n\n")
        except ConnectionError:  # the client left; the caller aborts
            return response
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response
