"""The in-process API: `LLM(model).generate(prompts, params)`, one process, no sockets.

It drives the same Engine as the server, with a ModelRunner in place of worker processes."""

from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from swiftllm.controller.engine import Engine
from swiftllm.controller.scheduler import SchedulerConfig
from swiftllm.controller.tokenizer import Tokenizer
from swiftllm.model_config import ModelConfig, ModelError
from swiftllm.sampling_params import SamplingParams
from swiftllm.worker.in_process import InProcessWorker
from swiftllm.worker.model_runner import ModelRunner, WorkerConfig


@dataclass(frozen=True)
class RequestOutput:
    prompt_token_ids: list[int]
    token_ids: list[int]
    text: str
    finish_reason: str
    logprobs: list[tuple[float, list[tuple[int, float]]]] | None = None


def resolve_model(model: str | None) -> str:
    if model is None:
        from swiftllm.worker.gguf_import import ensure_default_model

        return str(ensure_default_model())
    if not Path(model).is_dir():
        raise ModelError(f"model directory {model!r} does not exist")
    return model


def cache_geometry(
    mc: ModelConfig,
    num_blocks: int,
    block_bytes: int,
    block_size: int,
    max_model_len: int | None,
    swap_gb: float,
) -> tuple[int, int, int]:
    """(GPU blocks, CPU blocks, max model len): the context defaults to what both model and cache allow."""
    capacity = num_blocks * block_size
    max_len = max_model_len or min(mc.max_context, capacity)
    if max_len > mc.max_context:
        raise ModelError(f"max_model_len {max_len} exceeds the model's context of {mc.max_context}")
    if max_len > capacity or max_len < 2:
        raise ModelError(
            f"a context of {max_len} tokens does not fit the KV cache "
            f"({num_blocks} blocks of {block_size} = {capacity} tokens)"
        )
    return num_blocks, int(swap_gb * 2**30) // block_bytes, max_len


class LLM:
    def __init__(
        self,
        model: str | None = None,
        *,
        device: str = "auto",
        dtype: str = "auto",
        load_format: str = "auto",
        max_model_len: int | None = None,
        block_size: int = 16,
        max_num_seqs: int = 256,
        max_num_batched_tokens: int = 2048,
        swap_space_gb: float = 4.0,
        num_gpu_blocks: int | None = None,
        cuda_graphs: bool = True,
        kv_cache_memory_gb: float = 1.0,
    ) -> None:
        path = str(model) if load_format == "dummy" else resolve_model(model)
        self.runner = ModelRunner(
            WorkerConfig(
                model=path,
                device=device,
                dtype=dtype,
                load_format=load_format,
                cuda_graphs=cuda_graphs,
                cpu_kv_memory_gb=kv_cache_memory_gb,
            )
        )
        gpu_blocks, cpu_blocks, max_model_len = cache_geometry(
            self.runner.model_config,
            num_gpu_blocks or self.runner.profile(block_size),
            self.runner.block_bytes(block_size),
            block_size,
            max_model_len,
            swap_space_gb,
        )
        self.runner.init_cache(block_size, gpu_blocks, cpu_blocks, max_model_len)
        self.tokenizer = Tokenizer(path) if (Path(path) / "tokenizer.json").is_file() else None
        self.engine = Engine(
            InProcessWorker(self.runner),
            self.runner.model_config,
            self.tokenizer,
            SchedulerConfig(
                max_model_len=max_model_len,
                num_gpu_blocks=gpu_blocks,
                num_cpu_blocks=cpu_blocks,
                block_size=block_size,
                max_num_seqs=max_num_seqs,
                max_num_batched_tokens=max_num_batched_tokens,
            ),
        )

    def encode(self, prompt: str | list[int] | list[dict]) -> list[int]:
        if isinstance(prompt, list) and all(isinstance(t, int) for t in prompt):
            return prompt
        if self.tokenizer is None:
            raise ModelError("this model has no tokenizer.json: pass token ids")
        return (
            self.tokenizer.encode_chat(prompt)
            if isinstance(prompt, list)
            else self.tokenizer.encode(prompt)
        )

    def generate(
        self,
        prompts: list[str | list[int]] | str,
        params: SamplingParams | list[SamplingParams] | None = None,
        use_tqdm: bool = False,
    ) -> list[RequestOutput]:
        """Run every prompt to completion (all submitted at once); outputs in prompt order."""
        prompts = [prompts] if isinstance(prompts, str) else prompts
        plist = params if isinstance(params, list) else [params or SamplingParams()] * len(prompts)
        seqs = [self.engine.add_request(self.encode(p), sp) for p, sp in zip(prompts, plist)]
        with tqdm(total=len(seqs), disable=not use_tqdm, desc="generate") as bar:
            while self.engine.has_work:
                bar.update(sum(s.finished for s in self.engine.step()))
        return [
            RequestOutput(
                s.prompt_ids,
                s.output_ids,
                s.text,
                s.finish_reason or "abort",
                s.logprobs if s.params.logprobs is not None else None,
            )
            for s in seqs
        ]
