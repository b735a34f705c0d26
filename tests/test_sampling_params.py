"""SamplingParams.resolved: a temperature too small for float32 means greedy."""

from swiftllm.sampling_params import SamplingParams


def test_tiny_temperatures_resolve_to_greedy() -> None:
    for tiny in (1e-40, 5e-324, 9.9e-6):
        assert SamplingParams(temperature=tiny).resolved({}).temperature == 0.0
    assert SamplingParams(temperature=1e-5).resolved({}).temperature == 1e-5
    assert SamplingParams().resolved({"temperature": 1e-9}).temperature == 0.0
    assert SamplingParams().resolved({}).temperature == 1.0
