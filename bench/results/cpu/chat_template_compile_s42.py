"""Session 42: what compiling the chat template once (when the tokenizer loads) saves a chat request.

Before session 42, `Tokenizer.render_chat` built a sandboxed Jinja environment and compiled the template on
every call (in the REST tokenizer pool, holding the GIL the engine thread needs); now the template is compiled
once in `Tokenizer.__init__`. This times both ways on the embedded SmolLM2's template and on the Llama-3 template
of bench/make_dummy_model.py, for a short chat (2 messages) and a longer one (8), on this machine's CPU:
median of 200 calls each, after 20 unmeasured ones.

    PYTHONPATH=.:bench python3 bench/results/cpu/chat_template_compile_s42.py
"""

import json
import statistics
import time
from functools import partial

from jinja2.sandbox import ImmutableSandboxedEnvironment
from make_dummy_model import CHAT_TEMPLATE as LLAMA3_TEMPLATE  # bench/ on the path

from swiftllm.controller.tokenizer import Tokenizer, compile_chat_template, raise_exception
from swiftllm.models.gguf_import import ensure_default_model


def compiled_per_call(template: str, messages: list[dict], special: dict) -> str:
    """The old render_chat: a new sandbox and a compile every call."""
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template).render(
        messages=messages, add_generation_prompt=True, **special
    )


def median_us(call: object, repeats: int = 200) -> float:
    for _ in range(20):
        call()  # type: ignore[operator]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    model = ensure_default_model()
    tokenizer = Tokenizer(model)
    smol_source = json.loads((model / "tokenizer_config.json").read_text())["chat_template"]
    chats = {
        "2 messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
    }
    chats["8 messages"] = chats["2 messages"] + [
        {"role": "assistant" if i % 2 == 0 else "user", "content": f"turn {i} " * 20}
        for i in range(6)
    ]
    print("template  chat        compiled per call (us)  compiled once (us)  ratio")
    for name, source in (("SmolLM2", smol_source), ("Llama-3", LLAMA3_TEMPLATE)):
        once = compile_chat_template(source)
        for chat_name, messages in chats.items():
            assert compiled_per_call(source, messages, tokenizer.special) == once.render(
                messages=messages, add_generation_prompt=True, **tokenizer.special
            )
            old = median_us(partial(compiled_per_call, source, messages, tokenizer.special))
            render = partial(
                once.render, messages=messages, add_generation_prompt=True, **tokenizer.special
            )
            new = median_us(render)
            print(f"{name:9} {chat_name:11} {old:22.0f}  {new:18.0f}  {old / new:5.1f}x")


if __name__ == "__main__":
    main()
