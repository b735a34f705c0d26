"""The engine loop: schedule, send the step to the worker, read the previous step's tokens, stream text out.

One step stays in flight ahead: step N+1 is scheduled and sent (its decodes name token -1, "what you just
sampled") before step N's tokens are read, so the worker never waits for the controller's bookkeeping.
`worker` is anything with send_step/recv_step: a WorkerClient over ZeroMQ, or an InProcessWorker."""

import itertools
import random
import time
from collections import deque
from typing import Protocol

from swiftllm.controller.scheduler import Batch, Scheduler, SchedulerConfig
from swiftllm.controller.sequence import Sequence
from swiftllm.controller.tokenizer import Detokenizer, Tokenizer
from swiftllm.model_config import ModelConfig
from swiftllm.protocol.step import StepCommand, StepResult
from swiftllm.sampling_params import SamplingParams


class Worker(Protocol):
    def send_step(self, cmd: StepCommand) -> object: ...

    def recv_step(self) -> StepResult: ...


class Engine:
    def __init__(
        self,
        worker: Worker,
        model_config: ModelConfig,
        tokenizer: Tokenizer | None,
        sched_cfg: SchedulerConfig,
        overlap: bool = True,
    ) -> None:
        self.worker, self.model_config, self.tokenizer = worker, model_config, tokenizer
        self.scheduler = Scheduler(sched_cfg)
        self.ids = itertools.count()
        self.overlap, self.in_flight = overlap, deque()

    def add_request(self, prompt_ids: list[int], params: SamplingParams) -> Sequence:
        """Queue a request; raises ValueError if it can never fit."""
        if self.model_config.vocab_size and any(
            not 0 <= t < self.model_config.vocab_size for t in prompt_ids
        ):
            raise ValueError(f"prompt token ids must be in [0, {self.model_config.vocab_size})")
        p = params.resolved(self.model_config.generation_defaults)
        seed = p.seed if p.seed is not None else random.getrandbits(31)
        seq = Sequence(
            next(self.ids) % 2**31, list(prompt_ids), p, seed & 0x7FFFFFFF, time.monotonic()
        )
        if self.tokenizer is not None:
            seq.detokenizer = Detokenizer(self.tokenizer, seq.prompt_ids)
        self.scheduler.add(seq)
        return seq

    def abort(self, seq: Sequence) -> None:
        self.scheduler.finish(seq, "abort")

    @property
    def has_work(self) -> bool:
        return self.scheduler.has_work or bool(self.in_flight)

    def step(self) -> list[Sequence]:
        """One iteration; returns the sequences that got a token (finished ones included)."""
        batch = self.scheduler.schedule()
        if batch.seqs or batch.swap_out or batch.swap_in:
            self.worker.send_step(batch.command(self.scheduler.cfg.block_size))
            self.scheduler.sent(batch)
            self.in_flight.append(batch)
        else:  # nothing to send: tell the worker about finished sequences next time
            self.scheduler.finished_ids[:0] = batch.finished_ids
        if len(self.in_flight) > (1 if self.overlap and batch.seqs else 0):
            return self.postprocess(self.in_flight.popleft(), self.worker.recv_step())
        return []

    def postprocess(self, batch: Batch, result: StepResult) -> list[Sequence]:
        tokens = result.tokens.tolist()
        got = self.scheduler.update(
            batch, result.seq_ids.tolist(), tokens, self.model_config.eos_token_ids
        )
        for row, seq in got:
            if seq.params.logprobs is not None and len(result.logprobs):
                n = seq.params.logprobs if result.top_ids.size else 0
                top = list(
                    zip(result.top_ids[row, :n].tolist(), result.top_logprobs[row, :n].tolist())
                )
                seq.logprobs.append((float(result.logprobs[row]), top))
            self.detokenize(seq, tokens[row])
        return [seq for _, seq in got]

    def detokenize(self, seq: Sequence, token: int) -> None:
        if seq.detokenizer is None:
            return
        if (
            seq.finish_reason == "stop"
            and not seq.params.include_stop_str_in_output
            and (token in self.model_config.eos_token_ids or token in seq.params.stop_token_ids)
        ):
            return  # the stop token itself is not text
        old_len = len(seq.text)
        seq.text += seq.detokenizer.add(token)
        for stop in seq.params.stop:
            at = seq.text.find(
                stop, max(0, old_len - len(stop) + 1)
            )  # only a match that uses new text
            if at >= 0:
                seq.text = seq.text[
                    : at + (len(stop) if seq.params.include_stop_str_in_output else 0)
                ]
                self.scheduler.finish(seq, "stop")
                break
