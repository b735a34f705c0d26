"""bench/bridge.py: its byte counts against HF's and the published parameter count, the bridged ratio, and
both timed modes and the comparison run end to end on the CPU (tiny model, dummy weights)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from bench_scripts import load_script
from conftest import save_tiny_model

bridge = load_script("bridge")
LLAMA3_8B = load_script("shapes").LLAMA3_8B

CPU_OPTIONS = json.dumps({"device": "cpu", "dtype": "float32", "kv_cache_memory_gb": 0.05})


def test_weight_bytes_are_the_parameters_a_step_reads(tmp_path: Path) -> None:
    # Llama-3-8B: 8,030,261,248 parameters, of which the embedding is 128,256 x 4,096 (untied head)
    embedding = 128_256 * 4_096
    assert bridge.weight_bytes(LLAMA3_8B) == 2 * (8_030_261_248 - embedding)
    assert (
        bridge.kv_bytes_per_token(LLAMA3_8B) == 128 * 1024
    )  # 32 layers x 8 KV heads x 128 x K, V x 2 B
    # a tiny tied model: HF's parameters, less the embedding, plus the head that shares it
    model = save_tiny_model(tmp_path, tie_word_embeddings=True)
    config = json.loads((tmp_path / "config.json").read_text())
    params = sum(p.numel() for name, p in model.named_parameters() if "embed_tokens" not in name)
    head = config["vocab_size"] * config["hidden_size"]
    assert bridge.weight_bytes(config) == 2 * (params + head)


def test_bridged_ratio_chains_the_two_machines() -> None:
    # vLLM 10% slower than the reference there; ours 20% faster than the reference here
    assert bridge.bridged_ratio(11.0, 10.0, 12.0, 10.0) == pytest.approx(1.1 * 1.2)
    # a slow machine slows both trees alike: the bridged ratio does not move, the direct one does
    assert bridge.bridged_ratio(11.0, 10.0, 12.0 * 1.05, 10.0 * 1.05) == pytest.approx(1.32)


def run_bridge(monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    monkeypatch.setattr(sys, "argv", ["bridge.py", *args])
    bridge.main()


def test_decode_and_offline_runs_and_their_comparison(
    tiny_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    common = [
        "--model",
        str(tiny_model_dir),
        "--llm-options",
        CPU_OPTIONS,
        "--max-model-len",
        "128",
    ]
    decode = ["--batches", "1,2", "--prompt-tokens", "8", "--steps", "4", "--repeats", "1"]
    for label in ("ref", "ours"):
        out = str(tmp_path / f"decode_{label}.json")
        run_bridge(monkeypatch, "decode", *common, *decode, "--label", label, "--out", out)
    workload = tmp_path / "pairs.json"
    workload.write_text(json.dumps([[5, 3], [9, 6], [3, 2]]))
    for label in ("ref", "ours"):
        out = str(tmp_path / f"offline_{label}.json")
        offline = ["--workload", str(workload), "--label", label, "--out", out]
        run_bridge(monkeypatch, "offline", *common, *offline)
    decode_run = json.loads((tmp_path / "decode_ours.json").read_text())
    assert [row["batch"] for row in decode_run["rows"]] == [1, 2]
    assert all(row["t_long_s"] > 0 and row["t1_s"] > 0 for row in decode_run["rows"])
    assert decode_run["ceilings"] is None  # measured on a GPU only: no floors here
    # the worker keeps no device times on a CPU: the diagnostic is null, not NaN (which JSON lacks)
    assert all(row["device_ms_per_step"] is None for row in decode_run["rows"])
    assert decode_run["llm_options"]["max_num_batched_tokens"] == 16384
    offline_run = json.loads((tmp_path / "offline_ours.json").read_text())
    assert offline_run["offline"]["requests"] == 3
    assert offline_run["offline"]["output_tokens_per_s"] == pytest.approx(
        11 / offline_run["offline"]["seconds"]
    )
    capsys.readouterr()
    files = [
        tmp_path / name for name in ("decode_ref", "decode_ours", "offline_ref", "offline_ours")
    ]
    run_bridge(monkeypatch, "compare", *[f"{path}.json" for path in files])
    table = capsys.readouterr().out
    assert "decode, ref (reference) and ours (ours)" in table
    rows = [line.split() for line in table.splitlines() if line.split()[:1] in (["1"], ["2"])]
    assert [row[0] for row in rows] == ["1", "2"]
    ref_ms, ours_ms, ratio = (float(value) for value in rows[0][1:4])
    assert ratio == pytest.approx(ref_ms / ours_ms, rel=0.01)
    # N = 1 has vLLM's figure: the bridged ratio is vLLM / reference there x reference / ours here
    expected = bridge.bridged_ratio(4.94, 4.37, ref_ms, ours_ms)
    assert float(rows[0][6]) == pytest.approx(expected, rel=0.01)
    assert (
        "vLLM / ours bridged" in table
    )  # temperature 0 on both sides: the reference lease's range applies


def test_compare_refuses_an_odd_number_of_files_and_mixed_modes(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="in pairs"):
        bridge.compare(["a.json"])
    (tmp_path / "a.json").write_text(json.dumps({"mode": "decode"}))
    (tmp_path / "b.json").write_text(json.dumps({"mode": "offline"}))
    with pytest.raises(SystemExit, match="decode run"):
        bridge.compare([str(tmp_path / "a.json"), str(tmp_path / "b.json")])


class FakeEngine:
    def __init__(self) -> None:
        self.worker_ms = {"gpu_ms": 0.0}


class FakeLLM:
    """Answers generate at once, its worker spending 2 ms of device time a token per prompt's step (so a
    step of N rows costs 2 ms whatever N): what decode_rows must read back as 2 ms a step."""

    def __init__(self) -> None:
        self.engine = FakeEngine()

    def generate(self, prompts: list[list[int]], params: object) -> list[object]:
        self.engine.worker_ms["gpu_ms"] += 2.0 * params.max_tokens  # type: ignore[attr-defined]
        tokens = [0] * params.max_tokens  # type: ignore[attr-defined]
        return [type("Out", (), {"token_ids": tokens})() for _ in prompts]


def test_decode_rows_reads_the_workers_device_ms_a_step_where_the_tree_keeps_them() -> None:
    args = type("Args", (), {"steps": 8, "prompt_tokens": 4, "temperature": 0.0})()
    args.batches = "1,3"
    args.repeats = 3
    rows = bridge.decode_rows(FakeLLM(), args, {"vocab_size": 100}, None)
    # (t(9) - t(1)) in device ms over 8 steps: (18 - 2) / 8
    assert [row["device_ms_per_step"] for row in rows] == [pytest.approx(2.0)] * 2
    assert [row["batch"] for row in rows] == [1, 3]
