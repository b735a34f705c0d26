"""SwiftLLM: a tiny yet powerful LLM inference system for research."""

from swiftllm.llm import LLM, RequestOutput
from swiftllm.sampling_params import SamplingParams

__all__ = ["LLM", "RequestOutput", "SamplingParams"]
