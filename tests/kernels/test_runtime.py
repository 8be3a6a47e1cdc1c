"""Tests of dask_coded.kernels.runtime (runtime models, paper Section II-E, eq. 12)."""

from __future__ import annotations

import numpy as np
import pytest

from dask_coded.errors import InputError
from dask_coded.kernels import runtime as rt

TRACE = np.random.default_rng(123).gamma(2.0, 1.5, size=400) + 0.1

MODELS = [
    rt.ShiftedExponential(shift=1.0, rate=2.0),
    rt.ShiftedExponential(shift=0.0, rate=0.5),
    rt.Pareto(scale=0.5, shape=1.5),
    rt.Pareto(scale=2.0, shape=4.0),
    rt.Empirical(TRACE),
]
IDS = ["sexp-1-2", "exp-0.5", "pareto-heavy", "pareto-light", "empirical"]


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_cdf_matches_sampled_ecdf(model):
    n = 20_000
    x = np.sort(model.sample(n, np.random.default_rng(7)))
    ecdf_hi = np.arange(1, n + 1) / n
    ecdf_lo = np.arange(n) / n
    f = model.cdf(x)
    ks = max(np.max(ecdf_hi - f), np.max(f - ecdf_lo))
    # The 99.9% KS quantile at n = 20000 is about 1.95 / sqrt(n) = 0.0138.
    assert ks < 0.02


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_cdf_shape_range_monotone(model):
    t = np.linspace(-1.0, 20.0, 301).reshape(7, 43)
    f = model.cdf(t)
    assert f.shape == t.shape
    assert f.dtype == np.float64
    assert np.all((f >= 0) & (f <= 1))
    assert np.all(np.diff(f.ravel()) >= 0)
    assert model.cdf(-np.inf) == 0.0
    assert model.cdf(np.inf) == 1.0
    assert np.ndim(model.cdf(1.0)) == 0
    np.testing.assert_array_equal(model.survival(t), 1.0 - f)


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@pytest.mark.parametrize("fraction", [0.5, 0.1, 1.0])
def test_scaled_is_cdf_at_t_over_fraction(model, fraction):
    t = np.linspace(0.0, 15.0, 97)
    scaled = model.scaled(fraction)
    assert type(scaled) is type(model)
    np.testing.assert_allclose(scaled.cdf(t), model.cdf(t / fraction), rtol=1e-12, atol=1e-15)
    # And a server with half the work is done earlier: F~(t) >= F(t).
    assert np.all(scaled.cdf(t) >= model.cdf(t) - 1e-15)


def test_scaled_half_matches_two_t():
    m = rt.ShiftedExponential(1.0, 2.0)
    t = np.array([0.4, 0.6, 1.0, 3.0])
    np.testing.assert_allclose(m.scaled(0.5).cdf(t), m.cdf(2 * t), rtol=1e-14)
    assert m.scaled(0.5) == rt.ShiftedExponential(0.5, 4.0)
    assert rt.Pareto(2.0, 3.0).scaled(0.25) == rt.Pareto(0.5, 3.0)


def test_scaled_samples_are_scaled():
    m = rt.ShiftedExponential(1.0, 2.0)
    a = m.scaled(0.5).sample(5000, np.random.default_rng(1))
    b = m.sample(5000, np.random.default_rng(1))
    np.testing.assert_allclose(a, 0.5 * b, rtol=1e-12)


def test_closed_forms():
    m = rt.ShiftedExponential(1.0, 2.0)
    np.testing.assert_allclose(m.cdf([0.5, 1.0, 1.5]), [0.0, 0.0, 1 - np.exp(-1.0)])
    p = rt.Pareto(2.0, 3.0)
    np.testing.assert_allclose(p.cdf([1.0, 2.0, 4.0]), [0.0, 0.0, 1 - 1 / 8])
    e = rt.Empirical([3.0, 1.0, 2.0, 2.0])
    # Right-continuous ECDF: ties count at the tied value.
    np.testing.assert_allclose(e.cdf([0.5, 1.0, 1.5, 2.0, 3.0]), [0, 0.25, 0.25, 0.75, 1.0])


