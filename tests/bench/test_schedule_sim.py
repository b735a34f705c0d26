"""bench/schedule_sim.py: the real engine over a simulated worker adds up the cost model's step times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bench_scripts import load_script

from swiftllm.protocol.step import f32, i32

schedule_sim = load_script("schedule_sim")
REPO = Path(__file__).resolve().parents[2]


def command(query_lens: list[int], context_lens: list[int], sample: list[int]) -> object:
    """A StepCommand carrying only what the cost model reads."""
    n = len(query_lens)
    return schedule_sim.StepCommand(
        seq_ids=i32(range(n)),
        query_lens=i32(query_lens),
        context_lens=i32(context_lens),
        token_ids=i32([1] * sum(query_lens)),
        block_table=np.zeros((n, 1), np.int32),
        sample=i32(sample),
        temperature=f32([0] * n),
        top_p=f32([1] * n),
        top_k=i32([0] * n),
        seed=i32([0] * n),
        presence_penalty=f32([0] * n),
        frequency_penalty=f32([0] * n),
        repetition_penalty=f32([1] * n),
        min_p=f32([0] * n),
        penalty_lens=i32([0] * n),
        num_logprobs=i32([-1] * n),
    )


def test_the_cost_model_is_memory_bound_small_and_compute_bound_large() -> None:
    model = schedule_sim.StepCostModel(overlap_loss=0.0, attention_factor=1.0, fixed_ms=0.0)
    one_row = model.step_ms(command([1], [0], [1]))
    assert one_row == pytest.approx(model.weight_read_ms, rel=0.01)  # one token: the weights' read
    # 16,384 prompt tokens: 2 x 6.98 GFLOP each at the matmul rate, far above the weight read
    prefill = model.step_ms(command([16384], [0], [1]))
    assert prefill == pytest.approx(16384 * 2 * 6.98e9 / model.matmul_flops * 1e3, rel=0.01)
    # attention: 1,000 tokens of context read once, 128 KiB each (32 layers x 8 KV heads x 128 x K and V, bf16)
    with_context = model.step_ms(command([1], [1000], [1]))
    assert with_context - one_row == pytest.approx(1000 * 131072 / model.copy_bandwidth * 1e3)


def test_simulate_sums_every_step_of_the_engine() -> None:
    model = schedule_sim.StepCostModel()
    prompts = [[5] * 40, [6] * 20]
    run = schedule_sim.simulate(prompts, [3, 1], budget=64, max_seqs=8, model=model)
    # step 1 prefills both (60 tokens, two samples); steps 2 and 3 decode the first alone
    expected = (
        model.step_ms(command([40, 20], [40, 20], [1, 1]))
        + model.step_ms(command([1], [41], [1]))
        + model.step_ms(command([1], [42], [1]))
    )
    assert run.seconds == pytest.approx(expected / 1e3)
    assert run.longest_first_token_s == pytest.approx(
        model.step_ms(command([40, 20], [40, 20], [1, 1])) / 1e3
    )
    # a budget of 32 tokens chunks the prompts: more steps, more weight reads
    chunked = schedule_sim.simulate(prompts, [3, 1], budget=32, max_seqs=8, model=model)
    assert chunked.steps > run.steps and chunked.seconds > run.seconds


def test_steps_are_counted_by_kind_and_their_times_add_up_to_the_run() -> None:
    assert schedule_sim.step_kind(command([40, 20], [40, 20], [1, 1])) == "prefill"
    assert schedule_sim.step_kind(command([40, 1], [40, 9], [1, 1])) == "mixed"
    assert schedule_sim.step_kind(command([1], [9], [1])) == "decode 1-1 rows"
    assert schedule_sim.step_kind(command([1] * 129, [9] * 129, [1] * 129)) == "decode 129-256 rows"
    assert schedule_sim.step_kind(command([1] * 300, [9] * 300, [1] * 300)) == "decode 257+ rows"
    model = schedule_sim.StepCostModel()
    run = schedule_sim.simulate([[5] * 40, [6] * 20], [3, 1], budget=64, max_seqs=8, model=model)
    # one prefill step of both prompts, then two decode steps of the first alone
    assert {kind: total.steps for kind, total in run.kinds.items()} == {
        "prefill": 1,
        "decode 1-1 rows": 2,
    }
    assert sum(total.ms for total in run.kinds.values()) / 1e3 == pytest.approx(run.seconds)


@pytest.mark.parametrize("change", ["fixed_ms", "fixed_ms=", "fixed_ms=fast"])
def test_a_what_if_without_a_number_is_a_usage_error(
    change: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Session 57's probe: `--what-if fixed_ms` (no value) ended in float()'s traceback."""
    import argparse

    ap = argparse.ArgumentParser()
    with pytest.raises(SystemExit) as exit_info:
        schedule_sim.what_if_model(ap, [change])
    assert exit_info.value.code == 2
    assert f"--what-if: {change!r} is not FIELD=NUMBER" in capsys.readouterr().err
    assert schedule_sim.what_if_model(ap, ["fixed_ms=0.5"]).fixed_ms == 0.5


def test_a_module_class_policy_is_simulated(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--policies module:Class` simulates a policy from outside the core (examples/): one seat, so
    shortest-prompt-first starts the 20-token prompt first and the 40-token one's first token comes later."""
    monkeypatch.syspath_prepend(str(REPO / "examples"))
    policy = "shortest_prompt_first:ShortestPromptFirst"
    model = schedule_sim.StepCostModel()
    prompts = [[5] * 40, [6] * 20]
    fcfs = schedule_sim.simulate(prompts, [3, 1], budget=64, max_seqs=1, model=model)
    shortest = schedule_sim.simulate(prompts, [3, 1], 64, 1, model, policy)
    assert fcfs.longest_first_token_s == pytest.approx(
        model.step_ms(command([40], [40], [1])) / 1e3
    )
    assert shortest.policy == policy
    assert shortest.longest_first_token_s == pytest.approx(
        (model.step_ms(command([20], [20], [1])) + model.step_ms(command([40], [40], [1]))) / 1e3
    )


def test_an_unknown_policy_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["schedule_sim.py", "--policies", "fcfs,nosuch:Policy"])
    with pytest.raises(SystemExit) as exit_info:
        schedule_sim.main()
    assert exit_info.value.code == 2
    assert "--policies: schedule_policy 'nosuch:Policy'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args,message",
    [
        (["--budgets", "4096,0"], "argument --budgets: '0' is not an integer >= 1"),  # hung before
        (["--seqs", "0"], "argument --seqs: '0' is not an integer >= 1"),  # hung before
        (["--budgets", "2k"], "argument --budgets: '2k' is not an integer >= 1"),  # a traceback
        (["--num-requests", "1001"], "--num-requests 1001: "),  # a WorkloadError traceback
    ],
)
def test_a_limit_or_a_count_it_cannot_run_is_a_usage_error(
    args: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.argv", ["schedule_sim.py", *args])
    with pytest.raises(SystemExit) as exit_info:
        schedule_sim.main()
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
