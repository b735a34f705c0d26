"""LLM.generate end to end: SmolLM2 against HF transformers, seeds, stops, and bad input."""

from __future__ import annotations

import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import full_logits, rel_err

from swiftllm import llm as llm_module
from swiftllm.llm import LLM
from swiftllm.model_config import ModelError
from swiftllm.models.gguf_import import ensure_default_model
from swiftllm.sampling_params import SamplingParams

CHATS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "List three prime numbers.",
]
RAW = ["The quick brown fox", "def fibonacci(n):\n    ", "In 1492, Columbus"]


@pytest.fixture(scope="module")
def smol() -> Path:
    return ensure_default_model()


@pytest.fixture(scope="module")
def llm(smol: Path) -> LLM:
    return LLM(
        str(smol), max_model_len=1024, max_num_batched_tokens=64
    )  # small budget: prompts get chunked


@pytest.fixture(scope="module")
def hf(smol: Path) -> torch.nn.Module:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(smol, dtype=torch.float32).eval()


def prompts(llm: LLM) -> list[list[int]]:
    return [llm.encode([{"role": "user", "content": c}]) for c in CHATS] + [
        llm.encode(r) for r in RAW
    ]


def test_smollm2_logits_match_hf(llm: LLM, hf: torch.nn.Module) -> None:
    ids = prompts(llm)[0]
    with torch.no_grad():
        ref = hf(torch.tensor([ids])).logits[0]
    assert rel_err(full_logits(llm.runner, ids, list(range(8))), ref) < 1e-4


@pytest.mark.slow
def test_smollm2_greedy_matches_hf_generate(llm: LLM, hf: torch.nn.Module) -> None:
    ps = prompts(llm)
    outs = llm.generate(ps, SamplingParams(max_tokens=32, temperature=0, ignore_eos=True))
    for p, out in zip(ps, outs):
        with torch.no_grad():  # teacher-forced in one pass: HF's choice after each of our prefixes
            logits = hf(torch.tensor([p + out.token_ids])).logits[0, len(p) - 1 : -1]
        top2 = logits.topk(2, -1).values
        for step, token in enumerate(out.token_ids):
            if int(logits[step].argmax()) != token:
                assert float(top2[step, 0] - top2[step, 1]) < 1e-3, f"diverged at step {step}"
        assert len(out.token_ids) == 32 and out.finish_reason == "length"
    first = hf.generate(torch.tensor([ps[0]]), max_new_tokens=32, do_sample=False)[
        0, len(ps[0]) :
    ].tolist()
    assert (
        outs[0].token_ids[: len(first)] == first
    )  # HF's own generate, too (it may stop at EOS earlier)


def test_seeded_sampling_is_batch_independent(llm: LLM) -> None:
    ps = prompts(llm)
    params = SamplingParams(max_tokens=12, temperature=0.9, top_p=0.95, top_k=50, seed=1234)
    together = llm.generate(ps, params)
    alone = llm.generate([ps[2]], params)
    assert together[2].token_ids == alone[0].token_ids
    other = llm.generate(
        [ps[2]], SamplingParams(max_tokens=12, temperature=0.9, top_p=0.95, top_k=50, seed=99)
    )
    assert other[0].token_ids != alone[0].token_ids


@pytest.mark.slow
def test_a_seed_is_taken_modulo_2_to_the_64(llm: LLM) -> None:
    """Every bit of a seed below 2**64 counts (2**31 and 2**32 used to sample as 0); a negative seed is its
    value modulo 2**64, as the OpenAI API's int64 seeds would be in two's complement. Seeds outside
    [-2**63, 2**64) are refused, as REST refuses them."""

    def tokens(seed: int) -> list[int]:
        params = SamplingParams(max_tokens=16, temperature=1.0, seed=seed, ignore_eos=True)
        return llm.generate([prompts(llm)[0]], params)[0].token_ids

    zero = tokens(0)
    assert tokens(0) == zero
    assert tokens(2**31) != zero
    assert tokens(2**32) != zero
    assert tokens(-(2**63)) == tokens(2**63)  # the rules' extremes (REST's too): [-2**63, 2**64)
    assert tokens(-1) == tokens(2**64 - 1)
    with pytest.raises(ValueError, match=r"seed must be an integer in \[-2\*\*63, 2\*\*64\)"):
        SamplingParams(seed=2**64)


