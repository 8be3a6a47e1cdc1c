"""The scikit-learn estimator of coded least squares: :class:`CodedLinearRegression`.

A module of its own so that ``import dask_coded`` (and every CLI start) does not import
scikit-learn; ``dask_coded.CodedLinearRegression`` loads it on first use.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    StrOptions,
)
from sklearn.utils.validation import (
    _check_sample_weight,
    _check_y,
    check_is_fitted,
    validate_data,
)

from .errors import InputError
from .linear_model import lstsq
from .solvers import METHODS, STEPS


class _InvalidParameter(InputError, InvalidParameterError):
    """A bad constructor argument: an :class:`InputError` to this project, scikit-learn's
    ``InvalidParameterError`` to scikit-learn (its checks and search tools catch that)."""


class _NotFitted(InputError, NotFittedError):
    """``predict`` before ``fit``: an :class:`InputError` and scikit-learn's NotFittedError."""


class _InputTypeError(InputError, TypeError):
    """Input of the wrong kind (sparse, a dict in X): scikit-learn raises TypeError there."""


@contextlib.contextmanager
def _as_input_errors() -> Iterator[None]:
    """scikit-learn's validation errors as one-line :class:`InputError` s of the same kind.

    Every mistake a user can make is an InputError in this project (the CLI and the bad-input
    tests rely on it); scikit-learn's tools catch its own types (InvalidParameterError,
    NotFittedError, TypeError, ValueError): the errors raised here are both. The message is
    made one line: its lines joined, less the ``array=[...]`` dump of the data, or only the
    first line where that is long (scikit-learn's NaN message goes on about imputers).
    """
    try:
        yield
    except InputError:
        raise
    except Exception as exc:
        # the data scikit-learn prints (``array=[...].``, numpy wraps it over lines) goes
        msg = re.sub(r"^array=.*?\]\.?$", "", str(exc), flags=re.MULTILINE | re.DOTALL)
        lines = [ln.strip() for ln in msg.splitlines() if ln.strip()] or [type(exc).__name__]
        line = " ".join(lines)
        if len(line) > 300:
            line = lines[0]
        if isinstance(exc, InvalidParameterError):
            raise _InvalidParameter(line) from None
        if isinstance(exc, NotFittedError):
            raise _NotFitted(line) from None
        if isinstance(exc, TypeError):
            raise _InputTypeError(line) from None
        if isinstance(exc, ValueError):
            raise InputError(line) from None
        raise


def _is_dask(x: Any) -> bool:
    import dask.array as da

    return isinstance(x, da.Array)


def _real_dtype(x: Any, name: str, like: np.dtype | None = None) -> Any:
    """``x`` (numpy or dask) in a float dtype, as scikit-learn casts: float32 and float64
    kept, anything else real to float64 (or all to ``like``); complex and non-numbers refused."""
    kind = np.dtype(x.dtype).kind
    if kind == "c":
        raise InputError(f"Complex data not supported: {name} has dtype {x.dtype}")
    if kind not in "biuf":
        raise InputError(f"{name} must hold real numbers, got dtype {x.dtype}")
    if like is not None:
        target = np.dtype(like)
    else:  # float16 too: the solvers' sums need at least single precision
        target = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    return x if x.dtype == target else x.astype(target)


def _estimator_terms(msg: str, fit_intercept: bool) -> str:
    """An error message of :func:`lstsq` in the estimator's words: X and y, not A and b."""
    # lstsq's messages about the data name A and b as words of their own ("A has NaN ...",
    # "A^T A overflows ...; rescale A"); its parameter names are lower-case words with = or _
    msg = re.sub(r"\bb\b", "y", re.sub(r"\bA\b", "X", msg))
    if fit_intercept and "column" in msg:
        msg += " (fit_intercept adds a column of ones to X)"
    return msg


