"""Tensor-parallel worker groups end to end on CPU (gloo): the same greedy tokens and logprobs as one worker,
KV heads replicated when fewer than ranks, impossible splits refused with the numbers, a dead rank ending
the server with every child gone, and workers started by hand on two "hosts" attached with --worker-addrs."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from conftest import rel_err, save_tiny_model, write_token_file
from test_launch import child_pids, wait_for_url

from swiftllm.config import EngineConfig
from swiftllm.controller.worker_client import WorkerError
from swiftllm.launch.workers import LocalWorkers, free_port, start_worker
from swiftllm.llm import LLM
from swiftllm.models.gguf_import import ensure_default_model
from swiftllm.protocol.auth import new_token
from swiftllm.sampling_params import SamplingParams

PROMPTS = ["The capital of France is", "def fibonacci(n):", "Once upon a time"]
LAUNCH = [sys.executable, "-m", "swiftllm.launch.cli", "launch", "--port", "0"]
CPU_FLAGS = ["--device", "cpu", "--kv-cache-memory-gb", "0.05", "--max-model-len", "256"]


@pytest.fixture(scope="module")
def smollm() -> str:
    return ensure_default_model()


@pytest.fixture(scope="module")
def tiny_8_heads(tmp_path_factory: pytest.TempPathFactory, smollm: str) -> Path:
    """A random model of 8 heads and 2 KV heads, with SmolLM2's tokenizer (so its vocabulary), for REST."""
    path = tmp_path_factory.mktemp("tiny8")
    save_tiny_model(
        path,
        vocab_size=49152,
        num_attention_heads=8,
        num_key_value_heads=2,
        max_position_embeddings=8192,
    )
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(Path(smollm) / name, path / name)
    return path


def greedy(llm: LLM, prompts: list) -> list:
    params = SamplingParams(max_tokens=12, temperature=0, ignore_eos=True, logprobs=5)
    return llm.generate(prompts, params)


def assert_same_outputs(outputs: list, reference: list) -> None:
    """Identical greedy tokens; chosen and top-5 logprobs within 1e-4 relative (float32)."""
    assert [output.token_ids for output in outputs] == [ref.token_ids for ref in reference]
    for output, ref in zip(outputs, reference, strict=True):
        values = [
            value for chosen, top in output.logprobs for value in [chosen, *dict(top).values()]
        ]
        ref_values = [
            value for chosen, top in ref.logprobs for value in [chosen, *dict(top).values()]
        ]
        assert rel_err(torch.tensor(values), torch.tensor(ref_values)) < 1e-4


@pytest.mark.slow
def test_tp2_and_tp4_match_one_worker_with_kv_heads_split_and_replicated(
    tiny_8_heads: Path,
) -> None:
    prompts = [[1, 2, 3, 4, 5], list(range(100, 140)), [7, 7, 7]]
    reference = greedy(LLM(str(tiny_8_heads), max_model_len=256), prompts)
    for size in (2, 4):  # 2 KV heads: one per rank, then each replicated on two ranks
        llm = LLM(str(tiny_8_heads), tensor_parallel_size=size, max_model_len=256)
        try:
            assert_same_outputs(greedy(llm, prompts), reference)
        finally:
            llm.close()
        assert all(process.poll() is not None for process in llm.workers.processes)


@pytest.mark.slow
def test_a_split_llm_built_in_a_thread_outlives_that_thread(tiny_8_heads: Path) -> None:
    """Session 42's fuzzing: workers got PR_SET_PDEATHSIG, which fires when the *thread* that started them
    ends, so an LLM built in a worker thread lost its workers (SIGKILL) as soon as that thread returned."""
    built: dict[str, LLM] = {}
    thread = threading.Thread(
        target=lambda: built.update(llm=LLM(str(tiny_8_heads), tensor_parallel_size=2))
    )
    thread.start()
    thread.join(300)
    llm = built["llm"]
    try:
        time.sleep(1.0)  # a SIGKILL sent when the thread ended has landed by now
        assert [process.poll() for process in llm.workers.processes] == [None, None]
        assert_same_outputs(greedy(llm, [[1, 2, 3]]), greedy(LLM(str(tiny_8_heads)), [[1, 2, 3]]))
    finally:
        llm.close()
    # after close, generate says so (it raised the closed sockets' ZMQError)
    with pytest.raises(RuntimeError, match="this LLM is closed"):
        greedy(llm, [[1, 2, 3]])


