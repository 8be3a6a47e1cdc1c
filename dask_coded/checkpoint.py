"""Checkpoints of an iterative solve: one JSON file, written atomically, never a pickle.

A checkpoint holds :meth:`CodedSolver.state` (the iterate, counters, random generator states,
history) and a *fingerprint* of the run that wrote it: the method, the settings that change
the iterates, the problem's shape and two numbers of its data (``b^T b`` and the trace of
``A^T A`` from the setup pass). Resuming under a different fingerprint is refused with one
line naming the first difference, so a checkpoint is never continued on other data or with
other settings. ``max_iter``, ``tol`` and ``time_budget`` are not in the fingerprint: a
finished run may be resumed with a larger budget to go further.

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
VERSION = 1

#: Settings that change the sequence of iterates (and so must match to resume).
FINGERPRINT_SETTINGS = ("n_servers", "q", "deadline", "on_short", "step", "step_scale",
                        "step_power", "sketch_rows", "seed", "precondition",
                        "variance_reduction", "anchor_every", "reweight", "network")


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
           "btb": float(s.btb), "setup": s.method,
           # weighted-leverage draws by these: other scores, other rounds
           "scores": "exact" if problem.approximate_scores is None
           else "sketch",
           # a sketch setup keeps no Gram: the squared norm of its R stands in (R^T R is the
           # sketched Gram, a function of the data and the seed)
           "gram_trace": float(s.gram.trace()) if s.gram is not None
           else float(np.sum(s.r_factor ** 2))}
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


def load(path: str | os.PathLike, fprint: dict | None = None) -> dict:
    """Read a checkpoint's state, checking that it belongs to the run ``fprint`` describes.

    Raises
    ------
    InputError
        Unreadable, not a dask_coded checkpoint, a newer format, or written by another run.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise InputError(f"cannot read checkpoint {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise InputError(f"checkpoint {path} is not valid JSON ({exc.msg} at line "
                         f"{exc.lineno}); delete it to start afresh") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"{path} is not a dask_coded checkpoint")
    if doc.get("version") != VERSION:
        raise InputError(f"checkpoint {path} has format version {doc.get('version')!r}; this "
                         f"dask_coded reads version {VERSION}")
    stored = doc.get("fingerprint") or {}
    if fprint is not None:
        for key, want in fprint.items():
            have = stored.get(key)
            if not _same(have, want):
                what = "data" if key in ("btb", "gram_trace") else key
                raise InputError(f"checkpoint {path} was written by another run ({what}: "
                                 f"{have!r} there, {want!r} here); delete it or resume "
                                 "with the same settings and data")
    state = doc.get("state")
    if not isinstance(state, dict):
        raise InputError(f"checkpoint {path} holds no solver state")
    return state
