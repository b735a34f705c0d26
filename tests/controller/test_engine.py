"""Engine.postprocess: one sequence's bad data fails that sequence alone; the engine and the other
sequences go on, and its blocks are freed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from swiftllm.controller.sequence import Sequence
from swiftllm.llm import LLM
from swiftllm.models.gguf_import import ensure_default_model
from swiftllm.protocol.step import StepCommand, StepResult
from swiftllm.sampling_params import SamplingParams

GREEDY = SamplingParams(max_tokens=4, temperature=0.0)


@pytest.fixture(scope="module")
def llm() -> Iterator[LLM]:
    yield LLM(ensure_default_model(), kv_cache_memory_gb=0.05)


def run(llm: LLM, prompts: list[str], params: list[SamplingParams]) -> list[Sequence]:
    engine = llm.engine
    seqs = [engine.add_request(llm.encode(prompt), p) for prompt, p in zip(prompts, params)]
    while engine.has_work:
        engine.step()
    blocks = engine.scheduler.block_manager.gpu
    assert blocks.num_free == blocks.num_blocks
    return seqs


def test_logprobs_without_top_candidates(llm: LLM) -> None:
    """logprobs=0 (the chosen token's only) used to raise IndexError and end the engine loop."""
    with_logprobs = SamplingParams(max_tokens=4, temperature=0.0, logprobs=0)
    seqs = run(llm, ["Hello", "Paris is"], [with_logprobs, GREEDY])
    assert [seq.finish_reason for seq in seqs] == ["length", "length"]
    assert len(seqs[0].logprobs) == 4 and all(entry.top == [] for entry in seqs[0].logprobs)


def test_a_value_the_worker_refuses_fails_that_request_alone(llm: LLM) -> None:
    """top_p 1e-300 is 0 in float32: the worker refuses that sequence. SamplingParams refuses it too since
    session 42, so it is set past the check here, in the admitted sequence's params, as a bug could."""
    engine = llm.engine
    refused = engine.add_request(llm.encode("Hello"), SamplingParams(max_tokens=4, temperature=1.0))
    object.__setattr__(refused.params, "top_p", 1e-300)
    fine = engine.add_request(llm.encode("Paris is"), GREEDY)
    while engine.has_work:
        engine.step()
    assert refused.finish_reason == "error" and "top_p" in refused.error
    assert fine.finish_reason == "length" and fine.num_outputs == 4
    blocks = engine.scheduler.block_manager.gpu
    assert blocks.num_free == blocks.num_blocks


def test_an_exception_while_postprocessing_fails_that_sequence_alone(llm: LLM) -> None:
    engine = llm.engine
    broken = engine.add_request(llm.encode("Hello"), GREEDY)
    fine = engine.add_request(llm.encode("Paris is"), GREEDY)

    def explode(token: int, last: bool) -> str:
        raise RuntimeError("detokenizer bug")

    broken.detokenizer.add = explode
    while engine.has_work:
        engine.step()
    assert broken.finish_reason == "error" and "detokenizer bug" in broken.error
    assert fine.finish_reason == "length" and fine.text
    blocks = engine.scheduler.block_manager.gpu
    assert blocks.num_free == blocks.num_blocks


class RecordingWorker:
    """The engine's worker, with the token count of every step sent to it kept; `refuse`: it reports an
    error for every sequence of every step, as a worker that refused their values does."""

    def __init__(self, worker: object, refuse: bool = False) -> None:
        self.worker = worker
        self.refuse = refuse
        self.step_tokens: list[int] = []
        self.commands: list[StepCommand] = []

    def send_step(self, cmd: StepCommand) -> object:
        self.step_tokens.append(cmd.num_tokens)
        self.commands.append(cmd)
        return self.worker.send_step(cmd)

    def recv_step(self) -> StepResult:
        result = self.worker.recv_step()
        if self.refuse:
            result.errors = dict.fromkeys(result.seq_ids.tolist(), "bad values")
        return result


def test_warm_up_fills_one_step_then_leaves_nothing_behind(tiny_model_dir: Path) -> None:
    """warm_up prefills the token budget in one step (prompts capped by the context), decodes once, and
    leaves no sequence, no held block and zeroed counters; what is served next is what a cold engine
    serves."""
    options = {"max_num_batched_tokens": 64, "max_model_len": 40, "kv_cache_memory_gb": 0.01}
    prompt = list(range(5, 25))
    cold = LLM(tiny_model_dir, **options)
    expected = run(cold, [prompt], [GREEDY])[0].output_ids
    warm = LLM(tiny_model_dir, **options)
    recorder = RecordingWorker(warm.engine.worker)
    warm.engine.worker = recorder
    warm.engine.warm_up()
    # three prompts of 21 tokens (64 // 3, below the context) fill the budget in one step, then decode
    assert recorder.step_tokens == [63, 3]
    # every step samples each way the worker can: greedy, temperature alone (the GPU's inverse-CDF kernel),
    # and top-p with a penalty (the sorted torch path)
    for cmd in recorder.commands:
        assert sorted(cmd.temperature.tolist()) == [0.0, 1.0, 1.0]
        assert sorted(cmd.top_p.tolist()) == pytest.approx([0.9, 1.0, 1.0])
        assert sorted(cmd.presence_penalty.tolist()) == pytest.approx([0.0, 0.0, 0.5])
    scheduler = warm.engine.scheduler
    assert not scheduler.running and not scheduler.waiting and not warm.engine.in_flight
    assert set(scheduler.counters.values()) == {0} and not warm.engine.worker_ms
    assert run(warm, [prompt], [GREEDY])[0].output_ids == expected


def test_warm_up_raises_when_the_worker_fails_its_requests(tiny_model_dir: Path) -> None:
    llm = LLM(tiny_model_dir, max_num_batched_tokens=64, max_model_len=40, kv_cache_memory_gb=0.01)
    llm.engine.worker = RecordingWorker(llm.engine.worker, refuse=True)
    with pytest.raises(RuntimeError, match="warm-up step failed .*bad values"):
        llm.engine.warm_up()
    assert not llm.engine.scheduler.running and not llm.engine.in_flight


def test_a_stop_token_after_part_of_a_character_keeps_its_bytes(llm: LLM) -> None:
    """Session 47's probe: an EOS or stop token id right after part of a character dropped those bytes
    from the text (the flush ran only on a token that is text). Now the text is the whole decode of the
    tokens before the stop token, its unfinished character as U+FFFD."""
    prompt = "Emoji party: 🎉🎉"
    free = run(llm, [prompt], [SamplingParams(max_tokens=12, temperature=0.0)])[0]
    ids = free.output_ids
    decode = llm.engine.tokenizer.decode
    # a token that first comes right after a cut inside a character: as a stop token it ends the output there
    cuts = [i for i in range(1, len(ids)) if decode(ids[:i]).endswith("\ufffd")]
    cuts = [i for i in cuts if ids[i] not in ids[:i]]
    assert cuts, ids
    for cut in cuts:
        params = SamplingParams(max_tokens=12, temperature=0.0, stop_token_ids=[ids[cut]])
        stopped = run(llm, [prompt], [params])[0]
        assert stopped.finish_reason == "stop"
        assert stopped.text == decode(ids[:cut])
        # each offset where its token's text begins; the stop token's at the text's end
        expected = [len(decode(ids[:i]).rstrip("\ufffd")) for i in range(cut)]
        assert stopped.text_offsets == expected + [len(stopped.text)]
        # a stop string matches the flushed character too (session 48's probe: it was not looked for)
        params = SamplingParams(
            max_tokens=12, temperature=0.0, stop_token_ids=[ids[cut]], stop="\ufffd"
        )
        cut_again = run(llm, [prompt], [params])[0]
        assert cut_again.text == stopped.text[: stopped.text.index("\ufffd")]


def test_offsets_after_a_stop_string_lie_within_the_kept_text(llm: LLM) -> None:
    """Session 47's probe: after a stop string's cut, the tokens that spelled it kept offsets past the
    kept text's end."""
    free = run(llm, ["The capital of France is"], [SamplingParams(max_tokens=8, temperature=0.0)])[
        0
    ]
    # a stop string that begins inside the text of some token after the first, and runs over the next
    stop = free.text[free.text_offsets[2] + 1 : free.text_offsets[4] + 1]
    params = SamplingParams(max_tokens=8, temperature=0.0, stop=[stop])
    cut = run(llm, ["The capital of France is"], [params])[0]
    assert cut.finish_reason == "stop" and cut.text == free.text[: free.text.find(stop)]
    assert len(cut.text_offsets) == 5
    assert cut.text_offsets == [min(offset, len(cut.text)) for offset in free.text_offsets[:5]]
    assert cut.text_offsets[-1] == len(cut.text) < free.text_offsets[4]


def test_add_request_refuses_a_token_id_outside_the_vocabulary_anywhere_in_the_prompt(
    llm: LLM,
) -> None:
    """The range check (the prompt's min and max): an id below 0 or at or above vocab_size is refused at the
    start, the middle or the end of a prompt, and nothing refused is queued; both ends of the vocabulary
    pass."""
    engine = llm.engine
    vocab_size = engine.model_config.vocab_size
    for bad in (-1, -(2**40), vocab_size, vocab_size + 7, 2**40):
        for prompt in ([bad, 5, 6], [5, bad, 6], [5, 6, bad], [bad]):
            with pytest.raises(
                ValueError, match=rf"prompt token ids must be in \[0, {vocab_size}\)"
            ):
                engine.add_request(prompt, GREEDY)
    assert not engine.has_work
    edge = engine.add_request([0, vocab_size - 1], GREEDY)  # both ends of the vocabulary are ids
    while engine.has_work:
        engine.step()
    assert edge.finish_reason == "length" and edge.num_outputs == 4


def test_after_reset_the_prefix_cache_serves_no_block_a_step_never_filled() -> None:
    """An interrupt between schedule and send (Ctrl-C in LLM.generate) left the blocks of a swap-in
    that never ran indexed in the prefix cache: a later prompt sharing that prefix read stale K/V."""
    from test_scheduler import CFG, CacheReadingWorker

    from swiftllm.controller.engine import Engine
    from swiftllm.controller.scheduler import SchedulerConfig
    from swiftllm.controller.sequence import Status
    from swiftllm.worker.in_process import InProcessWorker

    def make(num_gpu: int, num_cpu: int) -> Engine:
        config = SchedulerConfig(256, num_gpu, num_cpu, 16, 16, 64, True, 1, "fcfs")
        return Engine(InProcessWorker(CacheReadingWorker(num_gpu, num_cpu, 256)), CFG, None, config)

    engine = make(12, 16)
    params = SamplingParams(max_tokens=40, temperature=0, ignore_eos=True)
    for i in range(6):
        engine.add_request([(7 * i + j) % 97 + 1 for j in range(29)], params)
    send = engine.worker.send_step

    def interrupted_before_a_swap_in(cmd: StepCommand) -> None:
        if len(cmd.swap_in):
            raise KeyboardInterrupt
        send(cmd)

    engine.worker.send_step = interrupted_before_a_swap_in
    with pytest.raises(KeyboardInterrupt):
        while engine.has_work:
            swapped = list(engine.scheduler.swapped)
            engine.step()
    # swapped in by the step never sent
    back = next(seq for seq in swapped if seq.status is not Status.SWAPPED)
    engine.reset()
    engine.worker.send_step = send
    prompt = back.token_ids[:32] + [3, 4, 5]
    outputs = []
    for fresh in (engine, make(64, 0)):
        seq = fresh.add_request(prompt, SamplingParams(max_tokens=10, temperature=0))
        while fresh.has_work:
            fresh.step()
        outputs.append(seq.output_ids)
    assert outputs[0] == outputs[1]


def test_a_reset_with_nothing_scheduled_keeps_the_prefix_cache() -> None:
    """LLM.generate resets the engine when add_request refuses a prompt (too long, an id out of range);
    nothing was scheduled, so nothing stale can be indexed: the prefixes cached by earlier calls stay."""
    from test_scheduler import CFG, CacheReadingWorker

    from swiftllm.controller.engine import Engine
    from swiftllm.controller.scheduler import SchedulerConfig
    from swiftllm.worker.in_process import InProcessWorker

    config = SchedulerConfig(256, 12, 0, 16, 16, 64, True, 1, "fcfs")
    engine = Engine(InProcessWorker(CacheReadingWorker(12, 0, 256)), CFG, None, config)
    params = SamplingParams(max_tokens=2, temperature=0, ignore_eos=True)
    prompt = [(5 * j) % 97 + 1 for j in range(40)]
    engine.add_request(prompt, params)
    while engine.has_work:
        engine.step()
    engine.add_request(prompt[:20], params)  # queued, never scheduled: a prompt refused after it
    engine.reset()
    again = engine.add_request(prompt, params)
    while engine.has_work:
        engine.step()
    assert again.num_prompt_cache_hits == 32  # two full blocks of 16


def packed(values: list[int]) -> bytes:
    return np.asarray(values, "<i4").tobytes()


# a worker's step reply (as its fields on the wire) changed into one that does not answer the step: each hung
# the engine (a sequence waiting forever for its token), raised a bare KeyError or IndexError from
# fill_sampled_tokens, or streamed a token outside the vocabulary to the client
BAD_REPLIES: dict[str, Callable[[dict[str, Any]], None]] = {
    "a row missing": lambda f: f.update(seq_ids=f["seq_ids"][4:], tokens=f["tokens"][4:]),
    "a token missing": lambda f: f.update(tokens=f["tokens"][4:]),
    "no rows": lambda f: f.update(seq_ids=b"", tokens=b""),
    "no fields": lambda f: f.clear(),
    "a token too many": lambda f: f.update(tokens=f["tokens"] + packed([5])),
    "a seq id not in the step": lambda f: f.update(seq_ids=packed([999]) + f["seq_ids"][4:]),
    "a seq id twice": lambda f: f.update(seq_ids=f["seq_ids"][:4] * 3),
    "rows out of order": lambda f: f.update(seq_ids=f["seq_ids"][4:] + f["seq_ids"][:4]),
    "a negative token": lambda f: f.update(tokens=packed([-7]) + f["tokens"][4:]),
    "token -1": lambda f: f.update(tokens=packed([-1]) + f["tokens"][4:]),
    "a token = vocab_size": lambda f: f.update(tokens=packed([100]) + f["tokens"][4:]),
    "a huge token": lambda f: f.update(tokens=packed([2**31 - 1]) + f["tokens"][4:]),
}


@pytest.mark.parametrize("name", BAD_REPLIES)
def test_a_step_reply_that_does_not_answer_the_step_is_a_worker_error(name: str) -> None:
    from test_scheduler import CFG, FakeWorker

    from swiftllm.controller.engine import Engine
    from swiftllm.controller.scheduler import SchedulerConfig
    from swiftllm.controller.worker_client import WorkerError
    from swiftllm.protocol import codec
    from swiftllm.worker.in_process import InProcessWorker

    class BadReplies(InProcessWorker):
        """The reply to the second step goes over the wire changed (the first is every prompt's prefill)."""

        replies = 0

        def recv_step(self) -> StepResult:
            fields = codec.result_fields(super().recv_step())
            self.replies += 1
            if self.replies == 2:
                BAD_REPLIES[name](fields)
            return codec.decode_result(codec.decode_reply(codec.encode_reply(1, **fields)))

    config = SchedulerConfig(256, 12, 0, 16, 16, 64, True, 1, "fcfs")
    engine = Engine(BadReplies(FakeWorker(12, 0, 256)), CFG, None, config)
    params = SamplingParams(max_tokens=8, temperature=0, ignore_eos=True)
    seqs = [engine.add_request([i + 1] * 5, params) for i in range(3)]
    with pytest.raises(WorkerError, match="expected|not one in") as error:
        for _ in range(50):  # the whole run is 9 steps
            engine.step()
    assert error.value.type == "InvalidReply"
    assert all(0 <= token < CFG.vocab_size for seq in seqs for token in seq.output_ids)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("where", ["chosen", "top"])
def test_a_logprob_that_is_not_finite_fails_its_request_alone(bad: float, where: str) -> None:
    """A NaN logprob (a broken model) reached the REST response as a bare NaN, which JSON has not: strict
    parsers refused the whole body. Now that request fails with a message; the others and the engine go on."""
    from test_scheduler import CFG, FakeWorker

    from swiftllm.controller.engine import Engine
    from swiftllm.controller.scheduler import SchedulerConfig
    from swiftllm.worker.in_process import InProcessWorker

    class BadLogprobs(FakeWorker):
        """Logprobs -0.5 for every row, top ones too; `bad` in the first request's from its third token."""

        def launch(self, cmd: StepCommand) -> StepResult:
            result = super().launch(cmd)
            rows = len(result.seq_ids)
            logprobs = np.full(rows, -0.5, np.float32)
            top_logprobs = np.full((rows, 2), -0.5, np.float32)
            if len(self.steps) >= 3:
                victim = result.seq_ids == seqs[0].seq_id
                if where == "chosen":
                    logprobs[victim] = bad
                else:
                    top_logprobs[victim, 1] = bad
            top_ids = np.ones((rows, 2), np.int32)
            return StepResult(result.seq_ids, result.tokens, logprobs, top_ids, top_logprobs)

    config = SchedulerConfig(256, 12, 0, 16, 16, 64, True, 1, "fcfs")
    engine = Engine(InProcessWorker(BadLogprobs(12, 0, 256)), CFG, None, config)
    params = SamplingParams(max_tokens=8, temperature=0, ignore_eos=True, logprobs=2)
    seqs = [engine.add_request([i + 1] * 5, params) for i in range(3)]
    while engine.has_work:
        engine.step()
    assert seqs[0].finish_reason == "error" and "logprobs are not finite" in seqs[0].error
    for seq in seqs[1:]:
        assert seq.finish_reason == "length" and len(seq.logprobs) == 8
        assert all(entry.logprob == -0.5 and len(entry.top) == 2 for entry in seq.logprobs)
    again = engine.add_request(
        [7] * 5, SamplingParams(max_tokens=3, temperature=0, ignore_eos=True)
    )
    while engine.has_work:
        engine.step()
    assert again.finish_reason == "length" and again.num_outputs == 3
    assert engine.scheduler.block_manager.gpu.num_free == 12


@pytest.mark.parametrize("short", ["logprobs", "top_ids", "top_logprobs", "tops", "none", "narrow"])
def test_logprob_arrays_short_of_the_rows_are_a_worker_error(short: str) -> None:
    """A reply whose logprobs (or top ones) stop short of its sampled rows failed the rows past the end with a
    bare IndexError message, and one with none, or with fewer top entries than asked, left its requests
    without them, silently; now each is an InvalidReply, as a reply short of tokens is."""
    from test_scheduler import CFG, FakeWorker

    from swiftllm.controller.engine import Engine
    from swiftllm.controller.scheduler import SchedulerConfig
    from swiftllm.controller.worker_client import WorkerError
    from swiftllm.worker.in_process import InProcessWorker

    class ShortLogprobs(FakeWorker):
        """Logprobs and two top ones for every row; from the third step, the `short` ones lack the last."""

        def launch(self, cmd: StepCommand) -> StepResult:
            result = super().launch(cmd)
            rows = len(result.seq_ids)
            arrays = {
                "logprobs": np.full(rows, -0.5, np.float32),
                "top_ids": np.ones((rows, 2), np.int32),
                "top_logprobs": np.full((rows, 2), -0.5, np.float32),
            }
            if len(self.steps) >= 3 and short == "none":
                arrays = {}
            elif len(self.steps) >= 3 and short == "narrow":
                arrays = {
                    name: array[:, :1] for name, array in arrays.items() if name != "logprobs"
                }
                arrays["logprobs"] = np.full(rows, -0.5, np.float32)
            elif len(self.steps) >= 3:
                for name in ("top_ids", "top_logprobs") if short == "tops" else (short,):
                    arrays[name] = arrays[name][:-1]
            return StepResult(result.seq_ids, result.tokens, **arrays)

    config = SchedulerConfig(256, 12, 0, 16, 16, 64, True, 1, "fcfs")
    engine = Engine(InProcessWorker(ShortLogprobs(12, 0, 256)), CFG, None, config)
    params = SamplingParams(max_tokens=8, temperature=0, ignore_eos=True, logprobs=2)
    seqs = [engine.add_request([i + 1] * 5, params) for i in range(3)]
    with pytest.raises(
        WorkerError, match=r"logprob arrays of shapes .*, tops not \(3, 2\)"
    ) as error:
        for _ in range(50):  # the whole run is 9 steps
            engine.step()
    assert error.value.type == "InvalidReply"
    assert all(seq.error is None for seq in seqs)


def test_warm_up_with_more_prompts_than_the_vocabulary_has_tokens(tiny_model_dir: Path) -> None:
    """Session 65's hunt: prompt i of token i, and a context of 4 capping each prompt at 2 tokens, made a
    budget of 512 into 256 prompts, past the tiny model's 128 tokens: add_request refused token 128 and the
    warm-up raised with prompts left queued. Now the tokens wrap, and the warm-up fills its step as before."""
    llm = LLM(tiny_model_dir, max_model_len=4, max_num_batched_tokens=512, kv_cache_memory_gb=0.01)
    assert llm.engine.model_config.vocab_size < 512 // 2
    recorder = RecordingWorker(llm.engine.worker)
    llm.engine.worker = recorder
    llm.engine.warm_up()
    assert recorder.step_tokens[0] == 512 and not llm.engine.has_work
    assert (
        max(max(cmd.token_ids.tolist()) for cmd in recorder.commands)
        < llm.engine.model_config.vocab_size
    )


def test_warm_up_steps_nothing_when_the_context_has_no_room_for_a_prompt(
    tiny_model_dir: Path,
) -> None:
    """max_model_len 2 leaves no room for a prompt and its token: warm_up returns without a step."""
    llm = LLM(tiny_model_dir, max_model_len=2, kv_cache_memory_gb=0.01)
    recorder = RecordingWorker(llm.engine.worker)
    llm.engine.worker = recorder
    llm.engine.warm_up()
    assert recorder.step_tokens == [] and not llm.engine.has_work
