"""The in-process API: `LLM(model).generate(prompts, sampling_params)`, one process, no sockets.

It drives the same Engine as the server, with a ModelRunner in place of worker processes. A split model
(`workers`, or `tensor_parallel_size` x `pipeline_parallel_size`, above 1) runs on worker processes instead
(launch/workers.py), driven over the worker protocol as the server drives them."""

import contextlib
import signal
import sys
import threading
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any

from tqdm import tqdm

from swiftllm.config import EngineConfig, check_split
from swiftllm.controller.engine import Engine
from swiftllm.controller.openai_schema import parse_messages
from swiftllm.controller.tokenizer import Tokenizer
from swiftllm.controller.worker_client import WorkerError
from swiftllm.controller.worker_group import start_engine
from swiftllm.field_rules import is_text, is_token_id
from swiftllm.launch.args import WORKER_OPTIONS
from swiftllm.launch.workers import LocalWorkers
from swiftllm.model_config import ModelConfig, ModelError
from swiftllm.models.resolve import resolve_model
from swiftllm.sampling_params import SamplingParams
from swiftllm.worker.in_process import InProcessWorker
from swiftllm.worker.model_runner import ModelRunner, WorkerConfig


@dataclass(frozen=True)
class RequestOutput:
    """One prompt's result. logprobs (when asked for): per output token, the chosen token's logprob
    and the top N (token id, logprob) pairs. num_cached_tokens: prompt tokens whose KV came from the
    prefix cache rather than being computed. error: why it ended with finish_reason "error"."""

    prompt_token_ids: list[int]
    token_ids: list[int]
    text: str
    finish_reason: str
    logprobs: list[tuple[float, list[tuple[int, float]]]] | None = None
    num_cached_tokens: int = 0
    error: str | None = None


