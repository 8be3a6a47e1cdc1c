"""CodedLinearRegression as a scikit-learn estimator (issue 14).

scikit-learn's own conformance suite (``parametrize_with_checks``) on the default estimator
(the exact ``direct`` solve, in this process for in-memory data) and on a coded iterative one;
then what a user does with it: a Pipeline under ``cross_val_score`` and ``GridSearchCV``,
pickling, weighted least squares against ``numpy.linalg.lstsq`` on scaled rows, integer
data, dask arrays kept lazy, and the README's example as written there.
"""

from __future__ import annotations

import io
import pickle
import re
import subprocess
import sys
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

import dask_coded as dc
from dask_coded import CodedLinearRegression

README = Path(__file__).resolve().parents[1] / "README.md"

#: Every check of scikit-learn's suite that fails, and why; all others must pass.
EXPECTED_FAILED = {
    "check_sample_weight_equivalence_on_dense_data":
        "its data are 15 x 30, wide: lstsq solves tall systems only (no minimum-norm "
        "solution); weights as repeated rows are checked on tall data in "
        "test_integer_weights_repeat_rows",
}

#: With a distributed.Client as a parameter, also these (the estimator's clone shares the
#: Client instead, see test_clone_shares_the_client).
EXPECTED_FAILED_WITH_CLIENT = {
    **EXPECTED_FAILED,
    "check_estimators_overwrite_params":
        "deep-copies every parameter, and a distributed.Client cannot be copied",
    "check_set_params": "deep-copies every parameter, and a distributed.Client cannot be copied",
}


def _expected_failed(estimator) -> dict[str, str]:
    return EXPECTED_FAILED


@parametrize_with_checks(
    [CodedLinearRegression(),
     # a coded method: Horvitz-Thompson-weighted sums of the first q servers' gradients,
     # their finishing times drawn from the seed's model in this process (deterministic)
     CodedLinearRegression("block-leverage", client="simulate", seed=0, tol=1e-12)],
    expected_failed_checks=_expected_failed)
def test_sklearn_checks(estimator, check):
    check(estimator)


def test_sklearn_checks_on_a_cluster(client):
    """The default exact solve through a real scheduler and workers, the Client a
    parameter (cloned by reference, dropped by pickling)."""
    results = check_estimator(CodedLinearRegression(client=client),
                              expected_failed_checks=EXPECTED_FAILED_WITH_CLIENT,
                              on_skip=None)
    assert {r["status"] for r in results} <= {"passed", "xfail", "skipped"}


@pytest.mark.slow
def test_sklearn_checks_coded_on_a_cluster(client):
    results = check_estimator(
        CodedLinearRegression("block-leverage", n_blocks=4, seed=0, tol=1e-12, client=client),
        expected_failed_checks=EXPECTED_FAILED_WITH_CLIENT, on_skip=None)
    assert {r["status"] for r in results} <= {"passed", "xfail", "skipped"}


# ------------------------------------------------------------------------------ data