class CodedLinearRegression(RegressorMixin, BaseEstimator):
    """Least-squares linear regression on Dask: exact by default, or coded gradient descent.

    ``method="auto"`` (the default) solves exactly in about one pass (see :func:`lstsq`'s
    ``"direct"``); the coded iterative methods are there for wide problems and for
    experiments with stragglers. In-memory data with no ``client`` and no current
    ``distributed.Client`` is solved in this process, with no cluster.

    A scikit-learn estimator (it passes ``sklearn.utils.estimator_checks``): ``__init__``
    only stores its arguments, which ``fit`` validates; it works in a ``Pipeline``, under
    ``GridSearchCV`` and ``cross_val_score``; ``score`` is R^2; a fitted model pickles.

    Parameters
    ----------
    method, n_blocks, n_servers, q, deadline, stragglers, step, max_iter, tol, seed
        As in :func:`lstsq`.
    fit_intercept : bool
        Fit an intercept by appending a column of ones to X (lazily for dask arrays).
    client : distributed.Client or "simulate", optional
        As in :func:`lstsq`. Clones of the estimator (``clone``, ``GridSearchCV``) share the
        same Client; pickling drops it (a Client is a connection, not data): the unpickled
        model predicts as before and fits on the current client.

    Attributes
    ----------
    coef_ : ndarray, shape (n_features_in_,)
    intercept_ : float
    n_iter_ : int
        Iterations of the solve (1 for ``"direct"``, its single solve).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had string column names (a pandas DataFrame).
    result_ : LstsqResult
        The whole result of :func:`lstsq` (history, timings, setup pass).

    Notes
    -----
    X may be a numpy array (or anything scikit-learn's ``validate_data`` takes: lists,
    DataFrames, read-only memmaps) or a 2-D dask array, kept lazy (then ``y`` and
    ``sample_weight`` may be dask arrays, and ``predict`` returns one). Integer and boolean
    X and y are cast to float64, float32 is kept. Sparse X is refused (a TypeError naming
    sparse data): the solvers read dense row blocks, and a sparse matrix would be
    densified whole; call ``X.toarray()`` where that fits in memory.
    """

    _parameter_constraints: ClassVar[dict[str, list | str]] = {
        "method": [StrOptions({"auto", *METHODS})],
        # K <= N, q <= n_servers and the server cap are lstsq's checks, once N is known
        "n_blocks": [Interval(Integral, 1, None, closed="left"), None],
        "n_servers": [Interval(Integral, 1, None, closed="left"), None],
        "q": [Interval(Integral, 1, None, closed="left"), None],
        "deadline": [Interval(Real, 0, None, closed="neither"), None],
        # a StragglerScenario or its config mapping: StragglerScenario.from_config checks
        # every key with its own message (importing its class here would import it always)
        "stragglers": "no_validation",
        "step": [StrOptions(set(STEPS)), Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "seed": [Interval(Integral, 0, None, closed="left"), None],
        # a distributed.Client by what it does: importing distributed to name its class
        # would start that import with every `import dask_coded`; lstsq checks the type
        "client": [None, StrOptions({"simulate"}), HasMethods(["submit", "gather"])],
    }

    def __init__(self, method: str = "auto", *, n_blocks: int | None = None,
                 n_servers: int | None = None, q: int | None = None,
                 deadline: float | None = None, stragglers: Any = None,
                 step: str | float = "optimal", max_iter: int = 100, tol: float = 1e-8,
                 fit_intercept: bool = True, seed: int | None = None, client: Any = None):
        self.method = method
        self.n_blocks = n_blocks
        self.n_servers = n_servers
        self.q = q
        self.deadline = deadline
        self.stragglers = stragglers
        self.step = step
        self.max_iter = max_iter
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.seed = seed
        self.client = client

    def set_params(self, **params) -> CodedLinearRegression:
        """Set constructor arguments (scikit-learn protocol); an unknown name is an
        :class:`InputError`."""
        with _as_input_errors():
            return super().set_params(**params)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # a coded solve on a cluster sums whichever servers answer first: no seed fixes
        # which, so two fits agree only to the solver's tolerance
        # (tags are read before fit validates: a bad parameter must not raise here)
        method = "direct" if self.method == "auto" else self.method
        simulated = isinstance(self.client, str) and self.client == "simulate"
        tags.non_deterministic = (isinstance(method, str) and method in METHODS
                                  and METHODS[method].iterative and not simulated)
        return tags

    def __sklearn_clone__(self) -> CodedLinearRegression:
        if self.client is None or isinstance(self.client, str):
            return super().__sklearn_clone__()
        # scikit-learn deep-copies parameters, and a Client cannot be copied (nor should
        # be: it is a connection to a cluster): the clone shares it
        params = {name: value if name == "client" else clone(value, safe=False)
                  for name, value in self.get_params(deep=False).items()}
        new = type(self)(**params)
        if hasattr(self, "_metadata_request"):
            new._metadata_request = clone(self._metadata_request)
        return new

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())  # a copy: it may be the model's own __dict__
        if not (self.client is None or isinstance(self.client, str)):
            state["client"] = None  # a Client does not pickle (see the class docstring)
        return state

    def _design(self, X: Any, sqrt_w: Any):
        """The matrix lstsq solves with: X, then the intercept's column of ones, each row
        scaled by ``sqrt(w)`` (weighted least squares: ``sum w_i r_i^2 = ||diag(sqrt w) r||^2``);
        lazy for dask X."""
        if _is_dask(X):
            import dask.array as da

            if sqrt_w is not None:
                X = X * sqrt_w[:, None]
            if not self.fit_intercept:
                return X
            ones = (da.ones((X.shape[0], 1), chunks=(X.chunks[0], 1), dtype=X.dtype)
                    if sqrt_w is None else sqrt_w[:, None].astype(X.dtype))
            return da.concatenate([X, ones], axis=1)
        n, d = X.shape
        A = np.empty((n, d + self.fit_intercept), dtype=X.dtype)
        A[:, :d] = X if sqrt_w is None else X * sqrt_w[:, None]
        if self.fit_intercept:
            A[:, d] = 1.0 if sqrt_w is None else sqrt_w
        return A

    def _check_dask(self, X: Any, y: Any) -> tuple[Any, Any]:
        """Shape and dtype checks of a dask X (and y) that read no data: scikit-learn's
        ``validate_data`` would load X into memory."""
        if X.ndim != 2:
            raise InputError(f"X must be 2-D, got shape {X.shape}")
        X = _real_dtype(X, "X")
        if y is None:
            raise InputError("CodedLinearRegression requires y to be passed, but the target "
                             "y is None")
        if _is_dask(y):
            if y.ndim == 2 and y.shape[1] == 1:
                warnings.warn("A column-vector y was passed when a 1d array was expected; "
                              "it is raveled", DataConversionWarning, stacklevel=3)
                y = y[:, 0]
            if y.ndim != 1:
                raise InputError(f"y must be 1-D, got shape {y.shape}")
        else:
            with _as_input_errors():
                y = _check_y(y, y_numeric=True, estimator=self)
        y = _real_dtype(y, "y", like=X.dtype)
        if y.shape[0] != X.shape[0]:
            raise InputError(f"X and y have different numbers of rows: {X.shape[0]} and "
                             f"{y.shape[0]}")
        # no data is read here, so none is kept: a dask X has no column names
        self.n_features_in_ = X.shape[1]
        if hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return X, y

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> CodedLinearRegression:
        """Fit ``min sum_i w_i (y_i - x_i^T coef - intercept)^2``.

        Parameters
        ----------
        X : array-like or dask array, shape (n_samples, n_features)
            Tall: at least as many rows as coefficients (features, plus the intercept).
        y : array-like or dask array, shape (n_samples,)
        sample_weight : array-like, shape (n_samples,), optional
            Non-negative weights, not all zero; None weighs every row 1. Rows and targets
            are scaled by ``sqrt(w)``, so the solvers see an ordinary least-squares problem.

        Returns
        -------
        self
        """
        with _as_input_errors():
            # the parameters first: a bad one is refused before any data is looked at
            self._validate_params()
        if getattr(getattr(y, "dtype", None), "kind", None) == "c":  # scikit-learn's
            # message would not say which input
            raise InputError(f"Complex data not supported: y has dtype {y.dtype}")
        if _is_dask(X):
            X, y = self._check_dask(X, y)
        else:
            with _as_input_errors():
                X, y = validate_data(self, X, y, dtype=[np.float64, np.float32],
                                     y_numeric=True)
            y = _real_dtype(y, "y", like=X.dtype)
        n, d = X.shape
        n_coef = d + self.fit_intercept
        if n < n_coef:  # lstsq solves tall systems only (no minimum-norm solutions)
            raise InputError(f"CodedLinearRegression needs at least as many samples as "
                             f"coefficients: got n_samples={n} for {n_coef} coefficients")
        sqrt_w = None
        if sample_weight is not None:
            with _as_input_errors():
                # a dask weight vector is brought here: N numbers, checked in one place
                w = _check_sample_weight(np.asarray(sample_weight) if _is_dask(sample_weight)
                                         else sample_weight, X, dtype=X.dtype,
                                         ensure_non_negative=True)
            sqrt_w = np.sqrt(w)
            if _is_dask(X):
                import dask.array as da

                sqrt_w = da.from_array(sqrt_w, chunks=(X.chunks[0],))
            y = y * sqrt_w
        try:
            result = lstsq(self._design(X, sqrt_w), y, method=self.method,
                           n_blocks=self.n_blocks, n_servers=self.n_servers, q=self.q,
                           deadline=self.deadline, stragglers=self.stragglers,
                           step=self.step, max_iter=self.max_iter, tol=self.tol,
                           seed=self.seed, client=self.client)
        except InputError as exc:
            msg = _estimator_terms(str(exc), self.fit_intercept)
            if msg == str(exc):
                raise
            raise InputError(msg) from None
        self.result_ = result
        self.n_iter_ = result.n_iter
        if self.fit_intercept:
            self.coef_, self.intercept_ = result.x[:-1], float(result.x[-1])
        else:
            self.coef_, self.intercept_ = result.x, 0.0
        return self

    def predict(self, X: Any):
        """``X @ coef_ + intercept_`` (a lazy dask array for dask X).

        Parameters
        ----------
        X : array-like or dask array, shape (n_samples, n_features_in_)

        Returns
        -------
        ndarray or dask array, shape (n_samples,)
        """
        with _as_input_errors():
            check_is_fitted(self)
        if _is_dask(X):
            if X.ndim != 2:
                raise InputError(f"X must be 2-D, got shape {X.shape}")
            X = _real_dtype(X, "X")
            if X.shape[1] != self.n_features_in_:
                raise InputError(f"X has {X.shape[1]} features, but CodedLinearRegression "
                                 f"is expecting {self.n_features_in_} features as input")
        else:
            with _as_input_errors():
                X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return X @ self.coef_ + self.intercept_

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R^2 of ``predict(X)`` against y (scikit-learn's ``RegressorMixin.score``).

        Parameters
        ----------
        X : array-like or dask array, shape (n_samples, n_features_in_)
        y : array-like, shape (n_samples,)
        sample_weight : array-like, shape (n_samples,), optional

        Returns
        -------
        float
        """
        with _as_input_errors():  # a y of the wrong length is the user's, one line
            return super().score(X, y, sample_weight=sample_weight)
