"""swiftllm/field_rules.py: the rules SamplingParams and the REST schema share."""

import math
import random

import numpy as np

from swiftllm.field_rules import (
    INT,
    NUMBER,
    PARAM_FIELDS,
    SAMPLING_FIELDS,
    Field,
    finite_in,
    float32,
    is_text,
    is_token_id,
)
from swiftllm.sampling_params import SamplingParams


def test_a_bool_is_never_a_number_unless_asked_for() -> None:
    assert Field(INT, "an integer").is_kind(3)
    assert not Field(INT, "an integer").is_kind(True)
    assert not Field(NUMBER, "a number").is_kind(False)
    assert Field((bool,), "a boolean").is_kind(False)
    assert not Field((bool,), "a boolean").is_kind(0)


def test_finite_in_judges_the_float32_value() -> None:
    valid = finite_in(1e-38, 1)
    assert valid(1.0) and valid(2e-38)
    assert valid(1e-38)  # float32 rounds it to 9.99995e-39, as it rounds the bound
    assert not valid(1e-39) and not valid(1e-46)  # 1e-46 is 0 in float32
    assert not valid(math.nan) and not valid(math.inf)
    assert not finite_in(0, 100)(10**400)  # beyond any float: inf, not an OverflowError


def test_float32_rounds_as_numpy_does() -> None:
    # the oracle: numpy's float32 cast; random reals over float32's whole range and past it, subnormals,
    # the largest float32 and its neighbours, and integers beyond any float (signed infinities)
    rng = random.Random(0)
    largest = float(np.finfo(np.float32).max)
    values = [0.0, -0.0, 1e-46, 1e-45, -1e-45, 1e-38, largest, largest * (1 + 2**-25), 2.0**128]
    values += [math.nan, math.inf, -math.inf, 1e39, -1e39, 10**38, 2**128 - 2**103, -(2**200)]
    values += [
        rng.choice((-1, 1)) * rng.random() * 2.0 ** rng.uniform(-160, 140) for _ in range(20000)
    ]
    for value in values:
        with np.errstate(over="ignore"):
            expected = float(np.float32(value))
        got = float32(value)
        assert got == expected or (math.isnan(got) and math.isnan(expected)), value
        assert math.copysign(1, got) == math.copysign(1, expected), value
    assert float32(10**400) == math.inf and float32(-(10**400)) == -math.inf


def test_every_sampling_params_field_has_a_rule() -> None:
    names = set(SamplingParams.__dataclass_fields__)
    assert names == set(PARAM_FIELDS)
    assert set(SAMPLING_FIELDS) == names - {"max_tokens", "logprobs"}
    # each default passes its own rule (None: unset)
    for name, rule in PARAM_FIELDS.items():
        default = SamplingParams.__dataclass_fields__[name].default
        assert default is None or rule.accepts(default), name


def test_text_that_utf8_cannot_encode_is_not_text() -> None:
    assert is_text("héllo ✓")
    assert not is_text("a\ud800") and not is_text(b"bytes")


def test_is_token_id_takes_integers_of_every_kind_but_bool() -> None:
    # the plain-int fast path and the Integral check must agree on what a token id is
    assert all(
        is_token_id(value) for value in (0, 7, 2**40, np.int64(3), np.int32(5), np.uint16(9))
    )
    not_ids = (True, False, np.bool_(True), 3.0, np.float32(3), "3", None, [3])
    assert not any(is_token_id(value) for value in not_ids)