def problem(n: int = 600, d: int = 5, seed: int = 0, noise: float = 0.1,
            scales: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A well-posed regression with an intercept; columns of very different scales."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if scales:
        X *= np.logspace(0, 3, d)
    y = X @ (10 * rng.standard_normal(d) / np.logspace(0, 3, d)) + 4.0
    return X, y + noise * rng.standard_normal(n)


def weighted_reference(X, y, w, intercept: bool = True) -> np.ndarray:
    """``numpy.linalg.lstsq`` of the rows (and targets) scaled by sqrt(w)."""
    A = np.hstack([X, np.ones((len(X), 1))]) if intercept else X
    s = np.sqrt(w)
    return np.linalg.lstsq(A * s[:, None], y * s, rcond=None)[0]


# ------------------------------------------------------------------------------ scikit-learn


def test_is_a_regressor():
    assert is_regressor(CodedLinearRegression())
    assert is_regressor(make_pipeline(StandardScaler(), CodedLinearRegression()))


def test_cross_val_score_of_a_pipeline():
    """Regression: cross_val_score on a pipeline returned [nan nan nan] (fit raised inside)."""
    X, y = problem()
    scores = cross_val_score(make_pipeline(StandardScaler(), CodedLinearRegression()), X, y,
                             cv=3, error_score="raise")
    assert scores.shape == (3,) and np.all(np.isfinite(scores)) and np.all(scores > 0.9)
    # the same folds (KFold(3), unshuffled, for a regressor) by hand, on numpy's solution
    for score, (train, test) in zip(scores, KFold(3).split(X)):
        scaler = StandardScaler().fit(X[train])
        x = weighted_reference(scaler.transform(X[train]), y[train], np.ones(len(train)))
        pred = scaler.transform(X[test]) @ x[:-1] + x[-1]
        assert score == pytest.approx(r2_score(y[test], pred), rel=1e-10)


def test_grid_search_over_one_parameter():
    X, y = problem()  # an intercept of 4: a model without one scores worse
    search = GridSearchCV(make_pipeline(StandardScaler(), CodedLinearRegression()),
                          {"codedlinearregression__fit_intercept": [False, True]}, cv=3,
                          error_score="raise").fit(X, y)
    assert search.best_params_ == {"codedlinearregression__fit_intercept": True}
    means = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(means)) and means[1] > 0.99 and means[1] > means[0] + 0.05
    ref = weighted_reference(StandardScaler().fit_transform(X), y, np.ones(len(y)))
    np.testing.assert_allclose(search.best_estimator_[-1].coef_, ref[:-1], rtol=1e-8)


def test_grid_search_over_method_in_simulation():
    X, y = problem(scales=False)
    search = GridSearchCV(CodedLinearRegression(client="simulate", seed=0, tol=1e-12),
                          {"method": ["direct", "block-leverage"]}, cv=3,
                          error_score="raise").fit(X, y)
    means = search.cv_results_["mean_test_score"]
    np.testing.assert_allclose(means[0], means[1], rtol=1e-8)


def test_score_is_r2_and_fit_returns_self():
    X, y = problem()
    model = CodedLinearRegression()
    assert model.fit(X, y) is model
    resid = y - model.predict(X)
    assert model.score(X, y) == pytest.approx(1 - resid @ resid / np.sum((y - y.mean()) ** 2))
    ref = weighted_reference(X, y, np.ones(len(y)))
    np.testing.assert_allclose(np.r_[model.coef_, model.intercept_], ref, rtol=1e-8)
    assert model.n_features_in_ == 5 and model.n_iter_ == 1


def test_bad_parameter_is_both_error_types():
    X, y = problem()
    for bad in ({"method": "nope"}, {"max_iter": 0}, {"fit_intercept": "yes"},
                {"client": "nope"}, {"step": -1.0}):
        with pytest.raises(InvalidParameterError, match="parameter of CodedLinearRegression"):
            CodedLinearRegression(**bad).fit(X, y)
        with pytest.raises(dc.InputError):
            CodedLinearRegression(**bad).fit(X, y)


def test_not_fitted_is_both_error_types():
    X, _ = problem()
    with pytest.raises(NotFittedError, match="not fitted yet"):
        CodedLinearRegression().predict(X)
    with pytest.raises(dc.InputError, match="not fitted yet"):
        CodedLinearRegression().predict(X)


# ------------------------------------------------------------------------------ pickling


class _FindDistributed(pickle.Pickler):
    """A pickler that records every object of ``distributed`` it is asked to write."""

    def __init__(self, file):
        super().__init__(file)
        self.found: list[str] = []

    def persistent_id(self, obj):
        module = type(obj).__module__ or ""
        if module.split(".")[0] == "distributed":
            self.found.append(type(obj).__name__)
        return None


def pickled(obj) -> tuple[bytes, list[str]]:
    buf = io.BytesIO()
    p = _FindDistributed(buf)
    p.dump(obj)
    return buf.getvalue(), p.found


def test_pickle_round_trip_predicts_the_same():
    X, y = problem()
    model = CodedLinearRegression().fit(X, y)
    data, found = pickled(model)
    back = pickle.loads(data)
    assert found == []
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    assert back.get_params() == model.get_params()


