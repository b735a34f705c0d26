"""Print each Triton kernel specialization as a process compiles it, with the time it took: which requests
wait for a compile in serving (a new specialization of a kernel costs 0.2-1.9 s on the H200).

    TRACE_JIT=1 PYTHONPATH=bench/trace_jit:$PYTHONPATH swiftctl launch ...

Python imports sitecustomize at start-up from the path, so the hook reaches the worker processes too. Each line
goes to stderr: `[jit HH:MM:SS.mmm +SECONDS_SINCE_START COMPILE_MS ms] kernel[options](argument types)
consts={...}`. Lines after the server's "SwiftLLM serving" line are compiles a request may have waited for."""

from __future__ import annotations

import os
import sys
import time

if os.environ.get("TRACE_JIT"):
    from triton import knobs

    started = time.time()
    compile_started: dict[str, float] = {}

    def before_compile(*, key: object, repr: str, **_: object) -> bool:
        compile_started[str(key)] = time.perf_counter()
        return False  # compile as usual

    def after_compile(*, key: object, repr: str, compile: dict, **_: object) -> bool:
        took_ms = (time.perf_counter() - compile_started.pop(str(key), time.perf_counter())) * 1e3
        now = time.time()
        stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"
        print(
            f"[jit {stamp} +{now - started:.1f}s {took_ms:.0f} ms] {repr} "
            f"consts={compile.get('constants', {})}",
            file=sys.stderr,
            flush=True,
        )
        return False

    knobs.runtime.jit_cache_hook = before_compile
    knobs.runtime.jit_post_compile_hook = after_compile
