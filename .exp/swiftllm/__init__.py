"""SwiftLLM: a tiny yet powerful LLM inference system for research.

`LLM` loads on first use: `import swiftllm.anything` must not pull torch into the controller process."""

from importlib import metadata
from typing import Any

from swiftllm.sampling_params import SamplingParams

__all__ = ["LLM", "RequestOutput", "SamplingParams", "__version__"]

try:
    __version__ = metadata.version("swiftllm")
except metadata.PackageNotFoundError:  # a checkout used through PYTHONPATH, never installed
    __version__ = "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    if name in ("LLM", "RequestOutput"):
        from swiftllm import llm

        return getattr(llm, name)
    raise AttributeError(f"module 'swiftllm' has no attribute {name!r}")
