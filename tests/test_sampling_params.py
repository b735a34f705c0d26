"""SamplingParams.resolved: a temperature too small for float32 means greedy."""

import pytest

from swiftllm.sampling_params import SamplingParams


def test_tiny_temperatures_resolve_to_greedy() -> None:
    for tiny in (1e-40, 5e-324, 9.9e-6):
        assert SamplingParams(temperature=tiny).resolved({}).temperature == 0.0
    assert SamplingParams(temperature=1e-5).resolved({}).temperature == 1e-5
    assert SamplingParams().resolved({"temperature": 1e-9}).temperature == 0.0
    assert SamplingParams().resolved({}).temperature == 1.0


def test_values_float32_would_zero_are_refused_at_construction() -> None:
    """Session 42's fuzzing: top_p=1e-300 and repetition_penalty=1e-300 passed here, became 0 in the worker's
    float32 step, were refused there, and LLM.generate returned an empty "error" output (the CLI exited 0)."""
    import numpy as np
    import pytest

    for name, value in (("top_p", 1e-300), ("top_p", 1e-46), ("repetition_penalty", 1e-300)):
        assert np.float32(value) == 0
        with pytest.raises(ValueError, match=name):
            SamplingParams(**{name: value})
    # the smallest values accepted are positive in float32, as the worker's rules ask
    assert np.float32(SamplingParams(top_p=1e-38).top_p) > 0
    assert np.float32(SamplingParams(repetition_penalty=1e-6).repetition_penalty) > 0


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"logprobs": 2.5}, "logprobs"),
        ({"logprobs": "2"}, "logprobs"),
        ({"stop": 5}, "stop"),
        ({"stop_token_ids": ["2"]}, "stop_token_ids"),
        ({"stop_token_ids": [-1]}, "stop_token_ids"),
        # session 44's probe: an integer field took True (and logprobs 2.0), a boolean anything
        ({"logprobs": 2.0}, "logprobs"),
        ({"logprobs": True}, "logprobs"),
        ({"max_tokens": True}, "max_tokens"),
        ({"top_k": False}, "top_k"),
        ({"seed": True}, "seed"),
        ({"stop_token_ids": [True]}, "stop_token_ids"),
        ({"ignore_eos": "no"}, "ignore_eos"),
        ({"include_stop_str_in_output": 1}, "include_stop_str_in_output"),
        # a string or None where a number belongs: a TypeError that named no field
        ({"temperature": "0.5"}, "temperature"),
        ({"presence_penalty": None}, "presence_penalty"),  # None unsets only what defaults to it
        ({"max_tokens": None}, "max_tokens"),
        ({"min_p": [0.1]}, "min_p"),
        ({"stop": ["x"] * 17}, "stop"),  # REST's limit, the same table since session 45
    ],
)
def test_a_stop_or_logprobs_value_of_the_wrong_type_is_a_value_error_naming_it(
    values: dict, named: str
) -> None:
    """Before, `stop=5` raised "'int' object is not iterable", stop token ids that are not integers were
    accepted (and never matched), and logprobs=2.5 passed (the worker took it as 2)."""
    with pytest.raises(ValueError, match=f"^{named} must be"):
        SamplingParams(**values)


def test_one_stop_string_or_token_id_stands_for_a_list_of_one() -> None:
    assert SamplingParams(stop="###", stop_token_ids=7).stop == ("###",)
    assert SamplingParams(stop="###", stop_token_ids=7).stop_token_ids == (7,)
    assert SamplingParams(stop=["a", "b"], stop_token_ids=(1, 2)).stop_token_ids == (1, 2)


def test_numpy_scalars_are_taken_as_the_numbers_they_hold() -> None:
    """Session 45's probe: np.int64 seeds (np.random's) and np.float32 temperatures were refused as if
    they were not numbers. They are kept as Python's own, which the worker protocol's msgpack encodes."""
    import msgpack
    import numpy as np

    params = SamplingParams(
        max_tokens=np.int32(5),
        temperature=np.float32(0.5),
        seed=np.uint64(2**64 - 1),
        top_k=np.int64(3),
        ignore_eos=np.bool_(True),
    )
    assert (params.max_tokens, params.temperature, params.seed) == (5, 0.5, 2**64 - 1)
    assert (params.top_k, params.ignore_eos) == (3, True)
    for name in ("max_tokens", "temperature", "seed", "top_k", "ignore_eos"):
        assert type(getattr(params, name)) in (int, float, bool)
    msgpack.packb([params.seed, params.temperature, params.ignore_eos])
    # in the lists too (the probe found np.str_ stops and numpy stop token ids refused)
    lists = SamplingParams(stop=np.str_("x"), stop_token_ids=[np.int64(2), np.int32(3)])
    assert (lists.stop, lists.stop_token_ids) == (("x",), (2, 3))
    assert [type(value) for value in (*lists.stop, *lists.stop_token_ids)] == [str, int, int]
    assert SamplingParams(stop=[np.str_("a"), "b"], stop_token_ids=np.int64(7)).stop_token_ids == (
        7,
    )
    # the rules still hold for them: a numpy bool is no number, and the ranges apply
    with pytest.raises(ValueError, match="max_tokens must be an integer"):
        SamplingParams(max_tokens=np.bool_(True))
    with pytest.raises(ValueError, match="temperature must be a number in"):
        SamplingParams(temperature=np.float64(np.nan))
    with pytest.raises(ValueError, match="top_k must be an integer"):
        SamplingParams(top_k=np.int64(-2))


def test_what_a_vllm_script_passes_means_what_it_means_there() -> None:
    """Session 66's porting probe: `stop=None` and `stop_token_ids=None` (vLLM's defaults) were refused
    ("stop must be ..."), and `SamplingParams(2)`, vLLM's n=2, was taken as max_tokens=2."""
    params = SamplingParams(stop=None, stop_token_ids=None)
    assert params.stop == () and params.stop_token_ids == ()
    assert SamplingParams(stop_token_ids=0).stop_token_ids == (0,)  # token 0 is not None
    with pytest.raises(TypeError, match="positional"):
        SamplingParams(2)  # type: ignore[misc]
