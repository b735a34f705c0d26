"""The engine loop: schedule, run the step on the worker(s), update sequences and stream text out.

`worker` is anything with `step(StepCommand) -> StepResult`: a ModelRunner in process (LLM, tests) or a
client of worker processes over ZeroMQ (the controller).
"""

from __future__ import annotations

import itertools
import random
import time
from typing import Protocol

from swiftllm.controller.scheduler import Batch, Scheduler, SchedulerConfig
from swiftllm.controller.sequence import Sequence
from swiftllm.controller.tokenizer import Detokenizer, Tokenizer
from swiftllm.model_config import ModelConfig
from swiftllm.protocol.step import StepCommand, StepResult
from swiftllm.sampling_params import SamplingParams


class Worker(Protocol):
    def step(self, cmd: StepCommand) -> StepResult: ...


class Engine:
    def __init__(self, worker: Worker, model_config: ModelConfig, tokenizer: Tokenizer | None,
                 sched_cfg: SchedulerConfig) -> None:
        self.worker, self.model_config, self.tokenizer = worker, model_config, tokenizer
        self.scheduler = Scheduler(sched_cfg)
        self.seqs: dict[int, Sequence] = {}
        self.ids = itertools.count()
        self.step_times: list[float] = []

    def add_request(self, prompt_ids: list[int], params: SamplingParams) -> Sequence:
        """Queue a request; raises ValueError if it can never fit."""
        if self.model_config.vocab_size and any(not 0 <= t < self.model_config.vocab_size for t in prompt_ids):
            raise ValueError(f"prompt token ids must be in [0, {self.model_config.vocab_size})")
        p = params.resolved(self.model_config.generation_defaults)
        seed = p.seed if p.seed is not None else random.getrandbits(31)
        seq = Sequence(next(self.ids) % 2**31, list(prompt_ids), p, seed & 0x7FFFFFFF, time.monotonic())
        if self.tokenizer is not None:
            seq.detokenizer = Detokenizer(self.tokenizer, seq.prompt_ids)
        self.scheduler.add(seq)
        self.seqs[seq.seq_id] = seq
        return seq

    def abort(self, seq: Sequence) -> None:
        self.scheduler.finish(seq, "abort")
        self.seqs.pop(seq.seq_id, None)

    @property
    def has_work(self) -> bool:
        return self.scheduler.has_work

    def step(self) -> list[Sequence]:
        """One iteration; returns the sequences that got a token (finished ones included)."""
        batch = self.scheduler.schedule()
        if not batch.seqs and not (batch.swap_out or batch.swap_in):
            return []
        t0 = time.perf_counter()
        result = self.worker.step(batch.command(self.scheduler.cfg.block_size))
        self.step_times.append(time.perf_counter() - t0)
        return self.postprocess(batch, result)

    def postprocess(self, batch: Batch, result: StepResult) -> list[Sequence]:
        tokens = dict(zip(result.seq_ids.tolist(), result.tokens.tolist()))
        self.scheduler.update(batch, tokens, self.model_config.eos_token_ids)
        out = [s for s in batch.seqs if s.seq_id in tokens]
        for i, seq in enumerate(s for s in batch.seqs if s.seq_id in tokens):
            if len(result.logprobs) and seq.params.logprobs is not None:
                top = list(zip(result.top_ids[i].tolist(), result.top_logprobs[i].tolist()))[:seq.params.logprobs] \
                    if result.top_ids.size else []
                seq.logprobs.append((float(result.logprobs[i]), top))
            self.detokenize(seq)
        for seq in out:
            if seq.finished:
                self.seqs.pop(seq.seq_id, None)
        return out

    def detokenize(self, seq: Sequence) -> None:
        if seq.detokenizer is None:
            return
        token = seq.token_ids[-1]
        if seq.finish_reason == "stop" and not seq.params.include_stop_str_in_output and (
                token in self.model_config.eos_token_ids or token in seq.params.stop_token_ids):
            return  # the stop token itself is not text
        old_len = len(seq.text)
        seq.text += seq.detokenizer.add(token)
        for stop in seq.params.stop:
            at = seq.text.find(stop, max(0, old_len - len(stop) + 1))  # only a match that uses new text
            if at >= 0:
                seq.text = seq.text[:at + (len(stop) if seq.params.include_stop_str_in_output else 0)]
                self.scheduler.finish(seq, "stop")
                break
