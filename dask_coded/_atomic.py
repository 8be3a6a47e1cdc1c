"""Atomic file output: write aside in the same folder, then rename over the target.

An output *folder* is ours only when it holds :data:`OUTPUT_MARKER`, a small JSON file that
only :func:`atomic_dir` writes, naming the format and every entry it put in the folder. A
folder is replaced only when that marker is ours and the folder holds nothing it does not
list: a file a user put beside our outputs (``thesis.tex``) is never deleted, the run is
refused instead. Refusing, rather than moving our new files in one by one around the user's,
keeps the one-rename swap: a kill at any instant leaves the old folder or the complete new
one, never a mix (see :func:`replace_dir`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError

#: The marker file of an output folder written by :func:`atomic_dir`.
OUTPUT_MARKER = ".dask-coded-output"

#: The ``format`` tag inside the marker: a file of that name that does not carry it (a
#: user's, another tool's) does not make a folder ours.
MARKER_FORMAT = "dask_coded.output"
MARKER_VERSION = 1

#: Hidden temporaries of ours (``.<name>.tmp-xxxxxxxx``, ``.<name>.old-xxxxxxxx``) older
#: than this are removed by the next write of the same target. A kill -9 leaves them
#: forever otherwise; a day is far longer than any write of a running command takes, so
#: a concurrent run's temporary is never taken.
STALE_SECONDS = 24 * 3600.0

_TAG = re.compile(r"[0-9a-f]{8}")


def is_writable(folder: Path) -> bool:
    """Whether a file can be created in ``folder``, found by creating (and removing) one.

    ``os.access`` answers for permission bits only: it says yes to root on a read-only
    folder, and to anyone on a read-only mount.
    """
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".dask-coded-probe-")
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return True


def writable_parent(path: Path) -> Path:
    """The folder ``path`` will be written in: created if needed, and checked writable."""
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create folder {parent}: {exc.strerror}") from None
    if not is_writable(parent):
        raise InputError(f"folder {parent} is not writable")
    return parent


def replace_dir(tmp: Path, path: Path) -> None:
    """Rename the finished folder ``tmp`` to ``path``, moving an existing ``path`` aside first.

    Between the two renames neither exists; at no point is a half-written folder at ``path``.
    """
    if path.exists():
        trash = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(path, trash)
        os.rename(tmp, path)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.rename(tmp, path)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    The temporary name keeps the suffix, so writers that choose a format by extension
    (``savefig``) still work. On error the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    parent = writable_parent(path)
    clean_stale(parent, f".{path.stem}.tmp-", path.suffix)
    tmp = parent / f".{path.stem}.tmp-{uuid.uuid4().hex[:8]}{path.suffix}"
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with tmp.open("w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())  # the rename must not reach the disk before the data


def _age(entry: Path, now: float) -> float:
    """Seconds since ``entry`` (or, for a folder, any of its top-level entries) changed."""
    newest = entry.lstat().st_mtime
    if entry.is_dir() and not entry.is_symlink():
        with contextlib.suppress(OSError):
            for child in entry.iterdir():
                newest = max(newest, child.lstat().st_mtime)
    return now - newest


def clean_stale(parent: Path, prefix: str, suffix: str = "", *,
                max_age: float = STALE_SECONDS) -> list[Path]:
    """Remove our temporaries ``<prefix>xxxxxxxx<suffix>`` in ``parent`` older than ``max_age``.

    Only names of exactly that shape (eight hex digits, as :func:`atomic_path` and
    :func:`atomic_dir` draw them) are touched; a folder named ``.<name>.old-...`` is removed
    only if it holds our marker (it is an earlier output moved aside). Errors are ignored:
    cleaning is a courtesy, never a reason to fail a run.

    Returns
    -------
    list of Path
        What was removed.
    """
    removed = []
    now = time.time()
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(suffix)):
            continue
        tag = name[len(prefix):len(name) - len(suffix)] if suffix else name[len(prefix):]
        if not _TAG.fullmatch(tag):
            continue
        try:
            if _age(entry, now) <= max_age:
                continue
            if entry.is_dir() and not entry.is_symlink():
                if ".old-" in prefix and read_marker(entry) is None:
                    continue
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue
        removed.append(entry)
    return removed


def read_marker(folder: Path, marker: str = OUTPUT_MARKER) -> list[str] | None:
    """The entries the marker of ``folder`` says dask_coded wrote, or None if it is not ours.

    None for a missing, unreadable, binary or malformed marker, or one without our format
    tag: all of them mean "not written by :func:`atomic_dir`".
    """
    try:
        doc = json.loads((folder / marker).read_bytes().decode("utf-8"))
    except (OSError, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    if not isinstance(doc, dict) or doc.get("format") != MARKER_FORMAT:
        return None
    files = doc.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return files


def write_marker(folder: Path, marker: str = OUTPUT_MARKER) -> list[str]:
    """Write the marker of ``folder``, listing its entries (but the marker), and return them."""
    names = sorted(p.name for p in folder.iterdir() if p.name != marker)
    doc = {"format": MARKER_FORMAT, "version": MARKER_VERSION, "files": names}
    with (folder / marker).open("w") as f:
        f.write(json.dumps(doc, indent=1))
        f.flush()
        os.fsync(f.fileno())  # part of the folder the rename publishes
    return names


def check_replaceable_dir(path: str | os.PathLike, marker: str = OUTPUT_MARKER) -> None:
    """Raise unless ``path`` is absent, an empty folder, or an earlier output of ours.

    An earlier output holds ``marker`` as :func:`write_marker` writes it, and nothing that
    marker does not list. Guards :func:`atomic_dir` against replacing a folder it did not
    write (an output folder set to ``.`` or ``~`` by mistake) and against deleting a file a
    user put into one it did.
    """
    path = Path(path)
    if not path.exists():
        ancestor = path.parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise InputError(f"cannot create {path}: {ancestor} is not a folder")
        if not is_writable(ancestor):
            raise InputError(f"folder {ancestor} is not writable")
        return
    if not is_writable(path.parent if str(path.parent) else Path(".")):
        raise InputError(f"folder {path.parent} is not writable")
    if not path.is_dir():
        raise InputError(f"{path} exists and is not a folder")
    try:
        names = sorted(p.name for p in path.iterdir())
    except OSError as exc:
        raise InputError(f"cannot list folder {path}: {exc.strerror}") from None
    if not names:
        return
    ours = read_marker(path, marker)
    if ours is None:
        raise InputError(f"{path} exists and holds no dask_coded output marker ({marker}): "
                         f"it does not look like an earlier output folder, so it is not "
                         f"replaced; choose another folder")
    foreign = [n for n in names if n != marker and n not in ours]
    if foreign:
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        raise InputError(f"{path} holds {foreign[0]!r}{more}, which dask_coded did not "
                         f"write: replacing the folder would delete it; move it out or "
                         f"choose another folder")


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, *, marker: str = OUTPUT_MARKER) -> Iterator[Path]:
    """Yield a hidden sibling folder to fill; rename it to ``path`` if the block succeeds.

    An earlier folder at ``path`` is replaced only if :func:`check_replaceable_dir` allows it
    (checked before and again after the block: the folder may change while it runs): it is
    renamed aside, the new folder renamed into place, then the old one removed. The new
    folder gets ``marker`` (:func:`write_marker`) listing what the block wrote. An
    interrupted run leaves the previous folder, or (between the two renames) none, never a
    half-written one; the hidden temporary is removed on error, and one a kill -9 left is
    removed by a later call once :data:`STALE_SECONDS` old.
    """
    path = Path(path)
    check_replaceable_dir(path, marker)
    parent = writable_parent(path)
    clean_stale(parent, f".{path.name}.tmp-")
    clean_stale(parent, f".{path.name}.old-")
    tmp = parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        write_marker(tmp, marker)
        check_replaceable_dir(path, marker)
        replace_dir(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