def test_a_split_that_does_not_divide_is_refused_with_the_numbers(tiny_8_heads: Path) -> None:
    done = subprocess.run(
        [*LAUNCH, "--model", str(tiny_8_heads), "--workers", "3", *CPU_FLAGS],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "does not split over 3" in done.stderr
    assert "8 attention heads" in done.stderr
    assert "2 KV heads" in done.stderr


def test_a_worker_refuses_a_bad_split_before_the_rendezvous(tiny_8_heads: Path) -> None:
    # no peer listens at the rendezvous: the refusal must come first, not a hang
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "swiftllm.launch.worker_cmd",
            "--model",
            str(tiny_8_heads),
            "--rank",
            "0",
            "--world-size",
            "3",
            "--dist-init",
            f"tcp://127.0.0.1:{free_port()}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "8 attention heads" in done.stderr


def test_a_rank_that_exits_while_starting_fails_connect_with_its_exit_code(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """LocalWorkers.connect (swiftctl launch, a split LLM) raises when a rank exits before binding its
    socket, naming the rank, its pid and its exit code; the rank's own line says why."""
    missing = tmp_path / "no-such-model"
    workers = LocalWorkers(EngineConfig(model=str(missing), device="cpu"))
    try:
        pid = workers.processes[0].pid
        why = rf"^worker rank 0 \(pid {pid}\) exited with code 2 while starting$"
        with pytest.raises(RuntimeError, match=why):
            workers.connect(timeout_s=120)
    finally:
        workers.stop(polite=False)
    assert f"swiftllm worker: model directory '{missing}' does not exist" in capfd.readouterr().err
    assert not Path(workers.runtime_dir).exists()


def test_workers_that_do_not_bind_in_time_fail_connect(tiny_model_dir: Path) -> None:
    workers = LocalWorkers(EngineConfig(model=str(tiny_model_dir), device="cpu"))
    try:
        with pytest.raises(RuntimeError, match=r"^the workers did not start within 0.05 s$"):
            workers.connect(timeout_s=0.05)  # a worker takes seconds to import torch and load
        assert workers.problem() is None  # still starting: not a rank that died
    finally:
        workers.stop(polite=False)
    assert workers.processes[0].poll() is not None and not Path(workers.runtime_dir).exists()


SHADOW = "open('shadowed', 'w').close()\nraise SystemExit(3)\n"  # an argparse.py stand-in


@pytest.mark.skipif(sys.version_info < (3, 11), reason="PYTHONSAFEPATH is Python 3.11's")
def test_a_module_in_the_current_directory_does_not_shadow_the_workers_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # worker_cmd imports argparse first; a stand-in here would run instead of the standard library's
    (tmp_path / "argparse.py").write_text(SHADOW)
    monkeypatch.chdir(tmp_path)
    config = EngineConfig(model=str(tmp_path / "no-such-model"), device="cpu")
    worker = start_worker(config, f"ipc://{tmp_path}/worker.sock", 0, "", new_token())
    assert worker.wait(timeout=120) == 2  # the real argparse read the flags; the model is missing
    assert not (tmp_path / "shadowed").exists()


def test_on_python_3_10_the_worker_drops_the_current_directory_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 3.10 ignores PYTHONSAFEPATH, so there start_worker's command drops '' from the path as its first
    # statement. Its command is built here as on 3.10 and run by this Python without PYTHONSAFEPATH (as
    # 3.10 would run it); a command that left the directory on the path would run the stand-in (exit 3)
    (tmp_path / "argparse.py").write_text(SHADOW)
    monkeypatch.chdir(tmp_path)
    started: list[tuple[list[str], dict]] = []
    with monkeypatch.context() as patch:
        patch.setattr(sys, "version_info", (3, 10, 13, "final", 0))
        patch.setattr(
            subprocess, "Popen", lambda command, **kwargs: started.append((command, kwargs))
        )
        config = EngineConfig(model=str(tmp_path / "no-such-model"), device="cpu")
        start_worker(config, f"ipc://{tmp_path}/worker.sock", 0, "", new_token())
    command, options = started[0]
    assert command[1] == "-c" and "swiftllm.launch.worker_cmd" in command[2]
    env = {key: value for key, value in options["env"].items() if key != "PYTHONSAFEPATH"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    # the real argparse read the flags; the model is missing
    assert done.returncode == 2, done.stderr
    assert not (tmp_path / "shadowed").exists()


def test_a_worker_refuses_stages_that_do_not_divide_its_group(tiny_8_heads: Path) -> None:
    # EngineConfig's rule, the one check on this path (ModelRunner does not repeat it)
    done = subprocess.run(
        [sys.executable, "-m", "swiftllm.launch.worker_cmd", "--model", str(tiny_8_heads)]
        + ["--rank", "0", "--world-size", "3", "--pipeline-parallel-size", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "3 workers do not form 2 pipeline stages" in done.stderr


def start_launch(*flags: str) -> tuple[subprocess.Popen, str]:
    env = {key: value for key, value in os.environ.items() if key != "SWIFTLLM_API_KEY"}
    proc = subprocess.Popen(
        [*LAUNCH, *flags],
        stdout=subprocess.PIPE,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
    )
    try:
        return proc, wait_for_url(proc)
    except BaseException:
        proc.kill()
        proc.wait()
        raise


def stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def completions(url: str, prompts: list[str]) -> list:
    import openai

    client = openai.OpenAI(base_url=url + "/v1", api_key="none", max_retries=0)
    model = client.models.list().data[0].id
    choices = []
    for prompt in prompts:
        response = client.completions.create(
            model=model, prompt=prompt, max_tokens=12, temperature=0, logprobs=5
        )
        choices.append(response.choices[0])
    return choices


@pytest.fixture(scope="module")
def smollm_reference(smollm: str) -> list:
    params = SamplingParams(max_tokens=12, temperature=0, logprobs=0)
    return LLM(smollm, max_model_len=256).generate(PROMPTS, params)


@pytest.mark.slow
@pytest.mark.parametrize(
    "split,num_workers",
    [(["--workers", "3"], 3), (["--workers", "2", "--pp", "2"], 2)],
    ids=["tp3", "pp2"],
)
def test_smollm2_split_over_rest_matches_one_worker(
    smollm: str, smollm_reference: list, split: list[str], num_workers: int
) -> None:
    proc, url = start_launch("--model", smollm, *split, *CPU_FLAGS)
    try:
        workers = child_pids(proc.pid)
        assert len(workers) == num_workers
        choices = completions(url, PROMPTS)
    finally:
        assert stop(proc) == 0
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)
    assert [choice.text for choice in choices] == [ref.text for ref in smollm_reference]
    served = [value for choice in choices for value in choice.logprobs.token_logprobs]
    expected = [chosen for ref in smollm_reference for chosen, _ in ref.logprobs]
    assert len(served) == len(expected)
    assert rel_err(torch.tensor(served), torch.tensor(expected)) < 1e-4


@pytest.mark.slow
def test_tp3_by_pp2_on_a_tiny_model_matches_one_worker(tmp_path: Path) -> None:
    # 2 layers, 6 heads, 3 KV heads: six ranks, two stages of three
    save_tiny_model(
        tmp_path, hidden_size=96, num_attention_heads=6, num_key_value_heads=3, vocab_size=132
    )
    prompts = [[1, 2, 3, 4, 5], list(range(10, 40)), [7, 7, 7]]
    reference = greedy(LLM(str(tmp_path)), prompts)
    llm = LLM(str(tmp_path), tensor_parallel_size=3, pipeline_parallel_size=2)
    try:
        assert_same_outputs(greedy(llm, prompts), reference)
    finally:
        llm.close()


def test_more_stages_than_layers_are_refused_with_the_numbers(tiny_8_heads: Path) -> None:
    done = subprocess.run(
        [*LAUNCH, "--model", str(tiny_8_heads), "--workers", "4", "--pp", "4", *CPU_FLAGS],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "4 pipeline stages need at least as many layers; the model has 2" in done.stderr


@pytest.mark.slow
def test_killing_one_rank_fails_its_requests_and_stops_everything(tiny_8_heads: Path) -> None:
    import openai

    proc, url = start_launch(
        "--model", str(tiny_8_heads), "--workers", "2", *CPU_FLAGS[:4], "--max-model-len", "8192"
    )
    workers = child_pids(proc.pid)
    assert len(workers) == 2
    client = openai.OpenAI(base_url=url + "/v1", api_key="none", max_retries=0, timeout=60)
    finish_reasons = []
    try:
        stream = client.completions.create(
            model=client.models.list().data[0].id,
            prompt="Hello",
            max_tokens=8000,
            stream=True,
            extra_body={"ignore_eos": True},
        )
        with pytest.raises(openai.APIError):
            for chunk in stream:
                finish_reasons.append(chunk.choices[0].finish_reason)
                if len(finish_reasons) == 3:
                    os.kill(workers[1], signal.SIGKILL)
        assert proc.wait(30) != 0
    finally:
        stop(proc)
    assert "length" not in finish_reasons
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)


@pytest.mark.slow
def test_two_hosts_on_loopback_serve_the_same_text(tiny_8_heads: Path, tmp_path: Path) -> None:
    """Workers started by hand with a session token; a launcher with a wrong token is refused and
    changes nothing, one with the right token serves the same text as one worker."""
    reference = LLM(str(tiny_8_heads), max_model_len=256).generate(
        PROMPTS, SamplingParams(max_tokens=12, temperature=0)
    )
    token_file = write_token_file(tmp_path / "token", new_token())
    wrong_token_file = write_token_file(tmp_path / "wrong", new_token())
    dist_init = f"tcp://127.0.0.1:{free_port()}"
    addresses = [f"tcp://127.0.0.1:{free_port()}" for _ in range(2)]
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "swiftllm.launch.cli",
                "worker",
                "--model",
                str(tiny_8_heads),
                "--device",
                "cpu",
                "--rank",
                str(rank),
                "--world-size",
                "2",
                "--dist-init",
                dist_init,
                "--bind",
                addresses[rank],
                "--token-file",
                str(token_file),
            ],
            stdout=subprocess.DEVNULL,
        )
        for rank in range(2)
    ]
    attach = ["--model", str(tiny_8_heads), "--worker-addrs", ",".join(addresses), *CPU_FLAGS]
    try:
        refused = subprocess.run(
            [*LAUNCH, *attach, "--token-file", str(wrong_token_file)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert refused.returncode != 0
        assert "Unauthorized" in refused.stderr
        assert f"waiting up to 300 s for the workers at {','.join(addresses)}" in refused.stderr
        proc, url = start_launch(*attach, "--token-file", str(token_file))
        try:
            assert child_pids(proc.pid) == []  # attached, not spawned
            choices = completions(url, PROMPTS)
        finally:
            assert stop(proc) == 0
        assert [choice.text for choice in choices] == [ref.text for ref in reference]
        assert all(
            worker.poll() is None for worker in workers
        )  # left serving for the next controller
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()


@pytest.mark.slow
@pytest.mark.parametrize("interrupted_rank", [0, 1])
def test_a_generate_interrupted_mid_reply_leaves_the_split_llm_serving(
    tiny_8_heads: Path, interrupted_rank: int
) -> None:
    """Ctrl-C while the controller waits for one rank's reply to a step (rank 1: after rank 0's reply to the
    same step was read): generate raises, and the next one gives what a fresh split LLM gives, with every
    rank's reply stream back in step (no reply owed by any rank). Before session 38 an interrupt at rank 1
    left rank 1 one reply behind the others for the rest of the LLM's life."""
    llm = LLM(str(tiny_8_heads), tensor_parallel_size=2, max_model_len=256)
    try:
        prompts = [[1, 2, 3], [4, 5, 6, 7]]
        expected = greedy(llm, prompts)
        client = llm.engine.worker.clients[interrupted_rank]
        real_recv_step = client.recv_step
        calls = {"recv": 0}

        def interrupt_before_the_third() -> object:
            calls["recv"] += 1
            if calls["recv"] == 3:
                raise KeyboardInterrupt
            return real_recv_step()

        client.recv_step = interrupt_before_the_third
        with pytest.raises(KeyboardInterrupt):
            greedy(llm, [[9, 9, 9, 9, 9, 9, 9]] * 3)
        assert calls["recv"] >= 3
        del client.recv_step
        assert [len(rank.in_flight) for rank in llm.engine.worker.clients] == [0, 0]
        assert_same_outputs(greedy(llm, prompts), expected)
    finally:
        llm.close()


@pytest.mark.slow
def test_a_rank_silent_after_another_ranks_failed_step_ends_the_split_llm_at_once(
    tiny_8_heads: Path,
) -> None:
    """One rank answers a step with an error while the other never answers (as when a rank's step fails and
    its peer waits in a collective for it; here rank 1 is stopped with SIGSTOP and rank 0's error injected):
    generate raises the group's Timeout after ERROR_GRACE_MS, stops the worker processes, and the next call
    says at once that the LLM is gone. Before session 38 generate went on to read back each step in flight (in
    a real failure the failed rank's next step blocks in its collective too: the client's timeout, 300 s, a
    step; here 5 s a step, the injected error repeating) and left the processes running, stuck."""
    llm = LLM(str(tiny_8_heads), tensor_parallel_size=2, max_model_len=256)
    try:
        greedy(llm, [[1, 2, 3]])  # both ranks idle now, every reply read
        os.kill(llm.workers.processes[1].pid, signal.SIGSTOP)
        group = llm.engine.worker
        real_wait = group.wait_for_reply

        def rank_0_answers_at_once(rank: int, *args: object) -> None:
            if rank != 0:
                real_wait(rank, *args)

        def fail() -> object:
            raise WorkerError("OutOfMemory", "injected: rank 0's step failed")

        group.wait_for_reply = rank_0_answers_at_once
        group.clients[0].recv_step = fail
        errors: list[BaseException] = []

        def generate() -> None:
            try:
                greedy(llm, [[9, 9, 9, 9]])
            except BaseException as error:
                errors.append(error)

        started = time.monotonic()
        thread = threading.Thread(target=generate, daemon=True)
        thread.start()
        thread.join(60)
        assert not thread.is_alive(), "generate did not return within 60 s"
        assert isinstance(errors[0], WorkerError) and errors[0].type == "Timeout"
        assert "injected" in errors[0].message
        assert time.monotonic() - started < 30
        assert all(process.poll() is not None for process in llm.workers.processes)
        with pytest.raises(RuntimeError, match="create a new LLM"):
            greedy(llm, [[1, 2, 3]])
    finally:
        for process in llm.workers.processes:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
        llm.close()