def test_pickle_of_a_model_fitted_on_a_cluster(client):
    """A fitted model holds no Client and no futures: the Client parameter is dropped."""
    X, y = problem()
    model = CodedLinearRegression("block-leverage", n_blocks=6, seed=0, tol=1e-12,
                                  client=client).fit(X, y)
    data, found = pickled(model)
    assert found == []  # not a Client, not a Future, anywhere in the fitted state
    back = pickle.loads(data)
    assert back.client is None and model.client is client
    np.testing.assert_array_equal(back.predict(X), model.predict(X))


def test_clone_shares_the_client(client):
    model = CodedLinearRegression(n_blocks=3, client=client)
    twin = clone(model)
    assert twin is not model and twin.client is client and twin.n_blocks == 3


# ------------------------------------------------------------------------------ weights


@pytest.mark.parametrize("intercept", [True, False])
def test_sample_weight_is_row_scaling(intercept):
    X, y = problem()
    w = np.random.default_rng(1).uniform(0, 3, len(y))
    model = CodedLinearRegression(fit_intercept=intercept).fit(X, y, sample_weight=w)
    ref = weighted_reference(X, y, w, intercept)
    got = np.r_[model.coef_, model.intercept_] if intercept else model.coef_
    np.testing.assert_allclose(got, ref, rtol=1e-8)
    unweighted = CodedLinearRegression(fit_intercept=intercept).fit(X, y)
    assert not np.allclose(unweighted.coef_, model.coef_, rtol=1e-4)  # the weights mattered


def test_integer_weights_repeat_rows():
    """Weight k == the row k times, weight 0 == the row removed (scikit-learn's equivalence
    check, on tall data)."""
    X, y = problem(n=300)
    w = np.random.default_rng(2).integers(0, 4, len(y))
    weighted = CodedLinearRegression().fit(X, y, sample_weight=w)
    repeated = CodedLinearRegression().fit(X.repeat(w, axis=0), y.repeat(w))
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-9)


def test_sample_weight_refusals():
    X, y = problem()
    for w, match in ((np.zeros(len(y)), "non-zero"), (-np.ones(len(y)), "Negative"),
                     (np.ones(3), "sample_weight")):
        with pytest.raises(dc.InputError, match=match):
            CodedLinearRegression().fit(X, y, sample_weight=w)


# ------------------------------------------------------------------------------ dtypes


def test_integer_y_and_x_are_cast_to_float():
    rng = np.random.default_rng(3)
    X = rng.integers(-5, 6, (200, 3))
    y = X @ np.array([2, -1, 3]) + rng.integers(-1, 2, 200)
    model = CodedLinearRegression().fit(X, y)
    ref = weighted_reference(X.astype(float), y.astype(float), np.ones(200))
    np.testing.assert_allclose(np.r_[model.coef_, model.intercept_], ref, rtol=1e-8)
    np.testing.assert_allclose(model.predict(X), model.predict(X.astype(float)))


def test_float32_is_taken():
    X, y = problem(scales=False)
    model = CodedLinearRegression().fit(X.astype(np.float32), y.astype(np.float32))
    ref = weighted_reference(X, y, np.ones(len(y)))
    np.testing.assert_allclose(np.r_[model.coef_, model.intercept_], ref, rtol=1e-3)


def test_errors_say_x_and_y():
    """The estimator's data are X and y: lstsq's messages (about A and b) are reworded."""
    X, y = problem()
    with pytest.raises(dc.InputError, match=r"^X\^T X overflows .* rescale X$"):
        CodedLinearRegression().fit(X * 1e300, y)
    with pytest.raises(dc.InputError,
                       match=r"^X is rank deficient.*fit_intercept adds a column of ones"):
        CodedLinearRegression().fit(np.hstack([X, X[:, :1]]), y)
    bad = y.copy()
    bad[3] = np.nan
    for yy, match in ((bad, "Input y contains NaN"), (y + 1j, "y has dtype complex"),
                      (y[:10], "inconsistent numbers of samples")):
        with pytest.raises(dc.InputError, match=match):
            CodedLinearRegression().fit(X, yy)
    dx = da.from_array(X, chunks=200)
    for yy, match in ((da.from_array(bad, chunks=200), "^y has NaN"),
                      (y + 1j, "y has dtype complex"), (y[:10], "X and y have different")):
        with pytest.raises(dc.InputError, match=match):
            CodedLinearRegression().fit(dx, yy)


