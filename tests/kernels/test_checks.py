"""The package's scalar checks (kernels/checks.py): accepted values, and the exact messages."""

import math

import numpy as np
import pytest

from dask_coded.errors import InputError
from dask_coded.kernels import checks


def message(fn, *args, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        fn(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_bools_are_not_numbers(value):
    assert message(checks.integer, "m", value) == "m must be an integer, got bool"
    assert message(checks.real, "x", value) == "x must be a real number, got bool"
    assert message(checks.positive, "x", value) == "x must be a real number, got bool"
    assert message(checks.fraction, "p", value) == "p must be a real number, got bool"
    assert message(checks.seed, "seed", value) == "seed must be an integer, got bool"
    assert not checks.is_integer(value) and not checks.is_real(value)


def test_numpy_scalars_accepted_and_returned_plain():
    out = checks.integer("m", np.int64(5), 1)
    assert out == 5 and type(out) is int
    out = checks.real("x", np.float32(0.5))
    assert out == 0.5 and type(out) is float
    assert type(checks.real("x", np.int8(3))) is float
    assert checks.seed("seed", np.uint32(7)) == 7
    assert checks.flag("f", np.bool_(False)) is False


def test_numpy_scalars_print_as_python_numbers():
    assert message(checks.integer, "m", np.int64(0), 1) == "m must be >= 1, got 0"
    assert message(checks.real, "x", np.float64(-0.5), low=0) == "x must be >= 0, got -0.5"
    assert message(checks.positive, "x", np.float32(0.0)) == "x must be > 0, got 0.0"
    assert message(checks.fraction, "p", np.float64(1.5)) == "p must be in [0, 1], got 1.5"


def test_wrong_types_are_named_not_printed():
    long_text = "x" * 10_000
    assert message(checks.integer, "n", 2.0) == "n must be an integer, got float"
    assert message(checks.integer, "n", long_text) == "n must be an integer, got str"
    assert message(checks.real, "x", [1.0] * 1000) == "x must be a real number, got list"
    assert message(checks.real, "x", None) == "x must be a real number, got None"
    assert message(checks.flag, "f", 1) == "f must be True or False, got int"
    assert message(checks.flag, "f", long_text) == "f must be True or False, got str"


def test_optional_none():
    assert checks.integer("n", None, 1, optional=True) is None
    assert checks.real("x", None, low=0, optional=True) is None
    assert checks.positive("x", None, optional=True) is None
    assert checks.fraction("p", None, optional=True) is None
    assert checks.seed("seed", None) is None
    assert message(checks.integer, "n", None, 1) == "n must be an integer, got None"
    assert message(checks.positive, "x", None) == "x must be a real number, got None"


def test_integer_bounds():
    assert checks.integer("n", 1, 1) == 1
    assert checks.integer("n", 10, 1, high=10) == 10
    assert checks.integer("n", -5) == -5  # no bound
    assert message(checks.integer, "n", 0, 1) == "n must be >= 1, got 0"
    assert message(checks.integer, "n", 11, 1, high=10) == "n must be <= 10, got 11"


def test_real_bounds_strict_and_not():
    assert checks.real("x", 0, low=0) == 0.0
    assert message(checks.real, "x", 0, low=0, strict=True) == "x must be > 0, got 0"
    assert message(checks.real, "x", -1, low=0) == "x must be >= 0, got -1"
    assert checks.real("x", 2.0, high=2) == 2.0
    assert message(checks.real, "x", 2.5, high=2) == "x must be <= 2, got 2.5"
    assert message(checks.real, "x", 2, high=2, strict_high=True) == "x must be < 2, got 2"
    assert message(checks.real, "c", 2e15, low=1, high=1e15, strict_high=True) \
        == "c must be < 1e+15, got 2e+15"
    assert message(checks.positive, "x", -0.001) == "x must be > 0, got -0.001"


def test_non_finite():
    assert message(checks.real, "x", math.inf) == "x must be finite, got inf"
    assert message(checks.real, "x", -np.inf) == "x must be finite, got -inf"
    assert message(checks.real, "x", np.nan) == "x must be finite, got nan"
    assert message(checks.positive, "x", math.inf) == "x must be finite, got inf"
    # finite=False lets +-inf through (a deadline of inf: wait for everyone), never NaN
    assert checks.real("x", math.inf, finite=False) == math.inf
    assert checks.positive("x", math.inf, finite=False) == math.inf
    assert message(checks.real, "x", math.nan, finite=False) == "x must not be NaN"
    assert message(checks.positive, "x", -math.inf, finite=False) == "x must be > 0, got -inf"
    assert checks.real("x", 10**400, finite=False) == math.inf


def test_fraction_intervals():
    assert checks.fraction("p", 0) == 0.0 and checks.fraction("p", 1) == 1.0
    assert message(checks.fraction, "p", 2) == "p must be in [0, 1], got 2"
    assert message(checks.fraction, "p", 0.0, open_low=True) == "p must be in (0, 1], got 0.0"
    assert message(checks.fraction, "p", 1.0, open_high=True) == "p must be in [0, 1), got 1.0"
    assert message(checks.fraction, "p", 1, open_low=True, open_high=True) \
        == "p must be in (0, 1), got 1"
    assert message(checks.fraction, "p", math.nan) == "p must be in [0, 1], got nan"
    assert checks.fraction("p", 0.5, open_low=True, open_high=True) == 0.5


def test_seed():
    assert checks.seed("seed", 0) == 0
    assert message(checks.seed, "seed", -1) == "seed must be >= 0, got -1"
    assert message(checks.seed, "solver.seed", 1.5) \
        == "solver.seed must be an integer, got float"


def test_choice_names_a_string_or_number_and_types_anything_else():
    opts = ("sd", "srht")
    assert checks.choice("method", "sd", opts) == "sd"
    assert message(checks.choice, "method", "newton", opts) == \
        "unknown method 'newton'; choose one of sd, srht"
    assert message(checks.choice, "method", 5, opts) == "unknown method 5; choose one of sd, srht"
    assert message(checks.choice, "method", np.zeros((3, 3)), opts, menu="sd or srht") == \
        "unknown method of type ndarray; choose sd or srht"
    assert message(checks.choice, "method", "x" * 500, opts).count("x") < 210  # cut


def test_fraction_of_a_huge_int_is_an_input_error():
    assert message(checks.fraction, "f", 10**400) == f"f must be in [0, 1], got {10**400}"
