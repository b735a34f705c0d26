"""The engine loop: schedule, send the step to the worker, read the previous step's tokens, stream
text out.

One step stays in flight ahead: step N+1 is scheduled and sent (its decodes name token -1, "what you
just sampled") before step N's tokens are read, so the worker never waits for the controller's
bookkeeping. `worker` is anything with send_step/recv_step: a WorkerClient over ZeroMQ, or an
InProcessWorker.

A request's life, all in `Engine.step`: add_request queues it (WAITING); schedule admits it and
gives it prefill chunks, then one decode token per step (RUNNING; maybe SWAPPED, or recomputed, on
the way); each step goes out as a StepCommand; the step before is read back and postprocessed: its
sampled tokens fill their placeholders, stop conditions end the sequence (FINISHED), and the new
text is detokenized."""

import contextlib
import itertools
import logging
import math
import random
import time
from collections import Counter, deque
from typing import Protocol

from swiftllm.controller.scheduler import Batch, SchedulerConfig, scheduler_class
from swiftllm.controller.sequence import Sequence, TokenLogprobs
from swiftllm.controller.tokenizer import Detokenizer, Tokenizer
from swiftllm.controller.worker_client import WorkerError
from swiftllm.model_config import ModelConfig
from swiftllm.protocol.step import StepCommand, StepResult
from swiftllm.sampling_params import SamplingParams

log = logging.getLogger("swiftllm.engine")

# warm_up's prompts take these in turn: one per path of the worker's sampler (worker/sampler.py), whose first
# use on a GPU compiles or loads kernels (a Triton compile is 0.2-1.9 s on the H200) that a request would wait for
WARM_UP_SAMPLING = (
    SamplingParams(max_tokens=2, temperature=0.0, ignore_eos=True),  # greedy: the argmax kernel
    SamplingParams(max_tokens=2, temperature=1.0, ignore_eos=True),  # the inverse-CDF kernel
    # the sorted torch path for top-p / top-k / min-p, and the penalties
    SamplingParams(max_tokens=2, temperature=1.0, top_p=0.9, presence_penalty=0.5, ignore_eos=True),
)


class Worker(Protocol):
    def send_step(self, cmd: StepCommand) -> object: ...

    def recv_step(self) -> StepResult: ...