def test_q_values():
    assert rt.Pareto(1.0, 1.0).q(4.0, 10) == 7  # F = 0.75
    assert rt.Empirical([1.0, 2.0, 3.0, 4.0]).q(2.5, 7) == 3  # floor(3.5)
    m = rt.ShiftedExponential(1.0, 1.0)
    assert m.q(0.5, 12) == 0
    assert m.q(np.inf, 12) == 12
    deadline = 1.0 + np.log(4.0)  # F = 3/4, up to rounding
    assert m.q(deadline, 10) == 7
    # The paper's q(T) uses the scaled model: half the work -> more responses by T.
    assert m.scaled(0.5).q(1.2, 10) > m.q(1.2, 10)


def test_sample_reproducible_and_support():
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    for model in MODELS:
        a = model.sample((4, 5), rng_a)
        b = model.sample((4, 5), rng_b)
        assert a.shape == (4, 5)
        np.testing.assert_array_equal(a, b)
    assert np.all(rt.ShiftedExponential(1.0, 2.0).sample(1000, rng_a) >= 1.0)
    assert np.all(rt.Pareto(0.5, 2.0).sample(1000, rng_a) >= 0.5)
    e = rt.Empirical([1.0, 2.0, 5.0])
    assert set(np.unique(e.sample(200, rng_a))) <= {1.0, 2.0, 5.0}


def test_empirical_storage():
    src = np.array([3.0, 1.0, 2.0])
    e = rt.Empirical(src)
    np.testing.assert_array_equal(e.times, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(src, [3.0, 1.0, 2.0])  # input untouched
    with pytest.raises(ValueError, match=r"read-only"):
        e.times[0] = 9.0
    assert e == rt.Empirical([1.0, 3.0, 2.0])
    assert hash(e) == hash(rt.Empirical([1.0, 3.0, 2.0]))
    assert e != rt.Empirical([1.0, 2.0, 4.0])


def test_factory():
    assert rt.runtime_model("shifted-exponential", shift=1, rate=2) == rt.ShiftedExponential(
        1.0, 2.0
    )
    assert rt.runtime_model("pareto", scale=1, shape=2) == rt.Pareto(1.0, 2.0)
    assert rt.runtime_model("empirical", times=[1.0, 2.0]) == rt.Empirical([2.0, 1.0])
    with pytest.raises(
        InputError, match=r"^unknown runtime model 'gamma'; known: bimodal, empirical, pareto, "
    ):
        rt.runtime_model("gamma", shape=1)
    with pytest.raises(InputError, match=r"^bad parameters for runtime model 'pareto'"):
        rt.runtime_model("pareto", scale=1)
    with pytest.raises(InputError, match=r"^bad parameters for runtime model 'pareto'"):
        rt.runtime_model("pareto", scale=1, shape=2, rate=3)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: rt.ShiftedExponential(-1.0, 1.0), "^shift must be >= 0"),
        (lambda: rt.ShiftedExponential(0.0, 0.0), "^rate must be > 0"),
        (lambda: rt.ShiftedExponential(0.0, np.inf), "^rate must be finite"),
        (lambda: rt.ShiftedExponential(0.0, True), "^rate must be a real number"),
        (lambda: rt.Pareto(0.0, 1.0), "^scale must be > 0"),
        (lambda: rt.Pareto(1.0, np.nan), "^shape must be finite"),
        (lambda: rt.Empirical([1.0]), "^times must hold at least 2 observations, got 1"),
        (lambda: rt.Empirical([1.0, -2.0]), "^times must be > 0"),
        (lambda: rt.Empirical([1.0, np.nan]), "^times contains NaN or Inf"),
        (lambda: rt.Empirical(["a", "b"]), "^times must be real numbers"),
    ],
)
def test_parameter_validation(build, match):
    with pytest.raises(InputError, match=match):
        build()


def test_call_validation():
    m = rt.ShiftedExponential(1.0, 2.0)
    with pytest.raises(InputError, match=r"^fraction must be in \(0, 1\], got 0.0"):
        m.scaled(0.0)
    with pytest.raises(InputError, match=r"^fraction must be in \(0, 1\], got 1.5"):
        m.scaled(1.5)
    with pytest.raises(InputError, match=r"^n_servers must be >= 1"):
        m.q(1.0, 0)
    with pytest.raises(InputError, match=r"^n_servers must be an integer"):
        m.q(1.0, 2.5)
    with pytest.raises(InputError, match=r"^deadline must not be NaN$"):
        m.q(np.nan, 3)
    with pytest.raises(InputError, match=r"^t contains NaN"):
        m.cdf([1.0, np.nan])
    with pytest.raises(InputError, match=r"^rng must be a numpy.random.Generator"):
        m.sample(3, 42)
