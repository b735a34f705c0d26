"""swiftctl's flags come from EngineConfig: same defaults, and what the launcher passes a worker parses back."""

from __future__ import annotations

import argparse

import pytest

from swiftllm.config import EngineConfig
from swiftllm.launch import worker_cmd
from swiftllm.launch.args import (
    ENGINE_OPTIONS,
    SERVER_OPTIONS,
    WORKER_OPTIONS,
    flags_from_config,
    options_from_args,
)
from swiftllm.launch.cli import build_parser
from swiftllm.worker.model_runner import WorkerConfig


def test_flag_defaults_are_the_config_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWIFTLLM_API_KEY", raising=False)
    parser = build_parser()
    launch = parser.parse_args(["launch"])
    assert (
        EngineConfig(**options_from_args(launch, ENGINE_OPTIONS + SERVER_OPTIONS)) == EngineConfig()
    )
    generate = parser.parse_args(["generate", "--prompt", "hi"])
    assert EngineConfig(**options_from_args(generate, ENGINE_OPTIONS)) == EngineConfig()


def test_flags_set_the_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWIFTLLM_API_KEY", "from-env")
    args = build_parser().parse_args(
        [
            "launch",
            "--max-num-batched-tokens",
            "64",
            "--swap-space",
            "0.5",
            "--no-cuda-graphs",
            "--load-format",
            "dummy",
            "--max-model-len",
            "512",
        ]
    )
    config = EngineConfig(**options_from_args(args, ENGINE_OPTIONS + SERVER_OPTIONS))
    assert (config.max_num_batched_tokens, config.swap_space_gb) == (64, 0.5)
    assert (config.cuda_graphs, config.load_format, config.max_model_len) == (False, "dummy", 512)
    assert config.api_key == "from-env"


@pytest.mark.parametrize(
    "flag", ["--no-prefix-caching", "--no-enable-prefix-caching", "--prefix-caching", None]
)
def test_prefix_caching_flags(flag: str | None) -> None:
    args = build_parser().parse_args(["generate", "--prompt", "hi", *([flag] if flag else [])])
    config = EngineConfig(**options_from_args(args, ENGINE_OPTIONS))
    assert config.enable_prefix_caching is (flag is None or not flag.startswith("--no-"))
    assert ("--no-prefix-caching" in flags_from_config(config, ENGINE_OPTIONS)) is (
        not config.enable_prefix_caching
    )


@pytest.mark.parametrize("cuda_graphs", [True, False])
def test_worker_flags_round_trip(cuda_graphs: bool) -> None:
    config = EngineConfig(
        model="/some/dir",
        device="cpu",
        dtype="bfloat16",
        load_format="dummy",
        cuda_graphs=cuda_graphs,
        max_num_batched_tokens=16384,  # the workers keep room for steps of the controller's limits
        max_num_seqs=256,
    )
    parser = argparse.ArgumentParser()
    worker_cmd.add_arguments(parser)
    args = parser.parse_args([*flags_from_config(config, WORKER_OPTIONS), "--bind", "ipc:///x"])
    assert options_from_args(args, WORKER_OPTIONS) == {
        name: getattr(config, name) for name in WORKER_OPTIONS
    }
    assert args.bind == "ipc:///x"
    assert WorkerConfig(**options_from_args(args, WORKER_OPTIONS)).max_num_batched_tokens == 16384


@pytest.mark.parametrize("command", ["launch", "serve"])
def test_help_never_prints_the_api_key_from_the_environment(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Session 67's help hunt: `--help` showed `(default: sk-...)`, $SWIFTLLM_API_KEY's value."""
    monkeypatch.setenv("SWIFTLLM_API_KEY", "sk-secret-123")
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    help_text = capsys.readouterr().out
    assert "--api-key" in help_text
    assert "sk-secret-123" not in help_text


def test_warm_up_is_a_server_flag() -> None:
    """Only a server warms up before listening: `generate --no-warm-up` was taken and did nothing."""
    parser = build_parser()
    assert parser.parse_args(["launch", "--no-warm-up"]).warm_up is False
    with pytest.raises(SystemExit):
        parser.parse_args(["generate", "--prompt", "hi", "--no-warm-up"])
