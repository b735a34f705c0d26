"""The LLaMA forward (torch backend) against HF transformers, and chunked prefill against one pass."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import full_logits, make_step, rel_err, runner_for, save_tiny_model

from swiftllm.worker.metadata import AttentionMetadata


@pytest.mark.parametrize(
    "heads,kv_heads,tied", [(4, 4, False), (4, 4, True), (6, 2, False), (6, 2, True), (4, 1, False)]
)
def test_logits_match_hf(tmp_path: Path, heads: int, kv_heads: int, tied: bool) -> None:
    # GQA ratios 1, 3 and 4; tied and untied embeddings
    hf = save_tiny_model(
        tmp_path,
        hidden_size=16 * heads,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        tie_word_embeddings=tied,
    )
    runner = runner_for(tmp_path)
    ids = torch.randint(0, 128, (45,)).tolist()
    with torch.no_grad():
        ref = hf(torch.tensor([ids])).logits[0]
    assert rel_err(full_logits(runner, ids, [3, 1, 7]), ref) < 1e-4


def test_head_dim_not_64_or_128(tmp_path: Path) -> None:
    hf = save_tiny_model(
        tmp_path, hidden_size=72, num_attention_heads=3, num_key_value_heads=1, head_dim=24
    )
    runner = runner_for(tmp_path)
    ids = list(range(1, 30))
    with torch.no_grad():
        ref = hf(torch.tensor([ids])).logits[0]
    assert rel_err(full_logits(runner, ids, [0, 1]), ref) < 1e-4


@pytest.mark.parametrize("chunk", [1, 3, 16, 17])
def test_chunked_prefill_then_decode_equals_one_pass(tiny_model_dir: Path, chunk: int) -> None:
    runner = runner_for(tiny_model_dir)
    ids = torch.randint(0, 128, (40,)).tolist()
    blocks = [5, 2, 9]
    ref = full_logits(runner, ids, blocks)
    got, done = [], 0
    while done < len(ids):  # feed the sequence chunk by chunk; every chunk's last-row logits
        q = min(chunk, len(ids) - done)
        cmd = make_step([0], [ids[done : done + q]], [done + q], [blocks])
        meta = AttentionMetadata.build(
            cmd.query_lens, cmd.context_lens, cmd.block_table, 16, runner.device
        )
        h, res = runner.model.forward(
            torch.tensor(ids[done : done + q]), meta, runner.cache.k, runner.cache.v
        )
        got.append((done + q - 1, runner.model.logits(h, res)[-1]))
        done += q
    for pos, logits in got:
        assert rel_err(logits, ref[pos]) < 1e-5


def test_mixed_batch_equals_separate_runs(tiny_model_dir: Path) -> None:
    """A step that mixes a prefill chunk with decodes gives each sequence what it gets alone."""
    runner = runner_for(tiny_model_dir)
    a, b = list(range(10, 30)), list(range(40, 47))
    alone_a = full_logits(runner, a, [1, 2])[-1]
    alone_b = full_logits(runner, b, [3])[-1]
    runner.step(make_step([0], [a[:-1]], [19], [[1, 2]], sample=[0]))  # cache a's prefix
    cmd = make_step([0, 1], [[a[-1]], b], [20, 7], [[1, 2], [3]])
    meta = AttentionMetadata.build(
        cmd.query_lens, cmd.context_lens, cmd.block_table, 16, runner.device
    )
    h, res = runner.model.forward(torch.tensor([a[-1]] + b), meta, runner.cache.k, runner.cache.v)
    logits = runner.model.logits(h, res)
    assert rel_err(logits[0], alone_a) < 1e-5 and rel_err(logits[-1], alone_b) < 1e-5


def test_bfloat16_runs_close_to_float32(tiny_model_dir: Path) -> None:
    ids = list(range(5, 25))
    ref = full_logits(runner_for(tiny_model_dir), ids, [0, 1])
    got = full_logits(runner_for(tiny_model_dir, dtype="bfloat16"), ids, [0, 1])
    assert rel_err(got, ref) < 5e-2


def test_dtype_auto_follows_the_checkpoint_on_cuda_and_is_float32_on_cpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from swiftllm.worker.model_runner import WorkerConfig

    # a CUDA device as torch would report one (without one, device="cuda" is refused: test_model_runner.py)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    cuda, cpu = WorkerConfig(model="m", device="cuda"), WorkerConfig(model="m", device="cpu")
    assert (
        cuda.torch_dtype("float16") == torch.float16
        and cuda.torch_dtype("bfloat16") == torch.bfloat16
    )
    # float32 checkpoints serve in bf16 on a GPU
    assert cuda.torch_dtype("float32") == torch.bfloat16
    assert cpu.torch_dtype("bfloat16") == torch.float32
    assert (
        WorkerConfig(model="m", device="cpu", dtype="bfloat16").torch_dtype("float32")
        == torch.bfloat16
    )
