"""Zarr I/O: the only module of dask_coded that imports ``zarr``.

Datasets are Zarr groups (v2 or v3) holding the matrix A (N x d, chunked by rows) and the
right-hand side b (N,), named ``A`` and ``b`` unless a :class:`DatasetPath` names them
otherwise; a store dask_coded generates also holds ``x0`` (d,) and its parameters in the
group's attributes. Everything is written into a hidden sibling folder first and renamed into
place at the end, so an interrupted write never leaves a half-written store under the name a
user asked for.

Integrity. Every chunk dask_coded writes ends in a CRC-32C of its stored bytes (zarr v3's
``crc32c`` codec, after zstd), which zarr verifies on every read; every array it writes
records its shape, chunks and dtype in its attributes (:data:`MANIFEST`). A chunk that fails
to decode (flipped bit, truncated or emptied file) is named, by array and chunk index, in one
:class:`~dask_coded.errors.InputError`. A store written elsewhere without checksums is read
all the same, and :func:`integrity` says ``"unverified"`` for it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import dask.array as da
import numpy as np
import zarr
from dask.base import tokenize
from zarr.codecs import Crc32cCodec, ZstdCodec

from ._atomic import replace_dir, writable_parent
from ._validation import DEFAULT_CHUNK_BYTES, check_pair
from .errors import InputError


class _GroupWriter:
    """Creates arrays and writes row slices into a Zarr group being built aside."""

    def __init__(self, group: zarr.Group):
        self.group = group
        self._arrays: dict[str, zarr.Array] = {}

    def create(self, name: str, shape: tuple[int, ...], chunks: tuple[int, ...],
               dtype: str) -> None:
        # every chunk stored, even an all-zero one, and the manifest says so: readers then
        # treat a missing chunk of this array as a damaged store (see _check_complete)
        self._arrays[name] = self.group.create_array(**_written_array(shape, chunks, dtype),
                                                     name=name)

    def write(self, name: str, start: int, data: np.ndarray) -> None:
        self._arrays[name][start:start + data.shape[0]] = data

    def set_attrs(self, attrs: dict) -> None:
        self.group.attrs.update(attrs)


def _as_path(path: Any, what: str = "path") -> Path:
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise InputError(f"{what} must be a path (str or PathLike), got {path!r}")
    return Path(path)


def _check_target(path: Any, overwrite: bool) -> Path:
    """The output path of a store: absent, or (with ``overwrite``) an earlier Zarr store."""
    path = _as_path(path)
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise InputError(f"{path} already exists (use overwrite to replace it)")
        if not (path.is_dir() and (path / "zarr.json").is_file()):
            raise InputError(f"{path} exists and is not a Zarr store, so it is not replaced; "
                             "choose another path")
    return path


@contextlib.contextmanager
def atomic_group(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[_GroupWriter]:
    """Build a Zarr group in a hidden sibling folder, then rename it to ``path``.

    Parameters
    ----------
    path : path-like
        Final location of the store.
    overwrite : bool
        Replace an existing store at ``path``; otherwise an existing path is an error.
    """
    path = _check_target(path, overwrite)
    parent = writable_parent(path)
    tmp = parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        yield _GroupWriter(zarr.open_group(str(tmp), mode="w"))
        replace_dir(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


#: Array config of everything dask_coded writes: all chunks stored (zarr skips all-fill ones).
_ALL_CHUNKS = {"write_empty_chunks": True}

#: Codecs after the bytes serializer of everything dask_coded writes: zstd (zarr's default),
#: then a CRC-32C of the compressed bytes (4 bytes a chunk, checked at ~9 GB/s). Chosen over
#: zstd's ``checksum=True``: the CRC is over exactly what is on disk, so any flipped bit, a
#: truncated or an emptied chunk file fails one check ("checksum mismatch") before anything is
#: decoded, whatever the compressor; zstd's checks only the decompressed content, and a
#: damaged frame fails first as some other decoder error. ``crc32c`` is a codec of the zarr v3
#: specification, so other readers (tensorstore, zarrs) verify it too.
_COMPRESSORS = (ZstdCodec(level=0), Crc32cCodec())

#: Attribute of every array dask_coded writes: what it wrote (shape, chunks, dtype), that
#: every chunk is stored, and its checksum. Foreign arrays lack it.
MANIFEST = "dask_coded_array"

#: Codec names (zarr v3 ``name``, numcodecs ``codec_id``) that checksum a chunk's bytes.
_CHECKSUM_CODECS = {"crc32c", "crc32", "adler32", "fletcher32", "jenkins_lookup3",
                    "numcodecs.crc32c", "numcodecs.crc32", "numcodecs.adler32",
                    "numcodecs.fletcher32", "numcodecs.jenkins_lookup3"}


def _written_array(shape: tuple[int, ...], chunks: tuple[int, ...], dtype: str) -> dict:
    """Keyword arguments of ``create_array`` for an array dask_coded writes."""
    shape, chunks = tuple(int(n) for n in shape), tuple(int(c) for c in chunks)
    manifest = {"shape": list(shape), "chunks": list(chunks), "dtype": str(np.dtype(dtype)),
                "all_chunks": True, "checksum": "crc32c"}
    return {"shape": shape, "chunks": chunks, "dtype": dtype, "config": _ALL_CHUNKS,
            "compressors": _COMPRESSORS, "attributes": {MANIFEST: manifest}}


def _check_complete(arr: zarr.Array, what: str) -> None:
    """Refuse an array with chunks missing from its store.

    Zarr reads a missing chunk as its fill value, and that is its definition of the format:
    a writer with ``write_empty_chunks=False`` (zarr's default, dask's ``to_zarr``) leaves
    all-fill chunks out. So a missing chunk is damage only where the writer is known to have
    stored every chunk: the arrays dask_coded writes (their :data:`MANIFEST` says so) and the
    datasets of earlier versions (group attribute ``dask_coded.format``). Only those are
    checked (see :func:`_is_complete_by_writer`); any other store is read as zarr defines it.
    An opt-in ``verify=`` flag was the alternative, but a flag nobody passes protects no one,
    while this check costs one listing and knows exactly when it applies.
    """
    stored, total = arr.nchunks_initialized, arr.nchunks
    if stored < total:
        raise InputError(f"{what} has {total - stored} of its {total} chunks missing from the "
                         "store (zarr would read them as zeros, but dask_coded wrote every "
                         "chunk): copy the store again")


def _is_complete_by_writer(arr: zarr.Array, group_attrs: dict | None = None) -> bool:
    """Whether the writer of ``arr`` stored every chunk (so a missing one is damage)."""
    manifest = arr.attrs.get(MANIFEST)
    if isinstance(manifest, dict):
        return bool(manifest.get("all_chunks"))
    legacy = (group_attrs or {}).get("dask_coded")
    return isinstance(legacy, dict) and "format" in legacy  # make_dataset wrote all chunks


def _check_manifest(arr: zarr.Array, what: str) -> None:
    """Refuse an array whose metadata differs from what dask_coded recorded writing it.

    Shape, chunks and dtype are in the same metadata document as the manifest, so an edit
    of one of them (by hand, or by a tool that rewrote the metadata) is caught before any
    chunk is decoded with the wrong layout.
    """
    manifest = arr.attrs.get(MANIFEST)
    if not isinstance(manifest, dict):
        return
    now = {"shape": [int(n) for n in arr.shape], "chunks": [int(c) for c in arr.chunks],
           "dtype": str(np.dtype(arr.dtype))}
    for key, value in now.items():
        if key in manifest and manifest[key] != value:
            raise InputError(f"{what} has {key} {_fmt(value)} in its metadata but was written "
                             f"with {key} {_fmt(manifest[key])}: its metadata was edited after "
                             "it was written; restore or rewrite the store")


def _fmt(value: Any) -> str:
    return str(tuple(value)) if isinstance(value, list) else str(value)


def _is_checksummed(arr: zarr.Array) -> bool:
    """Whether every chunk of ``arr`` carries a checksum that zarr verifies on read."""
    meta = arr.metadata
    if meta.zarr_format == 3:
        codecs = list(meta.codecs)
        while codecs and hasattr(codecs[0], "index_codecs"):  # sharded: the inner chunks
            codecs = list(codecs[0].codecs) + codecs[1:]
    else:
        codecs = [c for c in (*(meta.filters or ()), meta.compressor) if c is not None]
    for codec in codecs:
        if hasattr(codec, "to_dict"):  # a zarr v3 codec: {"name": ..., "configuration": ...}
            config = codec.to_dict()
            name, settings = config.get("name"), config.get("configuration") or {}
        else:  # a numcodecs codec (zarr v2): {"id": ..., **settings}
            settings = codec.get_config()
            name = settings.get("id")
        if name in _CHECKSUM_CODECS or (name in ("zstd", "numcodecs.zstd")
                                        and settings.get("checksum")):
            return True
    return False


def _why(exc: BaseException) -> str:
    """A short, one-line reason for a chunk that failed to read."""
    text = " ".join(str(exc).split())
    if "checksum" in text.lower():
        return "checksum mismatch"
    if isinstance(exc, OSError):
        return f"unreadable ({exc.strerror or type(exc).__name__})"
    if "zstd" in text.lower() or "decompress" in text.lower():
        return f"cannot be decompressed ({text[:120]})"
    return f"cannot be decoded ({type(exc).__name__}: {text[:120]})"


def _bounds(sel: Any, shape: tuple[int, ...]) -> list[tuple[int, int]]:
    """The bounding index range per dimension of a basic selection (for locating chunks)."""
    sel = sel if isinstance(sel, tuple) else (sel,)
    sel = [s for s in sel if s is not None]
    if any(s is Ellipsis for s in sel):
        sel = []  # rare: locate over the whole array
    out = []
    for dim, n in enumerate(shape):
        s = sel[dim] if dim < len(sel) else slice(None)
        if isinstance(s, slice):
            lo, hi, _ = s.indices(n)
            out.append((lo, max(lo, hi)))
        elif isinstance(s, (int, np.integer)):
            i = int(s) % n if n else 0
            out.append((i, i + 1))
        else:
            out.append((0, n))
    return out


def _locate(arr: zarr.Array, sel: Any, what: str, exc: BaseException) -> InputError:
    """The one-line error naming the first chunk of ``sel`` that fails to read alone.

    Runs only after a read failed: it re-reads the selection's chunks one at a time, so the
    message names the damaged chunk, not the rows that happened to be asked for.
    """
    chunks = tuple(int(c) for c in arr.chunks)
    ranges = [range(lo // c, (hi - 1) // c + 1) if hi > lo else range(0)
              for (lo, hi), c in zip(_bounds(sel, arr.shape), chunks)]
    for idx in itertools.product(*ranges):
        box = tuple(slice(i * c, min((i + 1) * c, n))
                    for i, c, n in zip(idx, chunks, arr.shape))
        try:
            arr[box]
        except Exception as inner:
            return InputError(f"{what} chunk {idx} is corrupt: {_why(inner)}")
    return InputError(f"{what} cannot be read: {_why(exc)}")


def _read(arr: zarr.Array, sel: Any, what: str) -> np.ndarray:
    """``arr[sel]`` as numpy; a chunk that fails to decode raises an InputError naming it."""
    try:
        return np.asarray(arr[sel])
    except InputError:
        raise
    except Exception as exc:  # codecs raise ValueError, RuntimeError, OSError, ...
        raise _locate(arr, sel, what, exc) from None


class _CheckedArray:
    """A zarr array as :func:`dask.array.from_array` reads it, each read through
    :func:`_read`: a damaged chunk then surfaces from any task (on any worker) as one line
    naming it, instead of the codec's bare ``ValueError``."""

    def __init__(self, arr: zarr.Array, what: str):
        self.arr, self.what = arr, what
        self.shape = tuple(int(n) for n in arr.shape)
        self.dtype = np.dtype(arr.dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, sel: Any) -> np.ndarray:
        return _read(self.arr, sel, self.what)


