"""Checkpoints of an iterative solve: one JSON file, written atomically, never a pickle.

A checkpoint holds :meth:`CodedSolver.state` (the iterate, counters, random generator states,
history) and a *fingerprint* of the run that wrote it: the method, the settings that change
the iterates, the problem's shape and a seeded sketch of its data (:func:`data_sketch`).
Resuming under a different fingerprint is refused with one line naming the first difference,
so a checkpoint is never continued on other data or with other settings. ``max_iter``,
``tol`` and ``time_budget`` are not in the fingerprint: a finished run may be resumed with a
larger budget to go further.

The data sketch is ``(W^T G W, W^T A^T b, b^T b)`` for ``G = A^T A`` and a fixed seeded
Gaussian ``W`` of :data:`SKETCH_COLS` columns, computed from the setup pass's summaries
(no extra pass). Two numbers (``b^T b`` and ``trace(A^T A)``, version 1) were blind to every
change that keeps them, such as ``b -> -b`` or two columns of A swapped, and a finished
checkpoint then handed back the other problem's x. The least-squares problem is
``||Ax - b||^2 = x^T G x - 2 x^T A^T b + b^T b``: any change of its objective changes
``(G, A^T b, b^T b)``, and a random ``W`` sees a change of those with probability one; the
only changes it cannot see (``A -> Q A, b -> Q b`` for orthogonal ``Q``, rows swapped in both)
leave the objective, and so the answer, unchanged.

JSON writes a double by its shortest round-tripping ``repr``, so the iterate read back is
bit for bit the one written.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import write_text
from .errors import InputError

FORMAT = "dask_coded.checkpoint"
#: 2: the data sketch replaced version 1's ``btb`` and ``gram_trace``, which are blind to
#: sign and column changes of the data, so a version 1 checkpoint cannot be trusted.
VERSION = 2

#: Columns of the seeded projection ``W`` of :func:`data_sketch`: 10 numbers of
#: ``W^T G W`` and 4 of ``W^T A^T b`` (and ``b^T b``) in every checkpoint.
SKETCH_COLS = 4

#: The seed of ``W``: fixed, so that every run draws the same projection of its data.
SKETCH_SEED = 20240615

#: Relative tolerance of the data sketch: the setup pass of a resumed run may sum the
#: chunks in another order (round-off ~1e-16 a term), while any change of the data the
#: sketch is to catch moves it by far more.
SKETCH_RTOL = 1e-9

#: Settings that change the sequence of iterates (and so must match to resume).
FINGERPRINT_SETTINGS = ("n_servers", "q", "deadline", "on_short", "step", "step_scale",
                        "step_power", "sketch_rows", "seed", "precondition",
                        "variance_reduction", "anchor_every", "reweight", "network")


def data_sketch(gram: np.ndarray | None, r_factor: np.ndarray | None, atb: np.ndarray,
                btb: float) -> dict:
    """The seeded sketch of the data a checkpoint is tied to (see the module docstring).

    Parameters
    ----------
    gram : ndarray (d, d) or None
        ``A^T A``; when None (a sketch setup keeps no Gram), ``R^T R`` from ``r_factor``
        stands in (the sketched Gram: a function of the data and the run's seed).
    r_factor : ndarray (d, d) or None
    atb : ndarray (d,)
    btb : float

    Returns
    -------
    dict
        ``{"wgw": W^T G W as 16 floats (row major), "wab": W^T A^T b (4 floats), "btb"}``.
    """
    atb = np.asarray(atb, dtype=np.float64)
    w = np.random.default_rng(SKETCH_SEED).standard_normal((atb.shape[0], SKETCH_COLS))
    if gram is not None:
        wgw = w.T @ (np.asarray(gram, dtype=np.float64) @ w)
    else:
        rw = np.asarray(r_factor, dtype=np.float64) @ w
        wgw = rw.T @ rw
    return {"wgw": [float(v) for v in wgw.ravel()], "wab": [float(v) for v in w.T @ atb],
            "btb": float(btb)}


def _same_data(have: Any, want: dict) -> bool:
    """Whether two :func:`data_sketch` agree up to round-off of the setup pass.

    Each entry is compared against the scale Cauchy-Schwarz bounds it by, not its own size
    (an entry near 0 by cancellation is round-off there): ``|w_j^T G w_k| <=
    sqrt(D_j D_k)`` and ``|w_j^T A^T b| <= sqrt(D_j b^T b)`` with ``D = diag(W^T G W)``.
    """
    if not isinstance(have, dict):
        return False
    try:
        h_g, h_ab = np.asarray(have["wgw"], dtype=np.float64), np.asarray(have["wab"],
                                                                        dtype=np.float64)
        h_bb = float(have["btb"])
    except (KeyError, TypeError, ValueError):
        return False
    w_g, w_ab, w_bb = (np.asarray(want["wgw"]), np.asarray(want["wab"]),
                       float(want["btb"]))
    if h_g.shape != w_g.shape or h_ab.shape != w_ab.shape:
        return False
    k = w_ab.shape[0]
    diag = np.abs(np.diag(w_g.reshape(k, k)))
    g_scale = np.sqrt(np.outer(diag, diag)).ravel()
    ab_scale = np.sqrt(diag * abs(w_bb))
    return bool(abs(h_bb - w_bb) <= SKETCH_RTOL * abs(w_bb)
                and np.all(np.abs(h_g - w_g) <= SKETCH_RTOL * g_scale)
                and np.all(np.abs(h_ab - w_ab) <= SKETCH_RTOL * ab_scale))


def fingerprint(method: str, settings: Any, problem: Any, servers: Any = None) -> dict:
    """What must be equal between the run that wrote a checkpoint and the one resuming it.

    ``servers`` (the solver's method object) adds the code itself: each server's block and
    encoding weight and q, which a runtime model changes without any setting above changing.
    """
    s = problem.summary
    out = {"method": method,
           **{k: getattr(settings, k) for k in FINGERPRINT_SETTINGS},
           "n_rows": int(problem.layout.n_rows), "n_cols": int(problem.n_cols),
           "n_blocks": int(problem.layout.n_blocks),
           "setup": s.method,
           # weighted-leverage draws by these: other scores, other rounds
           "scores": "exact" if problem.approximate_scores is None
           else "sketch",
           "data": data_sketch(s.gram, s.r_factor, s.atb, s.btb)}
    if servers is not None:
        digest = hashlib.sha256(np.asarray(servers.server_blocks, dtype=np.int64).tobytes())
        digest.update(np.asarray(servers.weights, dtype=np.float64).round(12).tobytes())
        out.update(servers_q=int(servers.q), code=digest.hexdigest()[:16])
    return out


def stored_seed(path: str | os.PathLike) -> int:
    """The seed of the run that wrote a checkpoint (to resume a run whose seed was drawn)."""
    try:
        seed = json.loads(Path(path).read_text())["fingerprint"]["seed"]
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(f"{path} is not a readable dask_coded checkpoint") from None
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"{path} is not a readable dask_coded checkpoint")
    return seed


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        # the setup pass may sum chunks in another order on a resumed run
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0) or a == b
    return a == b


def save(path: str | os.PathLike, state: dict, fprint: dict, *, done: str | None = None
         ) -> None:
    """Write a checkpoint atomically (aside, then renamed over ``path``).

    ``done`` is the stop reason when the solve has finished (a resume then runs no
    iteration unless given a larger budget).
    """
    doc = {"format": FORMAT, "version": VERSION, "fingerprint": fprint, "done": done,
           "state": state}
    write_text(path, json.dumps(doc))


def _read(path: Path) -> dict:
    """The checkpoint document at ``path``, its format and version checked (one-line errors).

    Read as bytes and decoded here, so that a binary file (an ``.npz`` given by mistake,
    garbage) is a clear error, not a UnicodeDecodeError.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read checkpoint {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"checkpoint {path} is not a dask_coded checkpoint (binary, not "
                         "JSON text); delete it to start afresh") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        msg, line = getattr(exc, "msg", str(exc)), getattr(exc, "lineno", None)
        where = f" at line {line}" if line is not None else ""
        raise InputError(f"checkpoint {path} is not valid JSON ({msg}{where}); delete it to "
                         "start afresh") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"{path} is not a dask_coded checkpoint")
    version = doc.get("version")
    if version != VERSION:
        shown = repr(version)[:40]
        raise InputError(f"checkpoint {path} has format version {shown}; this dask_coded "
                         f"reads version {VERSION}: delete it to start afresh")
    if not isinstance(doc.get("fingerprint"), dict):
        raise InputError(f"checkpoint {path} is damaged (its fingerprint is not a mapping); "
                         "delete it to start afresh")
    if not isinstance(doc.get("state"), dict):
        raise InputError(f"checkpoint {path} holds no solver state")
    return doc


def _shown(value: Any) -> str:
    """A fingerprint value for a message, at most 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _compare(path: Path, stored: dict, fprint: dict) -> None:
    """Raise, naming the first key of ``fprint`` that ``stored`` does not match."""
    for key, want in fprint.items():
        have = stored.get(key)
        if key == "data":
            if not _same_data(have, want):
                raise InputError(f"checkpoint {path} was written by another run (data: A or b "
                                 "differs from the data it was written for); delete it or "
                                 "resume on the same data")
        elif not _same(have, want):
            raise InputError(f"checkpoint {path} was written by another run ({key}: "
                             f"{_shown(have)} there, {_shown(want)} here); delete it or "
                             "resume with the same settings and data")


def check(path: str | os.PathLike, **expected: Any) -> None:
    """Refuse, before anything is read or started, a checkpoint whose method or shape differ.

    ``expected`` are fingerprint entries known from the arguments and A's shape alone
    (``method``, ``n_rows``, ``n_cols``, ``n_blocks``); :func:`load` checks all of them
    once the setup pass has run. A method that keeps no checkpoint (``direct``) is checked
    here too: without it a checkpoint of another method would be silently ignored.

    Raises
    ------
    InputError
        Unreadable, not a dask_coded checkpoint, or written by another run.
    """
    path = Path(path)
    _compare(path, _read(path)["fingerprint"], expected)


def load(path: str | os.PathLike, fprint: dict | None = None) -> dict:
    """Read a checkpoint's state, checking that it belongs to the run ``fprint`` describes.

    Raises
    ------
    InputError
        Unreadable, not a dask_coded checkpoint, a newer format, or written by another run.
    """
    path = Path(path)
    doc = _read(path)
    if fprint is not None:
        _compare(path, doc["fingerprint"], fprint)
    return doc["state"]