class Engine:
    def __init__(
        self,
        worker: Worker,
        model_config: ModelConfig,
        tokenizer: Tokenizer | None,
        scheduler_config: SchedulerConfig,
        overlap: bool = True,
        seed: int | None = None,
    ) -> None:
        self.worker = worker
        self.model_config = model_config
        self.tokenizer = tokenizer
        # Scheduler, or the subclass `--schedule-policy module:Class` names
        self.scheduler = scheduler_class(scheduler_config.schedule_policy)(scheduler_config)
        self.seq_id_counter = itertools.count()
        self.overlap = overlap
        # draws the seed of each request that sets none: a seeded engine repeats its whole run
        self.seeds = random.Random(seed)
        self.in_flight: deque[Batch] = deque()  # sent, not read back yet; oldest first
        # the worker's step timings summed over every step read back (ms by name: forward_ms,
        # gpu_ms, gpu_idle_ms, ... see StepResult.timings); /metrics exports them
        self.worker_ms: Counter[str] = Counter()

    def add_request(self, prompt_ids: list[int], params: SamplingParams) -> Sequence:
        """Queue a request; raises ValueError if it can never fit."""
        # min and max, not a per-token test: C speed for a long prompt
        vocab_size = self.model_config.vocab_size
        if prompt_ids and not 0 <= min(prompt_ids) <= max(prompt_ids) < vocab_size:
            raise ValueError(f"prompt token ids must be in [0, {vocab_size})")
        if params.stop and self.tokenizer is None:  # they would never match: there is no text
            raise ValueError("stop strings need the model's tokenizer.json (stop_token_ids do not)")
        resolved = params.resolved(self.model_config.generation_defaults)
        seed = self.seeds.getrandbits(64) if resolved.seed is None else resolved.seed
        seq = Sequence(
            seq_id=next(self.seq_id_counter) % 2**31,
            prompt_ids=list(prompt_ids),
            params=resolved,
            seed=seed % 2**64,  # any Python int: -1 and 2**64 - 1 are one seed
            arrival=time.monotonic(),
        )
        if self.tokenizer is not None:
            seq.detokenizer = Detokenizer(self.tokenizer, seq.prompt_ids)
        self.scheduler.add(seq)
        return seq

    def warm_up(self) -> None:
        """Serve throwaway requests before any real one: prompts filling one step's token budget (as far as the
        model's context and half the cache allow), then a decode step. A GPU worker's first prefill loads the
        kernels that no captured graph holds and grows its allocator to the step's activations; a server
        that skipped this would make its first burst of requests wait for them. The prompts take each way of
        sampling in turn (WARM_UP_SAMPLING), as sampling runs outside the graphs too. Each prompt repeats its
        own token, so none is a prefix of another (but where more prompts than the vocabulary's tokens wrap
        round it: a tiny model's, with a short context and a large budget). Afterwards the engine holds no
        sequence and no step, and its counters start from zero (prompts that repeat those tokens may hit the
        prefix cache: correctly).
        Raises RuntimeError if the worker failed a warm-up request."""
        cfg = self.scheduler.cfg
        tokens = min(cfg.max_num_batched_tokens, cfg.num_gpu_blocks * cfg.block_size // 2)
        prompt_len = min(max(tokens // len(WARM_UP_SAMPLING), 1), self.scheduler.max_len - 2)
        if prompt_len < 1:
            return
        # prompt i of token i modulo the vocabulary (session 65's hunt: add_request refused token 128 of a
        # 128-token vocabulary), with the next way of sampling in turn
        turns = zip(range(max(tokens // prompt_len, 1)), itertools.cycle(WARM_UP_SAMPLING))
        vocab = self.model_config.vocab_size
        seqs = [self.add_request([token % vocab] * prompt_len, params) for token, params in turns]
        while self.has_work:
            self.step()
        self.worker_ms.clear()
        self.scheduler.counters = dict.fromkeys(self.scheduler.counters, 0)
        # a server whose first step fails must not start as if it could serve
        if failed := [seq.error for seq in seqs if seq.error is not None]:
            raise RuntimeError(f"the warm-up step failed ({failed[0]}); --no-warm-up skips it")

    def abort(self, seq: Sequence) -> None:
        self.scheduler.finish(seq, "abort")

    def reset(self) -> None:
        """After an exception escaped step() (a failed step, or an interrupt such as Ctrl-C in a notebook):
        read back the steps still in flight, whatever they hold, and abort every sequence. Without this the
        sequences of a step never read back kept placeholders for tokens that never came, and every later
        schedule() came back empty: LLM.generate spun forever (session 37)."""
        # only a sequence that was scheduled (running, or in a step in flight) can have left blocks in the
        # prefix cache that no step filled: a prompt refused by add_request keeps the cache
        scheduled = bool(self.in_flight or self.scheduler.running)
        for _ in range(len(self.in_flight)):
            with contextlib.suppress(Exception):
                self.worker.recv_step()
        self.in_flight.clear()
        for seq in [*self.scheduler.running, *self.scheduler.waiting, *self.scheduler.swapped]:
            self.abort(seq)
        if scheduled:
            # every block is free now; the prefix cache may name blocks that no step filled (a swap-in
            # scheduled but never sent, a prefill refused), which later prompts would read: forget it
            self.scheduler.block_manager.reset_prefix_cache()

    @property
    def has_work(self) -> bool:
        return self.scheduler.has_work or bool(self.in_flight)

    def step(self) -> list[Sequence]:
        """One iteration: schedule -> send -> read the previous step back -> postprocess it.

        Returns the sequences that got a token (finished ones included). With overlap, the step
        just sent stays in flight and the one before it is read; without overlap, or when this step
        computes no sequence (nothing to overlap with), the steps in flight are read back one per
        call."""
        batch = self.scheduler.schedule()
        # a batch with nothing for the worker to do (no rows, no block moves) is not sent: its finished
        # ids wait for the next one (mark_sent drops them)
        if batch.seqs or batch.swap_out or batch.swap_in:
            self.worker.send_step(batch.command(self.scheduler.cfg.block_size))
            self.in_flight.append(batch)  # next to the send: reset() reads back one reply each
            self.scheduler.mark_sent(batch)
        # one step in flight ahead, or one per pipeline stage (each of its own group of sequences)
        keep_in_flight = self.scheduler.cfg.pipeline_stages if self.overlap and batch.seqs else 0
        if len(self.in_flight) <= keep_in_flight:
            return []
        result = self.worker.recv_step()
        self.worker_ms.update(result.timings)
        # popped once read: an interrupt while waiting leaves the reply owed, for reset() to read
        return self.postprocess(self.in_flight.popleft(), result)

    def postprocess(self, batch: Batch, result: StepResult) -> list[Sequence]:
        """Read a step's result into its sequences: tokens, stop conditions, logprobs, text.

        A sequence the worker reported a problem for (result.errors), or whose postprocessing raises, is
        failed alone (finish reason "error", `seq.error` saying why); the other sequences go on."""
        tokens = result.tokens.tolist()
        # a worker's reply is checked before any of it is used: a row missing left its sequence waiting for a
        # token forever, an unknown or repeated seq id raised KeyError or IndexError, and a token outside the
        # vocabulary was streamed to the client (probed with a misbehaving worker)
        expected = [seq.seq_id for seq in batch.sampled]
        # min and max, as add_request checks a prompt: C speed, not a Python test per token
        in_vocab = not tokens or 0 <= min(tokens) <= max(tokens) < self.model_config.vocab_size
        if result.seq_ids.tolist() != expected or len(tokens) != len(expected) or not in_vocab:
            why = f"tokens {tokens!s:.200} for {result.seq_ids.tolist()!s:.200}, not one in [0, vocab)"
            raise WorkerError("InvalidReply", f"{why} for each of {expected!s:.200}")
        # the logprob arrays as docs/protocol.md shapes them when a row the worker did not refuse asked:
        # every sampled row's, with the top N of the most any asked (short arrays had failed their requests
        # with an IndexError; missing or narrow ones had left them without their logprobs, silently)
        asked = [seq.params.logprobs for seq in batch.sampled if seq.seq_id not in result.errors]
        num_top = max((n for n in asked if n is not None), default=-1)
        tops = (len(expected), num_top) if num_top > 0 else (0, 0)
        shapes = [result.logprobs.shape, result.top_ids.shape, result.top_logprobs.shape]
        if num_top >= 0 and shapes != [(len(expected),), tops, tops]:
            raise WorkerError("InvalidReply", f"logprob arrays of shapes {shapes}, tops not {tops}")
        sampled = self.scheduler.fill_sampled_tokens(batch, tokens, self.model_config.eos_token_ids)
        for row, seq in sampled:
            if (problem := result.errors.get(seq.seq_id)) is not None:
                self.fail(seq, f"the worker refused this request: {problem}")
                continue
            try:
                if seq.params.logprobs is not None and len(result.logprobs):
                    seq.logprobs.append(token_logprobs(result, row, seq.params.logprobs))
                self.detokenize(seq, tokens[row])
            except Exception as error:  # one sequence's bad data must not end the engine
                log.exception("postprocessing sequence %d failed", seq.seq_id)
                self.fail(seq, f"internal error while postprocessing: {error!r}")
        return [seq for _, seq in sampled]

    def fail(self, seq: Sequence, why: str) -> None:
        """End one sequence with an error its client will read; its blocks are freed."""
        seq.error = why
        # a no-op for one finished by this very token (its blocks are free already): then only its
        # finish reason changes
        self.scheduler.finish(seq, "error")
        seq.finish_reason = "error"

    def detokenize(self, seq: Sequence, token: int) -> None:
        """Append the token's text; a stop string in the new text ends the sequence there."""
        params = seq.params
        # finished "stop" by this very token: an EOS or stop token id (the rule lives in
        # Scheduler.fill_sampled_tokens; stop strings are matched below, in the text). The stop token
        # itself is not text, but part of a character held back before it is (as U+FFFD)
        stop_token = seq.finish_reason == "stop" and not params.include_stop_str_in_output
        old_len = len(seq.text)
        if stop_token and seq.detokenizer is not None:
            seq.text += seq.detokenizer.held_text(last=True)
        seq.text_offsets.append(len(seq.text))
        if seq.detokenizer is None:
            return
        if not stop_token:
            seq.text += seq.detokenizer.add(token, seq.finish_reason is not None)
        # only a match that uses new text
        found = {stop: seq.text.find(stop, max(0, old_len - len(stop) + 1)) for stop in params.stop}
        matches = [(found_at, len(stop)) for stop, found_at in found.items() if found_at >= 0]
        if not matches:
            return
        # the earliest in the text (then the shortest), whatever the order of the list: the text kept holds
        # no stop string (session 38: "dom" listed before "king" cut " kingdom" to " king")
        found_at, stop_len = min(matches)
        kept_len = found_at + stop_len if params.include_stop_str_in_output else found_at
        seq.text = seq.text[:kept_len]
        # the tokens that spelled the stop string begin at most where the kept text ends
        seq.text_offsets = [min(offset, kept_len) for offset in seq.text_offsets]
        self.scheduler.finish(seq, "stop")
        # the stop string ended it, also when this token reached max_tokens too (finished "length" already)
        seq.finish_reason = "stop"


def token_logprobs(result: StepResult, row: int, num_top: int) -> TokenLogprobs:
    """The chosen token's logprob and the top `num_top` (none when no row of the step asked for any).
    A value that is not finite (NaN from a broken model, or a worker's own) raises ValueError: the
    request fails alone, since JSON has no NaN (REST sent a bare NaN that strict parsers refuse)."""
    top: list[tuple[int, float]] = []
    if num_top > 0 and result.top_ids.size:
        top_ids = result.top_ids[row, :num_top].tolist()
        top = list(zip(top_ids, result.top_logprobs[row, :num_top].tolist()))
    logprob = float(result.logprobs[row])
    if not all(math.isfinite(value) for value in [logprob, *(value for _, value in top)]):
        raise ValueError(f"the model's logprobs are not finite: {logprob} and top {top!s:.200}")
    return TokenLogprobs(logprob, top)
