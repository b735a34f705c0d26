"""bench/prefix_cache.py's CPU-checkable parts: the shared-prompt workload, and the chat replay run with
caching off and on (a tiny random model) computing fewer prompt tokens with it on."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench_scripts import load_script

from swiftllm.llm import LLM

prefix_cache = load_script("prefix_cache")


def small_args(**overrides: int) -> argparse.Namespace:
    values = dict(
        shared_requests=5,
        system_len=40,
        tail_len=7,
        output_len=3,
        conversations=3,
        turns=3,
        first_len=20,
        user_len=5,
        vocab_size=128,
    )
    return argparse.Namespace(**{**values, **overrides})


def test_shared_prompts_share_the_system_prompt_only() -> None:
    prompts = prefix_cache.shared_prompts(small_args())
    assert [len(prompt) for prompt in prompts] == [47] * 5
    assert all(prompt[:40] == prompts[0][:40] for prompt in prompts)
    assert len({tuple(prompt[40:]) for prompt in prompts}) == 5
    assert prompts == prefix_cache.shared_prompts(small_args())  # seeded


def test_chat_replay_computes_fewer_prompt_tokens_with_caching(tiny_model_dir: Path) -> None:
    llm = LLM(str(tiny_model_dir), max_model_len=256, max_num_batched_tokens=64, num_gpu_blocks=64)
    args = small_args()
    off = prefix_cache.run_chat(llm, args, caching=False)
    on = prefix_cache.run_chat(llm, args, caching=True)
    # each turn re-sends the conversation: 20, then 20 + 3 + 5 = 28, then 36 tokens, three chats
    assert off["prompt_tokens"] == on["prompt_tokens"] == 3 * (20 + 28 + 36)
    assert off["prompt_tokens_computed"] == off["prompt_tokens"] and off["cache_hits"] == 0
    # turn 1 computes K/V for 20 + 2 tokens (the last answer token is never fed back), turn 2 for
    # 28 + 2: each of turns 2 and 3 finds one full block of 16 tokens cached
    assert on["cache_hits"] == 3 * (16 + 16)
    assert on["prompt_tokens_computed"] == on["prompt_tokens"] - on["cache_hits"]
    assert on["requests"] == off["requests"] == 9