def test_stops_on_eos_and_stop_strings(llm: LLM) -> None:
    out = llm.generate(
        [[{"role": "user", "content": CHATS[0]}]], SamplingParams(max_tokens=64, temperature=0)
    )[0]
    assert (
        out.finish_reason == "stop" and out.token_ids[-1] in llm.runner.model_config.eos_token_ids
    )
    assert "Paris" in out.text and "<|im_end|>" not in out.text
    cut = llm.generate(
        [[{"role": "user", "content": CHATS[0]}]],
        SamplingParams(max_tokens=64, temperature=0, stop=["Paris"]),
    )[0]
    assert cut.finish_reason == "stop" and "Paris" not in cut.text and out.text.startswith(cut.text)


def test_a_stop_string_cuts_at_the_earliest_match_and_wins_over_max_tokens(llm: LLM) -> None:
    """Two stop strings completed by one token are cut at the earlier in the text whatever their order in the
    list, so the text kept holds neither (session 38: the list's first was taken, leaving the other in the
    text); and a stop string completed by the last token max_tokens allows finishes "stop", not "length"."""
    greedy = SamplingParams(max_tokens=12, temperature=0, ignore_eos=True)
    full = llm.generate(["Once upon a time"], greedy)[0]
    texts = [llm.tokenizer.decode(full.token_ids[: i + 1]) for i in range(len(full.token_ids))]
    # a token of at least 4 characters whose first and last two occur nowhere before it
    for i in range(1, len(texts)):
        start = len(texts[i - 1])
        piece = texts[i][start:]
        first, last = piece[:2], piece[-2:]
        if len(piece) >= 4 and first not in texts[i - 1] and last not in texts[i - 1] + piece[:-2]:
            break
    else:
        raise AssertionError(f"no token fits in {texts}")
    both = llm.generate(["Once upon a time"], replace(greedy, stop=[last, first]))[0]
    assert both.text == texts[i - 1] and both.finish_reason == "stop"
    at_the_limit = replace(greedy, max_tokens=i + 1, stop=[last])
    ended = llm.generate(["Once upon a time"], at_the_limit)[0]
    assert ended.text == texts[i][: start + len(piece) - 2] and ended.finish_reason == "stop"


def test_an_output_cut_inside_a_character_keeps_its_bytes(llm: LLM) -> None:
    """Session 45's probe: max_tokens that ended an output inside a multi-token character dropped that
    character's bytes from the text. Now the text is the decode of the output's tokens (U+FFFD for the
    unfinished character), at every cut; SmolLM2 writes each of these emoji in two or three tokens."""
    greedy = SamplingParams(max_tokens=6, temperature=0, ignore_eos=True)
    cut_inside = 0
    for max_tokens in range(1, 7):
        out = llm.generate(["Emoji party: 🎉🎉"], replace(greedy, max_tokens=max_tokens))[0]
        assert out.text == llm.tokenizer.decode(out.token_ids) and len(out.token_ids) == max_tokens
        cut_inside += out.text.endswith("\ufffd")
    assert cut_inside >= 3


def test_params_of_another_length_are_an_error_and_leave_nothing_queued(llm: LLM) -> None:
    """Session 41's fuzzing: three prompts with one SamplingParams in a list gave one output and no
    error (zip), and a prompt refused half-way left the ones before it queued for the next call. Session
    56: the error names the two lengths (zip's named neither)."""
    greedy = SamplingParams(max_tokens=2, temperature=0)
    with pytest.raises(ValueError, match="1 SamplingParams for 3 prompts"):
        llm.generate(RAW, [greedy])
    assert not llm.engine.has_work
    with pytest.raises(ValueError, match="prompt token ids"):
        llm.generate([[1, 2], [-1]], greedy)
    assert not llm.engine.has_work
    assert len(llm.generate(RAW, [greedy] * 3)) == 3