def _dask_array(arr: zarr.Array, what: str, store: Path) -> da.Array:
    """A lazy dask array of a zarr array, chunked as stored, its reads checked."""
    meta = store / "zarr.json"
    stamp = meta.stat().st_mtime_ns if meta.exists() else 0
    name = "from-zarr-" + tokenize(str(store), what, arr.shape, arr.chunks, str(arr.dtype),
                                   stamp)
    return da.from_array(_CheckedArray(arr, what), chunks=tuple(arr.chunks), name=name,
                         meta=np.empty((0,) * len(arr.shape), dtype=np.dtype(arr.dtype)))


@dataclasses.dataclass(frozen=True)
class DatasetPath(os.PathLike):
    """A dataset store and the names of its arrays: a path wherever a path is accepted.

    ``lstsq(DatasetPath("data.zarr", A="X", b="y"))`` solves ``min ||X w - y||`` with the
    workers reading their rows straight from the store, as for a plain path (which means
    ``A`` and ``b``). Picklable, so the names travel with every worker's read.

    Parameters
    ----------
    path : path-like
        A Zarr group (v2 or v3).
    A, b : str
        Names of the matrix and of the right-hand side in the group (``"sub/X"`` for an
        array inside a subgroup).
    """

    path: str
    A: str = "A"
    b: str = "b"

    def __post_init__(self) -> None:
        if isinstance(self.path, DatasetPath):
            object.__setattr__(self, "path", self.path.path)
        object.__setattr__(self, "path", os.fspath(_as_path(self.path, "a dataset path")))
        for key in ("A", "b"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip("/"):
                raise InputError(f"the array name {key}= must be a non-empty string, got "
                                 f"{value!r}"[:200])

    def __fspath__(self) -> str:
        return self.path

    def __str__(self) -> str:  # messages name the store as the user wrote it
        return self.path

    def absolute(self) -> DatasetPath:
        """The same dataset by absolute path: a worker's current folder is not the client's."""
        return dataclasses.replace(self, path=os.path.abspath(self.path))


def dataset_path(path: str | os.PathLike, A: str | None = None,
                 b: str | None = None) -> DatasetPath:
    """``path`` as a :class:`DatasetPath`; names given here override those ``path`` has."""
    ref = path if isinstance(path, DatasetPath) else DatasetPath(path)
    return dataclasses.replace(ref, **{k: v for k, v in (("A", A), ("b", b)) if v is not None})


def _open_group(path: str | os.PathLike) -> zarr.Group:
    p = _as_path(path, "a dataset path")
    if not p.exists():
        raise InputError(f"no dataset at {p}: the path does not exist")
    try:
        # absolute: workers resolve a relative store root against their own folder, where
        # zarr would read every missing chunk as zeros (its fill value), silently
        node = zarr.open(str(p.resolve()), mode="r")
    except Exception as exc:  # zarr raises several types for "not a group"
        raise InputError(f"{p} is not a readable Zarr group ({_reason(exc)})") from None
    if not isinstance(node, zarr.Group):
        raise InputError(f"{p} is a single Zarr array, not a group: a dataset is a group "
                         "holding A and b (name them with A= and b=)")
    return node


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:150]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _member(group: zarr.Group, name: str, path: Any, key: str) -> zarr.Array:
    """The array ``name`` of ``group``, or one line saying why it is not there."""
    try:
        node = group[name]
    except KeyError:
        try:
            held = sorted(group.array_keys())
        except Exception:
            held = []
        hint = (f" (it holds {', '.join(held[:8])}{', ...' if len(held) > 8 else ''}: "
                f"name yours with {key}=)" if held else "")
        raise InputError(f"{path} has no array {name!r}: a dataset needs A and b{hint}"
                         ) from None
    except Exception as exc:  # invalid zarr.json / .zarray: JSON, dtype or codec errors
        raise InputError(f"store {path}: the metadata of array {name!r} is not valid "
                         f"({_reason(exc)})") from None
    if not isinstance(node, zarr.Array):
        raise InputError(f"store {path}: {name!r} is a group, not an array")
    return node