def test_sparse_is_refused():
    X, y = problem()
    with pytest.raises(TypeError, match="Sparse data was passed for X"):
        CodedLinearRegression().fit(sp.csr_matrix(X), y)


def test_wide_data_is_refused_by_n_samples():
    X, y = problem(n=5, d=5)
    with pytest.raises(dc.InputError, match="n_samples=5 for 6 coefficients"):
        CodedLinearRegression().fit(X, y)


def test_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = problem()
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(5)])
    model = CodedLinearRegression().fit(frame, y)
    assert list(model.feature_names_in_) == list(frame.columns)
    with pytest.raises(dc.InputError, match="feature names should match"):
        model.predict(frame.rename(columns={"c0": "other"}))
    model.fit(da.from_array(X, chunks=200), y)  # a dask array has no names: none kept
    assert not hasattr(model, "feature_names_in_")


# ------------------------------------------------------------------------------ dask


def test_dask_input_stays_lazy_and_matches_numpy():
    X, y = problem()
    w = np.random.default_rng(4).uniform(0.5, 2, len(y))
    ref = CodedLinearRegression().fit(X, y, sample_weight=w)
    dx = da.from_array(X, chunks=150)
    model = CodedLinearRegression().fit(dx, da.from_array(y, chunks=150),
                                        sample_weight=da.from_array(w, chunks=150))
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-8)
    assert model.intercept_ == pytest.approx(ref.intercept_, rel=1e-8)
    pred = model.predict(dx)
    assert isinstance(pred, da.Array)
    np.testing.assert_allclose(pred.compute(), ref.predict(X), rtol=1e-8)
    assert model.score(dx, y) == pytest.approx(ref.score(X, y), rel=1e-10)
    ints = CodedLinearRegression().fit(da.from_array(X.astype(np.int64), chunks=150), y)
    assert np.all(np.isfinite(ints.coef_))  # integers cast lazily, as for numpy


def test_estimator_coded_on_a_cluster(client):
    """The coded iterative method on the session cluster reaches numpy's solution."""
    rng = np.random.default_rng(6)
    X = rng.standard_normal((1500, 4))
    # noise-free: a consistent system, so the stochastic coded gradient converges exactly
    y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + 7.0
    model = CodedLinearRegression("block-leverage", n_blocks=15, n_servers=30, max_iter=60,
                                  tol=1e-12, seed=0, client=client)
    assert model.get_params()["n_servers"] == 30
    with pytest.raises(dc.InputError, match="not fitted"):
        model.predict(X)
    model.fit(X, y)
    ref = np.linalg.lstsq(np.hstack([X, np.ones((1500, 1))]), y, rcond=None)[0]
    np.testing.assert_allclose(model.coef_, ref[:4], rtol=1e-6)
    assert model.intercept_ == pytest.approx(ref[4], rel=1e-6)
    assert model.score(X, y) > 0.999
    pred = model.predict(da.from_array(X, chunks=500))
    np.testing.assert_allclose(pred.compute(), X @ model.coef_ + model.intercept_)


# ------------------------------------------------------------------------------ README


def test_readme_example_runs(tmp_path):
    """The README's Pipeline + GridSearchCV block, pasted into a file and run as a script."""
    text = README.read_text()
    found = re.search(r"<!-- estimator-example -->\n```python\n(.*?)```", text, re.S)
    assert found, "README.md lost its <!-- estimator-example --> block"
    script = tmp_path / "example.py"
    script.write_text(found.group(1))
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    folds = re.search(r"R\^2 per fold: \[([^\]]*)\]", proc.stdout)
    assert folds, proc.stdout
    scores = np.array(folds.group(1).split(), dtype=float)
    assert scores.shape == (3,) and np.all(scores > 0.9), proc.stdout
    assert "best: {'codedlinearregression__fit_intercept': True}" in proc.stdout
