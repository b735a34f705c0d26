"""Which model directory to serve: the one named, or the embedded SmolLM2 (imported on first use)."""

from pathlib import Path

from swiftllm.model_config import ModelError


def resolve_model(model: str | Path | None) -> str:
    """The model directory as a string; None means the embedded model, imported from its GGUF once.

    Raises ModelError if a named directory does not exist or is a file (its contents are checked when it
    is read). Only the embedded model is imported from a GGUF: gguf_import reads that file's metadata
    and tensors alone (no rope scaling, one pre-tokenizer)."""
    if model is None:
        # the GGUF reader: only when needed
        from swiftllm.models.gguf_import import ensure_default_model

        return str(ensure_default_model())
    if Path(model).is_file():  # a .gguf, say ("does not exist" misled): we serve directories only
        raise ModelError(f"{str(model)!r} is a file; a model is an HF-style directory")
    if model == "" or not Path(model).is_dir():  # Path("") is the current directory
        raise ModelError(f"model directory {str(model)!r} does not exist")
    return str(model)