@pytest.mark.slow
def test_two_threads_generating_at_once_get_what_each_gets_alone(llm: LLM) -> None:
    """Session 42's fuzzing: two threads calling generate on one LLM both failed (IndexError, KeyError or a
    ProtocolError from the engine's state, every trial of 20). Now the second waits for the first."""
    greedy = SamplingParams(max_tokens=12, temperature=0, ignore_eos=True)
    prompts = {name: [RAW[index]] for index, name in enumerate(("a", "b"))}
    alone = {name: llm.generate(prompt, greedy)[0].token_ids for name, prompt in prompts.items()}
    together: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            together[name] = llm.generate(prompts[name], greedy)[0].token_ids
        except BaseException as error:
            errors.append(error)

    for _ in range(3):
        threads = [threading.Thread(target=run, args=(name,)) for name in prompts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert errors == [] and together == alone


def test_bad_input_gives_clear_errors(llm: LLM, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="context"):
        llm.generate([[1] * 2000], SamplingParams(max_tokens=4))
    with pytest.raises(ValueError, match="top_p"):
        SamplingParams(top_p=0)
    with pytest.raises(ModelError, match="does not exist"):
        LLM(str(tmp_path / "missing"))
    with pytest.raises(ModelError, match="no config.json"):
        LLM(str(tmp_path))
    (tmp_path / "config.json").write_text('{"architectures": ["GPT2LMHeadModel"]}')
    with pytest.raises(ModelError, match="GPT2LMHeadModel"):
        LLM(str(tmp_path))
    # a tuple or an array of ids reached the tokenizer, whose TypeError named its own input types
    for prompt in ((1, 2, 3), np.array([1, 2, 3])):
        with pytest.raises(
            TypeError, match="a prompt is a str, a list of token ids or of messages"
        ):
            llm.generate([prompt], SamplingParams(max_tokens=4))
    # session 47's probe: a dict or a set was iterated as prompts (vLLM's {"prompt_token_ids": ...} ran
    # the text "prompt_token_ids"), and None had no len()
    for prompts in ({"prompt_token_ids": [1, 2]}, {"a", "b"}, None, b"hi", 5):
        with pytest.raises(TypeError, match="prompts is a str or a list, not a"):
            llm.generate(prompts, SamplingParams(max_tokens=4))  # type: ignore[arg-type]
    assert len(llm.generate(("hi", [1, 2]), SamplingParams(max_tokens=2))) == 2
    # session 44's probe: each of these raised the tokenizer's TypeError or an AttributeError
    with pytest.raises(ValueError, match="a prompt must be UTF-8 text"):
        llm.generate(["a\ud800b"], SamplingParams(max_tokens=4))
    for params in ({"max_tokens": 4}, [SamplingParams(), None], (SamplingParams(), 4)):
        with pytest.raises(TypeError, match="sampling_params: a SamplingParams or a list of them"):
            llm.generate(["hi", "ho"], params)  # type: ignore[arg-type]
    # a tuple of params is taken as a tuple of prompts is (session 59 noted it was refused)
    with pytest.raises(ValueError, match="1 SamplingParams for 2 prompts"):
        llm.generate(["hi", "ho"], (SamplingParams(),))
    per_prompt = (SamplingParams(max_tokens=1), SamplingParams(max_tokens=3, ignore_eos=True))
    lengths = [len(out.token_ids) for out in llm.generate(["hi", "ho"], per_prompt)]
    assert lengths == [1, 3]
    assert not llm.engine.has_work
    # numpy's integers are token ids (they were taken for chat messages)
    greedy = SamplingParams(max_tokens=3, temperature=0)
    numpy_ids = llm.generate([list(np.array([1, 2, 3]))], greedy)
    assert numpy_ids[0].token_ids == llm.generate([[1, 2, 3]], greedy)[0].token_ids
    assert numpy_ids[0].prompt_token_ids == [1, 2, 3]
    # session 45's probe: bools were token ids 1 and 0, and chat messages were checked less than REST
    # checks them (a `wizard` role passed; a missing role and content parts gave jinja's errors)
    bad_chats = {
        "each message must be an object": [True, False],
        "role 'wizard' is not one of": [{"role": "wizard", "content": "hi"}],
        "needs a string role": [{"content": "hi"}],
        "only text content parts": [{"role": "user", "content": [{"type": "image_url"}]}],
        "one or more": [{"role": "user", "content": []}],
    }
    for message, chat in bad_chats.items():
        with pytest.raises(ValueError, match=message):
            llm.generate([chat], greedy)
    assert not llm.engine.has_work
    parts = [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    plain = [{"role": "user", "content": "Hi"}]
    assert llm.encode(parts) == llm.encode(plain)


def test_a_request_the_worker_refuses_says_why_on_its_output(tiny_model_dir: Path) -> None:
    """The output ended with finish_reason "error" and no message (session 42's third pass)."""
    llm = LLM(tiny_model_dir, max_num_batched_tokens=64, max_model_len=40, kv_cache_memory_gb=0.01)
    worker = llm.engine.worker
    receive = worker.recv_step

    refused: list[int] = []

    def refuse_the_first_sequence() -> object:
        result = receive()
        refused.append(refused[0] if refused else int(result.seq_ids[0]))
        if refused[0] in result.seq_ids.tolist():
            result.errors = {refused[0]: "top_p is 0 in float32"}
        return result

    worker.recv_step = refuse_the_first_sequence
    # ignore_eos: an unseeded draw of EOS would end the second "stop" (a flaky failure in session 56)
    outputs = llm.generate([[5, 6, 7], [8, 9]], SamplingParams(max_tokens=3, ignore_eos=True))
    assert outputs[0].finish_reason == "error"
    assert outputs[0].error == "the worker refused this request: top_p is 0 in float32"
    assert outputs[1].finish_reason == "length" and outputs[1].error is None


def test_engine_seed_repeats_unseeded_sampling(tiny_model_dir: Path) -> None:
    """`seed` seeds the seeds of requests that set none: the same engine seed, the same tokens; and a CPU
    engine pins its torch thread count and sets the process's GIL switch interval."""
    params = SamplingParams(max_tokens=8, temperature=1.0, ignore_eos=True)

    def sampled(seed: int) -> list[list[int]]:
        llm = LLM(
            str(tiny_model_dir),
            seed=seed,
            threads=1,
            kv_cache_memory_gb=0.01,
            gil_switch_interval=0.002,
        )
        assert torch.get_num_threads() == 1
        assert sys.getswitchinterval() == pytest.approx(0.002)
        return [out.token_ids for out in llm.generate([[1, 2, 3], [1, 2, 3]], params)]

    threads_before = torch.get_num_threads()
    switch_before = sys.getswitchinterval()
    try:
        first = sampled(3)
        assert first == sampled(3)
        assert first[0] != first[1]  # each request still draws its own seed
        assert first != sampled(4)
    finally:
        torch.set_num_threads(threads_before)  # the other tests run with their own
        sys.setswitchinterval(switch_before)


@pytest.fixture(scope="module")
def small_caches(smol: Path) -> dict[bool, LLM]:
    """Two engines whose KV cache (12 blocks of 16 tokens, 4 blocks of swap) is small enough to evict
    and preempt, with prefix caching on and off; prompts get chunked (32-token steps)."""
    return {
        caching: LLM(
            str(smol),
            num_gpu_blocks=12,
            swap_space_gb=0.003,
            max_model_len=192,
            max_num_batched_tokens=32,
            enable_prefix_caching=caching,
        )
        for caching in (True, False)
    }


def shared_prefix_prompts(llm: LLM) -> list[list[int]]:
    """Prompts sharing a chat prefix at varied lengths: a whole prompt again, one ending mid-block,
    one that is exactly two blocks, and a whole earlier prompt with more after it."""
    system = {"role": "system", "content": "You are a terse assistant. Answer in one short line."}
    chats = [llm.encode([system, {"role": "user", "content": chat}]) for chat in CHATS]
    return [
        chats[0],
        chats[1],
        chats[0],  # the whole prompt is cached: its last token is computed again
        chats[2][:37],  # ends mid-block
        chats[0][:32],  # two full blocks, all cached: the second one is computed again
        chats[1] + llm.encode(" and then?"),
        chats[2],
        llm.encode(RAW[0]),
    ]


@pytest.mark.slow
def test_prefix_caching_changes_no_output(small_caches: dict[bool, LLM]) -> None:
    prompts = shared_prefix_prompts(small_caches[True])
    for params in (
        SamplingParams(max_tokens=4, temperature=0, ignore_eos=True),
        SamplingParams(max_tokens=4, temperature=0.9, top_p=0.95, seed=7, ignore_eos=True),
    ):
        cached = small_caches[True].generate(prompts, params)
        uncached = small_caches[False].generate(prompts, params)
        assert [out.token_ids for out in cached] == [out.token_ids for out in uncached]
        assert all(out.num_cached_tokens == 0 for out in uncached)
        assert cached[2].num_cached_tokens == 16 * ((len(prompts[2]) - 1) // 16)
        assert cached[4].num_cached_tokens == 16
    scheduler = small_caches[True].engine.scheduler
    assert scheduler.counters["preemptions"] > 0, "the cache was meant to be too small"
    assert scheduler.counters["prefix_cache_hits"] > 0
    computed = scheduler.counters["prompt_tokens_computed"]
    assert computed < small_caches[False].engine.scheduler.counters["prompt_tokens_computed"]


def test_prefix_caching_with_aborts_mid_prefill(small_caches: dict[bool, LLM]) -> None:
    """Every other request is aborted one step after it came, if it is still prefilling then."""
    prompts = shared_prefix_prompts(small_caches[True])
    params = SamplingParams(max_tokens=4, temperature=0)
    outputs: dict[bool, list[list[int]]] = {}
    aborted: set[int] = set()
    for caching, llm in small_caches.items():
        engine = llm.engine
        seqs = []
        for index, prompt in enumerate(prompts):
            seqs.append(engine.add_request(prompt, params))
            engine.step()
            if index % 2 and seqs[-1].num_cached < len(prompt):
                engine.abort(seqs[-1])
                aborted.add(index)
        while engine.has_work:
            engine.step()
        outputs[caching] = [seq.output_ids for seq in seqs]
        gpu = engine.scheduler.block_manager.gpu
        assert gpu.refs == [0] * gpu.num_blocks and gpu.num_free == gpu.num_blocks
        assert set(gpu.evictable) == set(gpu.digest_by_block)
    assert len(aborted) >= 2
    for index in set(range(len(prompts))) - aborted:
        assert outputs[True][index] == outputs[False][index]


def generate_within(llm: LLM, prompts: list[list[int]], params: SamplingParams) -> list[list[int]]:
    """llm.generate's token ids, or a failure if it has not returned within a minute (a thread: a generate
    that spins forever must fail this test, not hang it)."""
    outputs: list[list[int]] = []
    thread = threading.Thread(
        target=lambda: outputs.extend(out.token_ids for out in llm.generate(prompts, params)),
        daemon=True,
    )
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "generate did not return"
    return outputs


@pytest.mark.parametrize("failure", ["interrupted while waiting", "a step fails in the worker"])
def test_a_generate_that_raises_leaves_the_llm_serving(
    tiny_model_dir: Path, failure: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C in a notebook (KeyboardInterrupt while the engine waits for a step, its reply then lost), or a
    step that fails in the worker (a CUDA out-of-memory): generate raises it, and the next generate runs as
    on a fresh LLM with every block free. Before session 37 the sequences of the step never read back kept
    placeholders for tokens that never came, and the next generate spun forever."""
    llm = LLM(str(tiny_model_dir), kv_cache_memory_gb=0.01, max_num_batched_tokens=16)
    params = SamplingParams(max_tokens=12, ignore_eos=True, temperature=0)
    prompts = [[1, 2, 3], [4, 5, 6, 7]]
    expected = generate_within(llm, prompts, params)
    worker = llm.engine.worker
    calls = {"recv": 0, "launch": 0}
    real_recv = worker.recv_step
    real_launch = llm.runner.launch

    def recv_then_interrupt() -> object:
        calls["recv"] += 1
        result = real_recv()
        if calls["recv"] == 3:
            raise KeyboardInterrupt
        return result

    def launch_then_fail(cmd: object) -> object:
        calls["launch"] += 1
        if calls["launch"] == 3:
            raise torch.cuda.OutOfMemoryError("injected")
        return real_launch(cmd)

    expected_error: type[BaseException] = KeyboardInterrupt
    if failure == "interrupted while waiting":
        monkeypatch.setattr(worker, "recv_step", recv_then_interrupt)
    else:
        monkeypatch.setattr(llm.runner, "launch", launch_then_fail)
        expected_error = torch.cuda.OutOfMemoryError
    with pytest.raises(expected_error):
        llm.generate([[9, 9, 9, 9, 9, 9, 9]] * 3, params)
    assert max(calls.values()) >= 3  # the failure did happen mid-generate
    monkeypatch.undo()
    pool = llm.engine.scheduler.block_manager.gpu
    assert pool.num_free == pool.num_blocks
    assert generate_within(llm, prompts, params) == expected


class InterruptedWhileHeld:
    """A lock that receives a SIGINT once it is held, on its `interrupt_at`-th acquire: where one in ~3,000 of
    session 56's random Ctrl-Cs landed (Python's own handler raises there, and the lock stays held). An acquire
    gives up after 5 s with an AssertionError, so that a lock left held fails the test instead of hanging it."""

    def __init__(self, interrupt_at: int) -> None:
        self.lock = threading.Lock()
        self.acquires = 0
        self.interrupt_at = interrupt_at

    def __enter__(self) -> None:
        assert self.lock.acquire(timeout=5), "waiting forever on a lock an interrupt left held"
        self.acquires += 1
        if self.acquires == self.interrupt_at:
            signal.raise_signal(signal.SIGINT)

    def __exit__(self, *exc_info: object) -> None:
        self.lock.release()


def test_ctrl_c_anywhere_in_generate_leaves_the_llm_serving(tiny_model_dir: Path) -> None:
    """A Ctrl-C in each of generate's calls into its ThreadPoolExecutor (every step's send and read) while the
    executor holds its lock: generate raises KeyboardInterrupt, and the next call returns what a fresh LLM
    returns. Before session 58 the first one left the lock held and every later call waited on it forever."""
    llm = LLM(str(tiny_model_dir), kv_cache_memory_gb=0.01, max_num_batched_tokens=16)
    params = SamplingParams(max_tokens=12, ignore_eos=True, temperature=0)
    prompts = [[1, 2, 3], [4, 5, 6, 7]]
    executor = llm.engine.worker.thread
    executor._shutdown_lock = counting = InterruptedWhileHeld(interrupt_at=0)
    expected = [out.token_ids for out in llm.generate(prompts, params)]
    assert counting.acquires > 20  # a send and a read a step
    for interrupt_at in range(1, counting.acquires + 1):
        executor._shutdown_lock = InterruptedWhileHeld(interrupt_at)
        with pytest.raises(KeyboardInterrupt):
            llm.generate(prompts, params)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        pool = llm.engine.scheduler.block_manager.gpu
        assert not llm.engine.has_work and pool.num_free == pool.num_blocks
        assert [out.token_ids for out in llm.generate(prompts, params)] == expected


def test_a_ctrl_c_after_the_last_step_is_not_lost(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C during the last step, or while the outputs are built (after the loop's last check), still
    raises KeyboardInterrupt: the review of session 58's fix found the second one returned normally, the
    interrupt swallowed."""
    llm = LLM(str(tiny_model_dir), kv_cache_memory_gb=0.01, max_num_batched_tokens=16)
    params = SamplingParams(max_tokens=4, ignore_eos=True, temperature=0)
    expected = [out.token_ids for out in llm.generate([[1, 2, 3]], params)]
    make_output = llm_module.RequestOutput
    interrupts: list[str] = []

    def output_interrupted(**fields: object) -> object:
        if not interrupts:
            interrupts.append("while building the outputs")
            signal.raise_signal(signal.SIGINT)
        return make_output(**fields)

    monkeypatch.setattr(llm_module, "RequestOutput", output_interrupted)
    with pytest.raises(KeyboardInterrupt):
        llm.generate([[1, 2, 3]], params)
    assert interrupts == ["while building the outputs"]
    monkeypatch.setattr(llm_module, "RequestOutput", make_output)
    step = llm.engine.step

    def last_step_interrupted() -> object:
        finished = step()
        if finished and all(seq.finished for seq in finished):
            signal.raise_signal(signal.SIGINT)  # the step that ended the last sequence
        return finished

    monkeypatch.setattr(llm.engine, "step", last_step_interrupted)
    with pytest.raises(KeyboardInterrupt):
        llm.generate([[1, 2, 3]], params)
    monkeypatch.setattr(llm.engine, "step", step)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert [out.token_ids for out in llm.generate([[1, 2, 3]], params)] == expected


def test_a_second_ctrl_c_raises_at_once_and_a_handler_of_the_program_is_kept(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first Ctrl-C waits for the step to end; a second one does not (a step may hang). A SIGINT handler
    the program set is left in place and called, and generate then runs to the end."""
    llm = LLM(str(tiny_model_dir), kv_cache_memory_gb=0.01, max_num_batched_tokens=16)
    params = SamplingParams(max_tokens=12, ignore_eos=True, temperature=0)
    expected = [out.token_ids for out in llm.generate([[1, 2, 3]], params)]
    receive = llm.engine.worker.recv_step
    reached: list[str] = []

    def interrupted_twice() -> object:
        if not reached:
            signal.raise_signal(signal.SIGINT)
            reached.append("after the first")
            signal.raise_signal(signal.SIGINT)
            reached.append("after the second")
        return receive()

    monkeypatch.setattr(llm.engine.worker, "recv_step", interrupted_twice)
    with pytest.raises(KeyboardInterrupt):
        llm.generate([[1, 2, 3]], params)
    assert reached == ["after the first"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    reached.clear()
    handled: list[int] = []

    def handler(signum: int, frame: object) -> None:
        handled.append(signum)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        outputs = llm.generate([[1, 2, 3]], params)
        assert signal.getsignal(signal.SIGINT) is handler
    finally:
        signal.signal(signal.SIGINT, previous)
    assert handled == [signal.SIGINT] * 2 and [out.token_ids for out in outputs] == expected


def test_stop_strings_without_a_tokenizer_are_refused(tiny_model_dir: Path) -> None:
    """Session 56's hunt: on a model without tokenizer.json, stop strings were taken and never matched (there
    is no text). The request is not queued; stop token ids still work."""
    llm = LLM(tiny_model_dir, max_model_len=40, kv_cache_memory_gb=0.01)
    with pytest.raises(ValueError, match="stop strings need the model's tokenizer.json"):
        llm.generate([[5, 6]], SamplingParams(max_tokens=2, stop=["x"]))
    assert not llm.engine.has_work
    # stop token ids need no text
    params = SamplingParams(max_tokens=2, stop_token_ids=[3], ignore_eos=True)
    assert len(llm.generate([[5, 6]], params)[0].token_ids) in (1, 2)


def test_a_text_prompt_without_a_tokenizer_is_refused(tiny_model_dir: Path) -> None:
    """Without tokenizer.json a text or chat prompt cannot be encoded: a ModelError asks for token ids."""
    llm = LLM(tiny_model_dir, max_model_len=40, kv_cache_memory_gb=0.01)
    with pytest.raises(ModelError, match="this model has no tokenizer.json: pass token ids"):
        llm.generate(["hello"], SamplingParams(max_tokens=2))
    with pytest.raises(ModelError, match="this model has no tokenizer.json"):
        llm.encode([{"role": "user", "content": "hello"}])
    assert not llm.engine.has_work


def test_generate_takes_its_params_under_vllm_s_keyword(tiny_model_dir: Path) -> None:
    """Session 66's porting probe: `generate(prompts, sampling_params=...)`, vLLM's spelling, was a
    TypeError (the keyword was `params`)."""
    llm = LLM(tiny_model_dir, max_model_len=40, kv_cache_memory_gb=0.01)
    greedy = SamplingParams(max_tokens=4, temperature=0)
    by_keyword = llm.generate([[1, 2, 3]], sampling_params=greedy)[0]
    assert by_keyword.token_ids == llm.generate([[1, 2, 3]], greedy)[0].token_ids
    assert len(by_keyword.token_ids) == 4


def test_chat_takes_one_conversation_or_a_list_as_vllm_s(llm: LLM) -> None:
    """`llm.chat`, vLLM's call for chat (an AttributeError until session 67): one conversation gives one
    output, a list of conversations one each, the same tokens as generate gives them."""
    greedy = SamplingParams(max_tokens=4, temperature=0)
    conversation = [{"role": "user", "content": CHATS[0]}]
    other = [{"role": "user", "content": CHATS[1]}]
    expected = [out.token_ids for out in llm.generate([conversation, other], greedy)]
    one = llm.chat(conversation, greedy)
    assert [out.token_ids for out in one] == expected[:1]
    assert one[0].prompt_token_ids == llm.encode(conversation)
    both = llm.chat([conversation, other], sampling_params=greedy)
    assert [out.token_ids for out in both] == expected
    assert len(expected[1]) == 4
    with pytest.raises(ValueError, match="role 'wizard' is not one of"):
        llm.chat([{"role": "wizard", "content": "hi"}], greedy)
    for not_messages in ("hi", {"role": "user", "content": "hi"}):
        with pytest.raises(TypeError, match="messages is a list of messages or of conversations"):
            llm.chat(not_messages, greedy)  # type: ignore[arg-type]
    assert not llm.engine.has_work
