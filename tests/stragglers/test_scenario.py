"""Tests of dask_coded.stragglers.scenario: model stragglers (seeded), their config, traces."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import dask_coded.stragglers
from dask_coded.errors import InputError
from dask_coded.kernels import runtime as rt
from dask_coded.stragglers import scenario as st

SEXP = rt.ShiftedExponential(shift=0.0, rate=20.0)

CONFIG = {
    "delay": {"distribution": "shifted-exponential", "shift": 0.0, "rate": 20.0},
    "slow": {"fraction": 0.25, "factor": 10},
    "throttle": {"workers": 1, "factor": 10},
    "kill": [{"round": 5, "workers": 1}],
    "seed": 0,
}


# ---------------------------------------------------------------------------- model stragglers


def test_delays_reproducible_per_seed_and_round():
    a = st.StragglerScenario(delay_model=SEXP, seed=3)
    b = st.StragglerScenario(delay_model=SEXP, seed=3)
    d = a.delays(4, 16)
    assert d.shape == (16,)
    assert np.all(d >= 0)
    np.testing.assert_array_equal(d, a.delays(4, 16))
    np.testing.assert_array_equal(d, b.delays(4, 16))  # a new object, the same experiment
    assert not np.array_equal(d, a.delays(5, 16))  # another round, other delays
    assert not np.array_equal(d, st.StragglerScenario(delay_model=SEXP, seed=4).delays(4, 16))
    assert st.StragglerScenario().delays(0, 16) is None


def test_delays_follow_the_model():
    d = st.StragglerScenario(delay_model=SEXP, seed=1).delays(0, 20_000)
    assert abs(d.mean() - 1 / 20.0) < 0.003  # mean of Exp(20) is 0.05; sd of the mean 3.5e-4


@pytest.mark.parametrize(("fraction", "n", "k"), [(0.25, 8, 2), (0.1, 30, 3), (0.3, 7, 3),
                                                  (1.0, 5, 5), (0.01, 4, 1)])
def test_slow_subset_size_and_fixed(fraction, n, k):
    s = st.StragglerScenario(slow_fraction=fraction, slow_factor=10, seed=2)
    slow = s.slow_servers(n)
    assert slow.size == k  # ceil(fraction * n), with 0.1 * 30 counted as 3, not 4
    assert len(set(slow.tolist())) == k and slow.min() >= 0 and slow.max() < n
    np.testing.assert_array_equal(slow, s.slow_servers(n))  # fixed for the whole run
    factors = s.slowdown(n)
    np.testing.assert_array_equal(np.flatnonzero(factors == 10.0), slow)
    assert np.all(np.isin(factors, [1.0, 10.0]))
    assert st.StragglerScenario(slow_fraction=fraction, slow_factor=10,
                                seed=2).slowdown(n).tolist() == factors.tolist()


def test_no_slow_servers_gives_none():
    assert st.StragglerScenario(slow_fraction=0.0, slow_factor=10).slowdown(8) is None
    assert st.StragglerScenario(slow_fraction=0.5, slow_factor=1).slowdown(8) is None


def test_is_empty():
    assert st.StragglerScenario().is_empty
    assert st.StragglerScenario(slow_fraction=0.5).is_empty  # factor 1: nobody is slower
    assert st.StragglerScenario(throttle_workers=2).is_empty
    assert not st.StragglerScenario(delay_model=SEXP).is_empty
    assert not st.StragglerScenario(slow_fraction=0.5, slow_factor=2).is_empty
    assert not st.StragglerScenario(throttle_workers=1, throttle_factor=3).is_empty
    assert not st.StragglerScenario(kills=((1, 1),)).is_empty


def test_scenario_constructor_validation():
    with pytest.raises(InputError, match=r"^slow_fraction must be in \[0, 1\], got 2$"):
        st.StragglerScenario(slow_fraction=2)
    with pytest.raises(InputError, match=r"^throttle_factor must be >= 1, got 0.5$"):
        st.StragglerScenario(throttle_factor=0.5)
    with pytest.raises(InputError, match=r"^kills\[0\] must be a \(round, n_workers\) pair"):
        st.StragglerScenario(kills=(5,))
    with pytest.raises(InputError, match=r"^delay_model must be a RuntimeModel or None"):
        st.StragglerScenario(delay_model="pareto")
    with pytest.raises(InputError, match=r"^round_id must be >= 0"):
        st.StragglerScenario(delay_model=SEXP).delays(-1, 4)
    assert st.StragglerScenario(kills=[(5, 1), (2, 2), (5, 1)]).kills == ((2, 2), (5, 1), (5, 1))
    assert st.StragglerScenario(kills=[(5, 1), (5, 1)]).kills_at(5) == 2


def test_from_config_full_example():
    s = st.StragglerScenario.from_config(CONFIG)
    assert s == st.StragglerScenario(delay_model=SEXP, slow_fraction=0.25, slow_factor=10.0,
                                     throttle_workers=1, throttle_factor=10.0,
                                     kills=((5, 1),), seed=0)
    assert s.kills_at(5) == 1 and s.kills_at(4) == 0
    assert isinstance(s.slow_factor, float)


def test_from_config_trace(tmp_path):
    np.savetxt(tmp_path / "times.txt", [0.2, 0.4, 0.3])
    s = st.StragglerScenario.from_config({"delay": {"trace": str(tmp_path / "times.txt")}})
    assert s.delay_model == rt.Empirical([0.2, 0.3, 0.4])
    assert set(s.delays(0, 50).tolist()) <= {0.2, 0.3, 0.4}
    # A relative path is relative to base_dir (the config file's directory).
    rel = st.StragglerScenario.from_config({"delay": {"trace": "times.txt"}}, base_dir=tmp_path)
    assert rel.delay_model == s.delay_model


def test_from_config_bimodal_and_empty():
    s = st.StragglerScenario.from_config(
        {"delay": {"distribution": "bimodal", "base": 0.01, "jitter": 0.002,
                   "tail_prob": 0.05, "tail": 1.0}, "seed": 7})
    assert s.delay_model == rt.Bimodal(0.01, 0.002, 0.05, 1.0) and s.seed == 7
    assert st.StragglerScenario.from_config(None) == st.StragglerScenario()
    assert st.StragglerScenario.from_config({}).is_empty


def _with(**changes):
    cfg = {k: (dict(v) if isinstance(v, dict) else v) for k, v in CONFIG.items()}
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            cfg[section][field] = value
        else:
            cfg[section] = value
    return cfg


@pytest.mark.parametrize(("config", "match"), [
    ([1, 2], r"^stragglers config must be a mapping, got list$"),
    (_with(delays={}),
     r"^unknown key 'delays'; expected one of delay, slow, throttle, freeze, kill, seed$"),
    (_with(slow__share=0.5), r"^unknown key 'slow.share'; expected one of fraction, factor$"),
    ({"slow": {"fraction": 0.5}}, r"^slow.factor is required$"),
    (_with(slow__fraction="half"), r"^slow.fraction must be a real number, got str$"),
    (_with(slow__fraction=1.5), r"^slow.fraction must be in \[0, 1\], got 1.5$"),
    (_with(slow__factor=0.5), r"^slow.factor must be >= 1, got 0.5$"),
    (_with(throttle__workers=-1), r"^throttle.workers must be >= 0, got -1$"),
    (_with(throttle__workers=1.5), r"^throttle.workers must be an integer, got float$"),
    (_with(throttle__factor=True), r"^throttle.factor must be a real number, got bool$"),
    (_with(throttle=[1, 10]), r"^throttle must be a mapping, got list$"),
    (_with(kill={"round": 5, "workers": 1}), r"^kill must be a list of \{round, workers\}"),
    (_with(kill=[5]), r"^kill\[0\] must be a mapping, got int$"),
    (_with(kill=[{"round": -1, "workers": 1}]), r"^kill\[0\].round must be >= 0, got -1$"),
    (_with(kill=[{"round": 1, "workers": 0}]), r"^kill\[0\].workers must be >= 1, got 0$"),
    (_with(kill=[{"round": 1}]), r"^kill\[0\].workers is required$"),
    (_with(seed=-3), r"^seed must be >= 0, got -3$"),
    (_with(seed="abc"), r"^seed must be an integer, got str$"),
    (_with(delay="shifted-exponential"), r"^delay must be a mapping, got str$"),
    (_with(delay={"rate": 2.0}), r"^delay needs either 'distribution' .* or 'trace'"),
    (_with(delay__distribution="gamma"),
     r"^delay.distribution 'gamma' is unknown; known: bimodal, empirical, pareto, shifted-"),
    (_with(delay__rate=-1.0), r"^delay.rate must be > 0, got -1.0$"),
    (_with(delay__shift="0"), r"^delay.shift must be a real number, got str$"),
    (_with(delay__scale=1.0), r"^unknown key 'delay.scale'; expected one of distribution, "
                              r"shift, rate$"),
    ({"delay": {"distribution": "pareto", "scale": 1.0}}, r"^delay.shape is required$"),
    (_with(delay__trace="t.txt"), r"^delay takes either 'trace' or 'distribution', not both$"),
    ({"delay": {"trace": 3}}, r"^delay.trace must be a file path, got int$"),
    ({"delay": {"trace": "/no/such/times.txt"}},
     r"^delay.trace: trace file /no/such/times.txt does not exist$"),
])
def test_from_config_rejects(config, match):
    with pytest.raises(InputError, match=match) as info:
        st.StragglerScenario.from_config(config)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------- Bimodal

BIMODAL = [rt.Bimodal(base=1.0, jitter=0.3, tail_prob=0.1, tail=6.0),
           rt.Bimodal(base=0.2, jitter=0.5, tail_prob=0.02, tail=3.0),  # folding matters
           rt.Bimodal(base=2.0, jitter=0.0, tail_prob=0.5, tail=4.0)]  # two point masses
BIMODAL_IDS = ["typical", "folded", "atoms"]


@pytest.mark.parametrize("model", BIMODAL, ids=BIMODAL_IDS)
def test_bimodal_cdf_matches_sampled_ecdf(model):
    n = 20_000
    x = np.sort(model.sample(n, np.random.default_rng(11)))
    # The model has atoms (the tail, and base when jitter = 0), so compare F and the ECDF on a
    # grid that includes them, rather than with the continuous-case KS formula.
    grid = np.concatenate([np.linspace(-1.0, 8.0, 901), [model.base, model.tail]])
    ecdf = np.searchsorted(x, grid, side="right") / n
    assert np.max(np.abs(ecdf - model.cdf(grid))) < 0.02  # 99.9% DKW bound is 0.0136


@pytest.mark.parametrize("model", BIMODAL, ids=BIMODAL_IDS)
def test_bimodal_cdf_properties(model):
    t = np.linspace(-1.0, 8.0, 301).reshape(7, 43)
    f = model.cdf(t)
    assert f.shape == t.shape and f.dtype == np.float64
    assert np.all((f >= 0) & (f <= 1)) and np.all(np.diff(f.ravel()) >= 0)
    assert model.cdf(-np.inf) == 0.0 and model.cdf(np.inf) == 1.0
    assert model.cdf(-1e-9) == 0.0  # a delay is never negative
    np.testing.assert_array_equal(model.survival(t), 1.0 - f)
    for fraction in (0.5, 0.1):
        np.testing.assert_allclose(model.scaled(fraction).cdf(t), model.cdf(t / fraction),
                                   rtol=1e-12, atol=1e-15)


def test_bimodal_closed_form_and_sampling():
    m = rt.Bimodal(base=1.0, jitter=0.5, tail_prob=0.1, tail=5.0)
    # Below the tail: 0.9 * P(|N(1, 0.5)| <= 1) = 0.9 * (Phi(0) - Phi(-4)).
    np.testing.assert_allclose(m.cdf(1.0), 0.9 * (0.5 - 3.167124183311992e-05), rtol=1e-12)
    # The tail is a point mass of 0.1 at t = 5.
    assert m.cdf(5.0) - m.cdf(np.nextafter(5.0, 0.0)) == pytest.approx(0.1, abs=1e-6)
    x = m.sample(10_000, np.random.default_rng(0))
    assert np.all(x >= 0)
    assert np.mean(x == 5.0) == pytest.approx(0.1, abs=0.01)
    np.testing.assert_array_equal(x, m.sample(10_000, np.random.default_rng(0)))
    assert m.scaled(0.5) == rt.Bimodal(0.5, 0.25, 0.1, 2.5)
    assert rt.runtime_model("bimodal", base=1, jitter=0.5, tail_prob=0.1, tail=5) == m


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"base": -1.0}, r"^base must be >= 0, got -1.0$"),
    ({"jitter": -0.1}, r"^jitter must be >= 0, got -0.1$"),
    ({"tail_prob": 1.5}, r"^tail_prob must be in \[0, 1\], got 1.5$"),
    ({"tail": np.inf}, r"^tail must be finite"),
    ({"tail_prob": "rare"}, r"^tail_prob must be a real number, got str$"),
])
def test_bimodal_validation(kwargs, match):
    params = {"base": 1.0, "jitter": 0.1, "tail_prob": 0.05, "tail": 5.0, **kwargs}
    with pytest.raises(InputError, match=match):
        rt.Bimodal(**params)


# ---------------------------------------------------------------------------- traces


@pytest.mark.parametrize("suffix", [".npy", ".txt", ".csv"])
def test_load_trace_round_trip(tmp_path, suffix):
    times = np.random.default_rng(5).gamma(2.0, 0.1, size=50) + 0.01
    path = tmp_path / f"times{suffix}"
    if suffix == ".npy":
        np.save(path, times)
    else:
        path.write_text("# observed server times, seconds\n\n"
                        + "\n".join(repr(float(t)) for t in times) + "\n")
    model = st.load_trace(path)
    assert model == rt.Empirical(times)
    assert st.load_trace(str(path)) == model


def test_load_trace_npy_column(tmp_path):
    np.save(tmp_path / "col.npy", np.array([[1.0], [2.0], [3.0]]))
    assert st.load_trace(tmp_path / "col.npy") == rt.Empirical([1.0, 2.0, 3.0])


@pytest.mark.parametrize(("name", "content", "match"), [
    ("missing.txt", None, r"^trace file .*missing.txt does not exist$"),
    ("times.txt", "0.5\nslow\n0.7\n", r"^trace .*times.txt line 2 is not a number: 'slow'$"),
    ("times.csv", "time\n0.5\n0.7\n", r"^trace .*times.csv line 1 is not a number: 'time'$"),
    ("times.csv", "0.5,1\n0.7,2\n", r"^trace .*times.csv line 1 has more than one column"),
    ("times.txt", "0.5\n", r"^trace .*times.txt: times must hold at least 2 observations, got 1$"),
    ("times.txt", "", r"^trace .*times.txt: times must hold at least 2 observations, got 0$"),
    ("times.txt", "0.5\n0.0\n", r"^trace .*times.txt: times must be > 0, got minimum 0.0$"),
    ("times.txt", "0.5\n-2\n", r"^trace .*times.txt: times must be > 0, got minimum -2.0$"),
    ("times.txt", "0.5\nnan\n", r"^trace .*times.txt: times contains NaN or Inf$"),
    ("times.json", "[1, 2]", r"^trace .*times.json must be a .npy, .txt or .csv file"),
])
def test_load_trace_errors(tmp_path, name, content, match):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=match):
        st.load_trace(path)


def test_load_trace_npy_errors(tmp_path):
    np.save(tmp_path / "grid.npy", np.ones((3, 2)))
    with pytest.raises(InputError, match=r"^trace .*grid.npy must be a 1-D array, got shape"):
        st.load_trace(tmp_path / "grid.npy")
    np.save(tmp_path / "words.npy", np.array(["a", "b"]))
    with pytest.raises(InputError, match=r"^trace .*words.npy must hold real numbers"):
        st.load_trace(tmp_path / "words.npy")
    np.save(tmp_path / "neg.npy", np.array([1.0, -1.0]))
    with pytest.raises(InputError, match=r"^trace .*neg.npy: times must be > 0"):
        st.load_trace(tmp_path / "neg.npy")
    (tmp_path / "junk.npy").write_bytes(b"not a numpy file")
    with pytest.raises(InputError, match=r"^trace .*junk.npy is not a readable numeric .npy"):
        st.load_trace(tmp_path / "junk.npy")


# ---------------------------------------------------------------------------- the package


def test_scenario_imports_no_distributed():
    # The seeded part is pure: importing it (and so the package) must not import distributed.
    code = "import sys, dask_coded.stragglers.scenario; print('distributed' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "False"


def test_package_reexports():
    from dask_coded.stragglers import inject

    for name in dask_coded.stragglers.__all__:
        owner = st if hasattr(st, name) and name in st.__all__ else inject
        assert getattr(dask_coded.stragglers, name) is getattr(owner, name)


def test_freeze_workers_from_config():
    sc = st.StragglerScenario.from_config({"freeze": {"workers": 2}})
    assert sc.freeze_workers == 2 and not sc.is_empty
    assert st.StragglerScenario.from_config({"freeze": {"workers": 0}}).is_empty
    with pytest.raises(InputError, match="freeze"):
        st.StragglerScenario.from_config({"freeze": {"count": 1}})
