"""Shared fixtures: tiny random HF checkpoints and helpers to drive a ModelRunner directly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
import torch

from swiftllm.controller.worker_client import WorkerClient
from swiftllm.protocol import codec
from swiftllm.protocol.step import STEP_ARRAYS, StepCommand, StepResult, f32, i32, u64
from swiftllm.worker.metadata import AttentionMetadata
from swiftllm.worker.model_runner import ModelRunner, WorkerConfig

# A suite started in the background (`bash .ci/run &` in a script without job control) inherits SIGINT ignored,
# and so would every process it starts: the Ctrl-C tests (LLM.generate, `swiftctl launch` and `worker`) need
# Python's own handler, which the processes started from here then get too (a handled signal is default again
# after exec; an ignored one stays ignored).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

TINY = dict(
    vocab_size=128,
    hidden_size=64,
    intermediate_size=96,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=4,
    max_position_embeddings=256,
    rms_norm_eps=1e-5,
    tie_word_embeddings=False,
    rope_theta=10000.0,
)


def save_tiny_model(
    path: Path,
    arch: str = "LlamaForCausalLM",
    seed: int = 0,
    safe: bool = True,
    **overrides: object,
) -> torch.nn.Module:
    """Save a random HF model of a tiny config to `path`; returns the HF model (float32, eval)."""
    import transformers

    cfg_cls = {
        "LlamaForCausalLM": transformers.LlamaConfig,
        "MistralForCausalLM": transformers.MistralConfig,
        "Qwen2ForCausalLM": transformers.Qwen2Config,
    }[arch]
    torch.manual_seed(seed)
    cfg = cfg_cls(**{**TINY, **overrides})
    model = getattr(transformers, arch)(cfg).float().eval()
    with torch.no_grad():  # HF initialises norms to 1; random norms test that we read them
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    model.save_pretrained(path, safe_serialization=safe)
    return model


def encode_step(request_id: int, epoch: int, cmd: StepCommand) -> bytes:
    """A step request's bytes, as WorkerClient.send_step sends them."""
    return codec.encode_request("step", request_id, epoch, **codec.pack_arrays(cmd, STEP_ARRAYS))


def client_step(client: WorkerClient, cmd: StepCommand) -> StepResult:
    """Send a step and wait for its result (as WorkerClient.call: with nothing else in flight)."""
    return codec.decode_result(client.call("step", **codec.pack_arrays(cmd, STEP_ARRAYS)))


def make_step(
    seq_ids: list[int],
    chunks: list[list[int]],
    context_lens: list[int],
    block_tables: list[list[int]],
    sample: list[int] | None = None,
    temperature: float = 0.0,
    **sampling: object,
) -> StepCommand:
    n = len(seq_ids)
    width = max(len(b) for b in block_tables)
    table = np.zeros((n, width), dtype=np.int32)
    for i, b in enumerate(block_tables):
        table[i, : len(b)] = b
    return StepCommand(
        seq_ids=i32(seq_ids),
        query_lens=i32([len(c) for c in chunks]),
        context_lens=i32(context_lens),
        token_ids=i32([t for c in chunks for t in c]),
        block_table=table,
        sample=i32(sample if sample is not None else [1] * n),
        temperature=f32([temperature] * n),
        top_p=f32([sampling.get("top_p", 1.0)] * n),
        top_k=i32([sampling.get("top_k", 0)] * n),
        seed=u64([sampling.get("seed", 0)] * n),
        presence_penalty=f32([0.0] * n),
        frequency_penalty=f32([0.0] * n),
        repetition_penalty=f32([1.0] * n),
        min_p=f32([0.0] * n),
        penalty_lens=i32([0] * n),
        num_logprobs=i32([sampling.get("num_logprobs", -1)] * n),
    )


def runner_for(
    path: Path, num_blocks: int = 64, block_size: int = 16, max_len: int = 256, **kw: object
) -> ModelRunner:
    r = ModelRunner(WorkerConfig(model=str(path), device="cpu", **kw))
    r.init_cache(block_size, num_blocks, 8, max_len)
    return r


def full_logits(runner: ModelRunner, ids: list[int], seq_blocks: list[int]) -> torch.Tensor:
    """Logits of every position from one prefill pass through our model."""
    cmd = make_step([0], [ids], [len(ids)], [seq_blocks])
    meta = AttentionMetadata.build(
        cmd.query_lens, cmd.context_lens, cmd.block_table, runner.cache.block_size, runner.device
    )
    h, res = runner.model.forward(torch.tensor(ids), meta, runner.cache.k, runner.cache.v)
    return runner.model.logits(h, res)


def rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    out, ref = out.double(), ref.double()
    err = float((out - ref).norm() / ref.norm())
    return err if err == err else float("inf")  # NaN never passes


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny-llama")
    save_tiny_model(path)
    return path


@pytest.fixture(scope="session")
def llama3_dummy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bench/make_dummy_model.py's Llama-3-8B dir (config and the 128,256-entry tokenizer), built once for
    the bench tests, which only read it. (Here, not in a tests/bench/conftest.py: a second top-level
    `conftest` module would shadow this one for the tests that import helpers from it.)"""
    from bench_scripts import load_script  # tests/bench/, on sys.path for the bench tests

    dummy = load_script("make_dummy_model")
    return dummy.make_dummy_model(tmp_path_factory.mktemp("llama3-8b"), "llama3-8b")


def write_token_file(path: str | Path, token: str) -> Path:
    """Write `token` to a new file that only its owner can read or write (0600), as a person starting a
    worker by hand would (`swiftctl worker --token-file`)."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
        file.write(token + "\n")
    return Path(path)


REPO_ROOT = Path(__file__).resolve().parents[1]


def start_cpu_worker(model_dir: Path, *flags: str) -> subprocess.Popen:
    """`swiftctl worker` on the CPU for model_dir, from the repository root; the first line it prints ends
    with its address."""
    command = [sys.executable, "-m", "swiftllm.launch.worker_cmd", "--model", str(model_dir)]
    return subprocess.Popen(
        [*command, "--device", "cpu", *flags], stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT
    )


def serve_cpu_worker(model_dir: Path) -> Iterator[str]:
    """For a fixture (`yield from`): a worker process's address (ipc, no token); afterwards the worker is
    asked to shut down and must exit 0, and is killed whatever happened."""
    proc = start_cpu_worker(model_dir)
    try:
        address = proc.stdout.readline().split()[-1]
        yield address
        with closing(WorkerClient(address, timeout_s=30)) as client:
            client.hello()
            client.shutdown()
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        proc.wait()
