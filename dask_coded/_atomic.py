"""Atomic file output: write aside in the same folder, then rename over the target."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError


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


def check_replaceable_dir(path: str | os.PathLike, marker: str) -> None:
    """Raise unless ``path`` is absent, an empty folder, or a folder holding ``marker``.

    Guards :func:`atomic_dir` against replacing a folder it did not write (an output folder
    set to ``.`` or ``~`` by mistake).
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
    if any(path.iterdir()) and not (path / marker).is_file():
        raise InputError(f"{path} exists and holds no {marker}: it does not look like an "
                         f"earlier output folder, so it is not replaced; choose another folder")


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, *, marker: str) -> Iterator[Path]:
    """Yield a hidden sibling folder to fill; rename it to ``path`` if the block succeeds.

    An earlier folder at ``path`` is replaced only if :func:`check_replaceable_dir` allows it:
    it is renamed aside, the new folder renamed into place, then the old one removed. An
    interrupted run leaves the previous folder, or (between the two renames) none, never a
    half-written one; the hidden temporary is removed on error.
    """
    path = Path(path)
    check_replaceable_dir(path, marker)
    parent = writable_parent(path)
    tmp = parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        check_replaceable_dir(path, marker)
        replace_dir(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