def read_attrs(path: str | os.PathLike) -> dict:
    """The attributes of a dataset store (its generator parameters, when generated)."""
    return dict(_open_group(path).attrs)


@functools.lru_cache(maxsize=8)
def _cached_group(path: str, stamp: int) -> zarr.Group:
    return _open_group(path)


def _group_stamp(path: str) -> int:
    """The store's root metadata mtime: a store rewritten in place is reopened."""
    for name in ("zarr.json", ".zgroup"):
        meta = os.path.join(path, name)
        with contextlib.suppress(OSError):
            return os.stat(meta).st_mtime_ns
    return 0


def read_rows(path: str | os.PathLike, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``[start, stop)`` of a dataset's A and b, read on whichever process calls it.

    Workers call this to build their servers' data straight from the store, so encoded blocks
    never pass through the client. The opened group is cached per process.

    Parameters
    ----------
    path : path-like or DatasetPath
        The store; a :class:`DatasetPath` names its arrays (default ``A`` and ``b``).

    Raises
    ------
    InputError
        A chunk that fails its checksum or cannot be decoded, named by array and chunk index.
    """
    ref = dataset_path(path)
    group = _cached_group(ref.path, _group_stamp(ref.path))
    a_arr, b_arr = group[ref.A], group[ref.b]
    a = _read(a_arr, (slice(start, stop), slice(None)), f"store {ref.path}: array {ref.A!r}")
    b = _read(b_arr, (slice(start, stop),) + (slice(None),) * (len(b_arr.shape) - 1),
              f"store {ref.path}: array {ref.b!r}")
    return a, (b[:, 0] if b.ndim == 2 else b)


def read_array(path: str | os.PathLike, name: str) -> np.ndarray:
    """A small array of a store (such as ``x0``) read whole into memory."""
    group = _open_group(path)
    if name not in group:
        raise InputError(f"{path} has no array {name!r}")
    return _read(group[name], (), f"store {path}: array {name!r}")


def _check_dtype(arr: zarr.Array, name: str, path: Any) -> None:
    """Refuse float16 (issue 15 allows refusing or converting with a warning).

    Refused, not converted: the passes accumulate Gram matrices and gradients in the data's
    precision, where float16 overflows at 65504 (a few hundred rows of unit entries) and
    keeps 3 digits; a silent float64 copy on every worker would take four times the memory
    the user planned for. The message says what to store instead.
    """
    if np.dtype(arr.dtype) == np.float16:
        raise InputError(f"{name} of {path} is float16, which the solvers cannot sum "
                         "accurately (3 digits, overflow at 65504): store it as float32 or "
                         "float64")


def open_dataset(path: str | os.PathLike, A: str | None = None, b: str | None = None
                 ) -> tuple[da.Array, da.Array]:
    """Open a stored regression dataset lazily.

    Parameters
    ----------
    path : path-like or DatasetPath
        A Zarr group (v2 or v3: written by dask_coded, zarr, ``dask.array.to_zarr`` or
        xarray) holding the matrix (N x d) and the right-hand side (N,) or (N, 1).
    A, b : str, optional
        Their names in the group (default ``"A"`` and ``"b"``, or those of a
        :class:`DatasetPath`); ``"sub/X"`` for an array in a subgroup.

    Returns
    -------
    A, b : dask.array.Array
        Row-chunked lazy arrays; ``A`` has one chunk across its columns. Nothing is read yet.
        A chunk absent from the store reads as the array's fill value, as zarr defines it
        (zarr and dask skip all-fill chunks by default), except in a store dask_coded wrote,
        which holds every chunk: there an absent chunk is damage and refused. A chunk that
        fails to decode raises an InputError naming it when it is read.

    Raises
    ------
    InputError
        Missing path, a single array instead of a group, missing arrays, invalid metadata,
        A not 2-D, b not 1-D, row counts that differ, a dtype that is not real floating
        point, float16, metadata edited since dask_coded wrote it, or missing chunks in a
        store dask_coded wrote.

    See Also
    --------
    integrity : whether the store's chunks are checksummed.
    """
    ref = dataset_path(path, A, b)
    group = _open_group(ref.path)
    store = Path(ref.path).resolve()
    a_store = _member(group, ref.A, ref, "A")
    b_store = _member(group, ref.b, ref, "b")
    attrs = dict(group.attrs)
    for name, arr in ((ref.A, a_store), (ref.b, b_store)):
        what = f"{name!r} of {ref}" if name not in ("A", "b") else f"{name} of {ref}"
        _check_manifest(arr, what)
        if _is_complete_by_writer(arr, attrs):
            _check_complete(arr, what)
    if len(a_store.shape) != 2:
        raise InputError(f"A must be 2-D, got shape {tuple(a_store.shape)} in {ref}")
    _check_dtype(a_store, "A", ref)
    _check_dtype(b_store, "b", ref)
    b_full = _dask_array(b_store, f"store {ref}: array {ref.b!r}", store)
    if len(b_store.shape) == 2 and b_store.shape[1] == 1:
        b_arr = b_full[:, 0]
    elif len(b_store.shape) == 1:
        b_arr = b_full
    else:
        raise InputError(f"b must be 1-D, got shape {tuple(b_store.shape)} in {ref}")
    a = _dask_array(a_store, f"store {ref}: array {ref.A!r}", store)
    if a.chunks[1] != (a.shape[1],):
        a = a.rechunk({1: -1})  # keep whole rows in one chunk: every kernel works on row blocks
    check_pair(a, b_arr, where=str(ref))
    return a, b_arr.rechunk({0: a.chunks[0]})


def integrity(path: str | os.PathLike, A: str | None = None, b: str | None = None
              ) -> Literal["checksummed", "unverified"]:
    """Whether every chunk of a store is checksummed, so that zarr verifies it on read.

    Parameters
    ----------
    path : path-like or DatasetPath
        A dataset (its ``A`` and ``b``, or the arrays named) or a single matrix array.
    A, b : str, optional
        Array names of a dataset, as for :func:`open_dataset`.

    Returns
    -------
    {"checksummed", "unverified"}
        ``"checksummed"``: each chunk carries a checksum (CRC-32C as dask_coded writes, or
        another checksum codec, or zstd's content checksum) and a damaged one is refused
        when read. ``"unverified"``: some chunk has none (zarr's default codecs), so a
        flipped bit in it reads as a wrong number.
    """
    p = _as_path(path, "a store path")
    try:
        node = zarr.open(str(p.resolve()), mode="r")
    except Exception as exc:
        raise InputError(f"{p} is not a readable Zarr store ({_reason(exc)})") from None
    if isinstance(node, zarr.Array):
        arrays = [node]
    else:
        ref = dataset_path(path, A, b)
        arrays = [_member(node, name, ref, key) for key, name in (("A", ref.A), ("b", ref.b))]
    return "checksummed" if all(_is_checksummed(a) for a in arrays) else "unverified"


def as_row_chunked(a: Any, b: Any | None = None, *, chunk_rows: int | None = None
                   ) -> tuple[da.Array, da.Array | None]:
    """Turn numpy arrays, dask arrays or a Zarr path into row-chunked dask arrays.

    A path (str or PathLike) is opened with :func:`dask_coded.open_dataset`; then ``b`` must be
    None and the store's ``b`` is returned.
    """
    if isinstance(a, (str, os.PathLike)):
        if b is not None:
            raise InputError("pass either a dataset path or arrays A and b, not both")
        return open_dataset(a)
    if not hasattr(a, "ndim") or not hasattr(a, "dtype"):
        try:
            a = np.asarray(a)
        except Exception:
            raise InputError(f"A must be an array or a dataset path, "
                             f"got {type(a).__name__}") from None
    if b is not None and not hasattr(b, "ndim"):
        try:
            b = np.asarray(b)
        except Exception:
            raise InputError(f"b must be an array, got {type(b).__name__}") from None
    check_pair(a, b)
    if not isinstance(a, da.Array):
        if chunk_rows is None:
            chunk_rows = max(a.shape[1], DEFAULT_CHUNK_BYTES // (8 * a.shape[1]))
        a = da.from_array(np.asarray(a), chunks=(chunk_rows, -1))
    elif a.chunks[1] != (a.shape[1],):
        a = a.rechunk({1: -1})
    if b is not None:
        b = da.asarray(b).rechunk({0: a.chunks[0]}) if isinstance(b, da.Array) else \
            da.from_array(np.asarray(b), chunks=(a.chunks[0],))
    return a, b


# ------------------------------------------------------------------------------- matrices
# A matrix of a product ``C = A B`` is a bare 2-D Zarr array (not a group).


def _open_array(path: str | os.PathLike, name: str = "matrix") -> zarr.Array:
    p = _as_path(path, f"the path of {name}")
    if not p.exists():
        raise InputError(f"no {name} at {p}: the path does not exist")
    try:
        arr = zarr.open_array(str(p.resolve()), mode="r")  # absolute: see _open_group
    except Exception as exc:  # zarr raises several types for "not an array"
        raise InputError(f"{name} at {p} is not a readable Zarr array "
                         f"({type(exc).__name__})") from None
    if len(arr.shape) != 2:
        raise InputError(f"{name} at {p} must be 2-D, got shape {tuple(arr.shape)}")
    dtype = np.dtype(arr.dtype)
    if dtype.kind != "f":
        raise InputError(f"{name} at {p} has dtype {dtype}; only real floating point is "
                         "supported")
    if 0 in arr.shape:
        raise InputError(f"{name} at {p} is empty (shape {tuple(arr.shape)})")
    _check_manifest(arr, f"{name} at {p}")
    if _is_complete_by_writer(arr) or "dask_coded" in arr.attrs:  # generate_matrix's, v1
        _check_complete(arr, f"{name} at {p}")
    return arr


def open_matrix(path: str | os.PathLike, name: str = "matrix") -> da.Array:
    """A stored 2-D real floating-point Zarr array as a lazy dask array (nothing read yet).

    A chunk that fails to decode raises an InputError naming it when it is read; a chunk
    absent from the store reads as the fill value unless dask_coded wrote the array (see
    :func:`open_dataset`).
    """
    arr = _open_array(path, name)
    return _dask_array(arr, f"store {path}: {name}", Path(path).resolve())


def matrix_info(path: str | os.PathLike, name: str = "matrix") -> tuple[tuple[int, int], str]:
    """``(shape, dtype)`` of a stored matrix, validated as :func:`open_matrix` does."""
    arr = _open_array(path, name)
    return (int(arr.shape[0]), int(arr.shape[1])), str(np.dtype(arr.dtype))


@functools.lru_cache(maxsize=8)
def _cached_array(path: str, stamp: int) -> zarr.Array:
    return zarr.open_array(path, mode="r")


def read_block(path: str | os.PathLike, rows: tuple[int, int], cols: tuple[int, int]
               ) -> np.ndarray:
    """``M[rows[0]:rows[1], cols[0]:cols[1]]`` of a stored matrix, read by the calling process.

    Workers call this to build their servers' encoded blocks straight from the store; the
    opened array is cached per process.
    """
    meta = Path(path) / "zarr.json"
    stamp = meta.stat().st_mtime_ns if meta.exists() else 0  # a rewritten store is reopened
    arr = _cached_array(str(path), stamp)
    return _read(arr, (slice(rows[0], rows[1]), slice(cols[0], cols[1])),
                 f"store {path}: matrix")


def write_matrix(path: str | os.PathLike, data: np.ndarray, *,
                 chunks: tuple[int, int] | None = None, overwrite: bool = False) -> None:
    """Write a 2-D array to a new Zarr array at ``path``, atomically (aside, then renamed)."""
    with atomic_matrix(path, data.shape, str(data.dtype), chunks=chunks,
                       overwrite=overwrite) as arr:
        arr[...] = data


@contextlib.contextmanager
def atomic_matrix(path: str | os.PathLike, shape: tuple[int, int], dtype: str = "float64", *,
                  chunks: tuple[int, int] | None = None, overwrite: bool = False
                  ) -> Iterator[zarr.Array]:
    """Create a 2-D Zarr array in a hidden sibling folder; rename it to ``path`` on success.

    The caller writes tiles into the yielded array. On error nothing is left behind (the
    temporary folder is removed and ``path`` is untouched).
    """
    path = _check_target(path, overwrite)
    parent = writable_parent(path)
    tmp = parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    if chunks is None:
        chunks = (min(shape[0], 1024), min(shape[1], 1024))
    try:
        yield zarr.create_array(str(tmp), **_written_array(shape, chunks, dtype))
        replace_dir(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def open_written_matrix(path: str | os.PathLike) -> zarr.Array:
    """A matrix written by :func:`atomic_matrix`, opened read-only."""
    return _open_array(path)


def matrix_attrs(path: str | os.PathLike) -> dict:
    """The attributes of a stored matrix (its generator parameters, when generated)."""
    return dict(_open_array(path).attrs)


def generate_matrix(path: str | os.PathLike, n: int, seed: int, *, chunk_rows: int = 1024,
                    overwrite: bool = False) -> None:
    """Write a seeded random ``n x n`` test matrix (N(0, 1/n) entries) to a Zarr array.

    Written chunk by chunk (rows ``[i c, (i+1) c)`` from the stream ``(seed, i)``), aside and
    renamed into place; the generator parameters go in the array's attributes.
    """
    with atomic_matrix(path, (n, n), "float64", chunks=(min(n, chunk_rows), n),
                       overwrite=overwrite) as arr:
        for i, start in enumerate(range(0, n, chunk_rows)):
            stop = min(start + chunk_rows, n)
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))
            arr[start:stop] = rng.standard_normal((stop - start, n)) / np.sqrt(n)
        arr.attrs.update({"dask_coded": {"generator": {"n": int(n), "seed": int(seed),
                                                       "chunk_rows": int(chunk_rows)}}})
