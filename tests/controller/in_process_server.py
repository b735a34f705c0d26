"""The REST server in this process, on a thread of its own, over an in-process worker: fast enough to send
it thousands of requests (fuzzing), and its engine can be inspected afterwards."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

from swiftllm.controller.async_engine import AsyncEngine
from swiftllm.controller.rest import RUNNER_OPTIONS, RestServer
from swiftllm.llm import LLM


class InProcessServer:
    """`serve(llm)`: REST on 127.0.0.1 (a free port), one per api key in `api_keys` (None: no key)."""

    def __init__(self, llm: LLM, api_keys: tuple[str | None, ...] = (None,)) -> None:
        self.llm = llm
        self.api_keys = api_keys
        self.urls: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        if not self.ready.wait(60):
            raise RuntimeError("the in-process server did not start")

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.start())
        self.loop.run_forever()

    async def start(self) -> None:
        self.async_engine = AsyncEngine(self.llm.engine, self.loop)
        self.runners: list[web.AppRunner] = []
        self.rests: list[RestServer] = []
        for api_key in self.api_keys:
            self.urls.append(await self.serve(api_key, RUNNER_OPTIONS))
        self.ready.set()

    async def serve(self, api_key: str | None, options: dict) -> str:
        """One more REST server over this engine, with these AppRunner options: its URL."""
        model = str(self.llm.config.model)
        rest = RestServer(self.async_engine, self.llm.engine.tokenizer, "m", model, api_key)
        runner = web.AppRunner(rest.app, **options, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.runners.append(runner)
        self.rests.append(rest)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    def add_server(self, **options: object) -> str:
        """A server with RUNNER_OPTIONS changed by `options` (a timeout a test can wait for), on the same
        engine as the others: its URL. Closed with them."""
        serving = self.serve(None, {**RUNNER_OPTIONS, **options})
        return asyncio.run_coroutine_threadsafe(serving, self.loop).result(30)

    @property
    def url(self) -> str:
        return self.urls[0]

    def close(self) -> None:
        async def stop() -> None:
            for runner in self.runners:
                await runner.cleanup()
            for rest in self.rests:
                rest.close()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(30)
        self.async_engine.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