class LLM:
    """An engine in this process: `LLM(model, **options).generate(prompts, sampling_params)`.

    `options` are EngineConfig fields (swiftllm/config.py: their defaults and checks), e.g.
    `LLM(path, max_model_len=1024, max_num_batched_tokens=64)` or `LLM(path, load_format="dummy")`;
    the server-only ones (host, port, ...) are accepted and unused. `model=None` serves the embedded
    SmolLM2, imported from its GGUF on first use."""

    def __init__(self, model: str | Path | None = None, **options: Any) -> None:
        # checked before anything loads; EngineConfig holds the directory as text, as flags give it
        config = EngineConfig(model=str(model) if isinstance(model, Path) else model, **options)
        # threads resolved here, as `swiftctl launch` does: the runner and any worker processes get the count
        self.config = replace(config, model=resolve_model(config.model), threads=config.cpu_threads)
        sys.setswitchinterval(self.config.gil_switch_interval)  # this process's: see EngineConfig
        self.runner: ModelRunner | None = None
        self.workers: LocalWorkers | None = None  # worker processes, when the model is split
        self.tokenizer = None
        # why the worker processes are gone, once a rank died or stopped answering: no later call can run
        self.lost: WorkerError | None = None
        self.generating = threading.Lock()  # held by the one generate call running
        self.interrupted = False  # a Ctrl-C came during this generate call (ctrl_c_deferred)
        if (Path(self.config.model) / "tokenizer.json").is_file():
            self.tokenizer = Tokenizer(self.config.model, self.config.chat_template)
        self.engine = self.start_workers() if self.config.world_size > 1 else self.start_runner()

    def start_runner(self) -> Engine:
        """The model in this process, on a thread of its own."""
        # the options a worker process gets as flags (launch/workers.py)
        options = {name: getattr(self.config, name) for name in WORKER_OPTIONS}
        worker_config = WorkerConfig(**options, cpu_kv_memory_gb=self.config.kv_cache_memory_gb)
        self.runner = ModelRunner(worker_config)
        scheduler_config = self.config.scheduler_config(
            self.runner.model_config,
            self.config.num_gpu_blocks or self.runner.profile(self.config.block_size),
            self.runner.block_bytes(self.config.block_size),
        )
        self.runner.init_cache(**scheduler_config.cache_fields)
        return Engine(
            InProcessWorker(self.runner),
            self.runner.model_config,
            self.tokenizer,
            scheduler_config,
            seed=self.config.seed,
        )

    def start_workers(self) -> Engine:
        """The model split over `world_size` worker processes (stopped by `close`, or when this process
        exits)."""
        model_config = ModelConfig.from_dir(self.config.model)
        check_split(model_config, self.config.world_size, self.config.pipeline_parallel_size)
        self.workers = LocalWorkers(self.config)
        # asks the workers to shut down (kills those that do not) and removes their sockets, however
        # this object goes (close, GC, exit)
        self.finalizer = weakref.finalize(self, self.workers.stop, polite=True)
        return start_engine(self.config, self.workers.connect(), model_config, self.tokenizer)

    def close(self) -> None:
        """Stop the worker processes, if any (an in-process model needs nothing)."""
        if self.workers is not None:
            self.finalizer()

    def encode(self, prompt: str | list[int] | list[dict]) -> list[int]:
        """Token ids as they are; a string through the tokenizer; chat messages through its template."""
        if not isinstance(prompt, (str, list)):  # a tuple or an array reached the tokenizer, which
            # said its own input type was wrong
            kind = type(prompt).__name__
            raise TypeError(f"a prompt is a str, a list of token ids or of messages, not a {kind}")
        # Integral: numpy's integers too (they were taken for chat messages); True is no token id. map, not
        # a generator: 1.4 against 1.8 ms for a 16,384-token prompt, checked before the first step
        if isinstance(prompt, list) and all(map(is_token_id, prompt)):
            return list(map(int, prompt))
        if self.tokenizer is None:
            raise ModelError("this model has no tokenizer.json: pass token ids")
        if isinstance(prompt, list):  # checked as REST checks them: an ApiError is a ValueError
            max_len = self.engine.scheduler.max_len
            messages = parse_messages(prompt, max_len, self.tokenizer.max_chars(max_len))
            return self.tokenizer.encode_chat(messages)
        if not is_text(prompt):  # the tokenizers library's TypeError named neither prompt nor cause
            raise ValueError("a prompt must be UTF-8 text; this one holds a lone surrogate")
        return self.tokenizer.encode(prompt)

    @contextlib.contextmanager
    def ctrl_c_deferred(self) -> Iterator[None]:
        """Within: Ctrl-C sets `self.interrupted`, which generate reads between steps, and a second one raises
        KeyboardInterrupt at once (a user who presses it again will not wait for a slow or hung step). On
        leaving (the handler put back first), a Ctrl-C that came raises KeyboardInterrupt: one during the last
        step, or after generate's last check, is not lost.

        Python's own handler raises KeyboardInterrupt wherever the main thread is: about one interrupt in
        3,000 landed while ThreadPoolExecutor (the in-process worker) or tqdm held a lock, and the next call
        waited on that lock forever (session 56's probe). Only Python's own handler is replaced, and only in
        the main thread (the one signal handlers run in): a handler the program set, or SIG_IGN, is kept."""
        self.interrupted = False
        in_main_thread = threading.current_thread() is threading.main_thread()
        deferred = in_main_thread and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        if deferred:
            signal.signal(signal.SIGINT, self.on_ctrl_c)
        try:
            yield
        finally:
            if deferred:
                signal.signal(signal.SIGINT, signal.default_int_handler)
        if self.interrupted:  # reached only if the block raised nothing
            raise KeyboardInterrupt

    def on_ctrl_c(self, signum: int, frame: FrameType | None) -> None:
        if self.interrupted:  # the second
            raise KeyboardInterrupt
        self.interrupted = True

    def generate(
        self,
        prompts: list[str | list[int] | list[dict]] | str,
        sampling_params: SamplingParams | Sequence[SamplingParams] | None = None,
        use_tqdm: bool = False,
    ) -> list[RequestOutput]:
        """Run every prompt to completion (all submitted at once); outputs in prompt order. One call at a
        time: a second thread's call waits for the first (two stepping one engine corrupted its state).
        Ctrl-C stops it at the end of the step running (see ctrl_c_deferred); the engine serves on."""
        with self.generating:
            if self.lost is not None:
                raise RuntimeError(
                    f"this LLM's worker processes are gone ({self.lost}): create a new LLM"
                )
            if self.workers is not None and not self.finalizer.alive:  # was the sockets' ZMQError
                raise RuntimeError("this LLM is closed (its worker processes are stopped)")
            prompts = [prompts] if isinstance(prompts, str) else prompts
            if not isinstance(prompts, list | tuple):  # a dict or a set was iterated as prompts
                raise TypeError(f"prompts is a str or a list, not a {type(prompts).__name__}")
            params = sampling_params  # the keyword's name is vLLM's
            if not isinstance(params, list | tuple):  # one for every prompt (tuples: as prompts)
                params = [params or SamplingParams()] * len(prompts)
            if not all(isinstance(item, SamplingParams) for item in params):  # was AttributeError
                raise TypeError("sampling_params: a SamplingParams or a list of them, one a prompt")
            # one params per prompt: a list of another length is an error, not fewer outputs
            if len(params) != len(prompts):
                raise ValueError(f"{len(params)} SamplingParams for {len(prompts)} prompts")
            try:  # a prompt refused half-way aborts the ones added before it (reset), as a failed step does
                sequences = [
                    self.engine.add_request(self.encode(prompt), prompt_params)
                    for prompt, prompt_params in zip(prompts, params)
                ]
                # the steps and tqdm (both take locks that an interrupt raised inside left held) run with
                # Ctrl-C deferred; it is raised here, between steps, and the reset below aborts what is left
                with self.ctrl_c_deferred():
                    with tqdm(total=len(sequences), disable=not use_tqdm, desc="generate") as bar:
                        while self.engine.has_work and not self.interrupted:
                            bar.update(sum(seq.finished for seq in self.engine.step()))
            except BaseException as error:
                if isinstance(error, WorkerError) and error.lost:
                    # a rank died, or is blocked in a collective after another's failed step: the steps in
                    # flight will never be answered, so reading them back would wait out every timeout
                    self.lost = error
                    self.close()
                else:
                    # a failed step or an interrupt: this object must still serve the next call
                    self.engine.reset()
                raise
            return [
                RequestOutput(
                    prompt_token_ids=seq.prompt_ids,
                    token_ids=seq.output_ids,
                    text=seq.text,
                    finish_reason=seq.finish_reason or "abort",
                    logprobs=seq.logprobs if seq.params.logprobs is not None else None,
                    num_cached_tokens=seq.num_prompt_cache_hits or 0,
                    error=seq.error,
                )
                for seq in sequences
            ]

    def chat(
        self,
        messages: list[dict] | list[list[dict]],
        sampling_params: SamplingParams | Sequence[SamplingParams] | None = None,
        use_tqdm: bool = False,
    ) -> list[RequestOutput]:
        """vLLM's `llm.chat`: one conversation (a list of messages) or a list of them, each through the
        chat template as generate takes one; an output per conversation."""
        if not isinstance(messages, list):  # a string was served as a plain prompt
            kind = type(messages).__name__
            raise TypeError(f"messages is a list of messages or of conversations, not a {kind}")
        one = bool(messages) and isinstance(messages[0], dict)
        return self.generate([messages] if one else messages, sampling_params, use_tqdm)
