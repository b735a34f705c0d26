"""Offline batch generation with the in-process API (no server, no sockets).

.venv/bin/python examples/offline.py    # the embedded SmolLM2-135M-Instruct, on CPU or GPU (after scripts/setup.sh)
"""

from swiftllm import LLM, SamplingParams

llm = LLM()  # default: the embedded model, imported from its GGUF on first use
chats = [
    [{"role": "user", "content": q}]
    for q in ("What is the capital of France?", "Name a prime number.")
]
outputs = llm.generate(
    chats + ["The three laws of robotics are"],
    SamplingParams(max_tokens=48, temperature=0.7, top_p=0.9, seed=0),
)
for out in outputs:
    print(repr(out.text), out.finish_reason, f"({len(out.token_ids)} tokens)")
