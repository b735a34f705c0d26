"""examples/shortest_prompt_first.py, a policy loaded by `schedule_policy="module:Class"`: it admits the
shortest prompt first where fcfs admits in arrival order, and changes no token (greedy: the same outputs as
the built-in scheduler's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from swiftllm.llm import LLM, RequestOutput
from swiftllm.sampling_params import SamplingParams

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
POLICY = "shortest_prompt_first:ShortestPromptFirst"
# arrival order; lengths 30, 5, 17, 5, 9 (a tie keeps arrival order)
PROMPTS = [[(7 * i + j) % 120 + 1 for j in range(n)] for i, n in enumerate((30, 5, 17, 5, 9))]


def generate_in_order(llm: LLM) -> tuple[list[int], list[RequestOutput]]:
    """Generate PROMPTS one sequence at a time (max_num_seqs=1); return the order their sequences first
    appear in a step, as indices into PROMPTS (sequence ids count from 0 in add order), and the outputs."""
    worker = llm.engine.worker
    send_step = worker.send_step
    order: list[int] = []

    def recording_send_step(cmd: object) -> object:
        for seq_id in cmd.seq_ids.tolist():
            if seq_id not in order:
                order.append(seq_id)
        return send_step(cmd)

    worker.send_step = recording_send_step
    params = SamplingParams(max_tokens=4, temperature=0, ignore_eos=True)
    outputs = llm.generate(PROMPTS, params)
    return order, outputs


def test_the_example_policy_admits_shortest_first_and_changes_no_token(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    options = dict(device="cpu", max_num_seqs=1, num_gpu_blocks=32, seed=0)
    fcfs = LLM(tiny_model_dir, **options)
    shortest = LLM(tiny_model_dir, schedule_policy=POLICY, **options)
    from shortest_prompt_first import ShortestPromptFirst

    assert isinstance(shortest.engine.scheduler, ShortestPromptFirst)
    fcfs_order, fcfs_outputs = generate_in_order(fcfs)
    shortest_order, shortest_outputs = generate_in_order(shortest)
    assert fcfs_order == [0, 1, 2, 3, 4]
    lengths = [len(prompt) for prompt in PROMPTS]
    assert shortest_order == sorted(range(len(PROMPTS)), key=lengths.__getitem__) == [1, 3, 4, 2, 0]
    assert [out.token_ids for out in shortest_outputs] == [out.token_ids for out in fcfs_outputs]
    assert all(len(out.token_ids) == 4 for out in shortest_outputs)
