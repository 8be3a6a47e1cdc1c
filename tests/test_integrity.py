"""Integrity end to end (issue 15): every chunk dask_coded writes is checksummed, a damaged one
stops the read with one line naming it, and a store without checksums is read but reported
"unverified". Real stores on disk, damaged with plain file I/O."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
import zarr

import dask_coded as dc
from dask_coded import io
from dask_coded.io import generate_matrix, open_matrix, read_block, read_rows, write_matrix
from tests.conftest import assert_one_line_error, cli

#: Store layout of every test here: 400 x 3, chunks of 100 rows, so A has chunks (0..3, 0).
ROWS, COLS, CHUNK = 400, 3, 100


def _store(path: Path) -> Path:
    dc.make_dataset(path, n_rows=ROWS, n_cols=COLS, chunk_rows=CHUNK, seed=0)
    return path


def _chunk_file(array_dir: Path, *index: int) -> Path:
    """The file of one chunk, v3 default chunk keys (``c/i/j``)."""
    return array_dir.joinpath("c", *map(str, index))


def _damage(chunk: Path, how: str) -> None:
    data = bytearray(chunk.read_bytes())
    if how == "flip":
        data[len(data) // 2] ^= 0x08  # one bit, in the middle of the compressed bytes
    elif how == "truncate":
        data = data[: len(data) // 2]
    elif how == "empty":
        data = bytearray()
    chunk.write_bytes(bytes(data))


def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg, msg
    return msg


def test_written_stores_carry_checksums(tmp_path):
    ds = _store(tmp_path / "d.zarr")
    write_matrix(tmp_path / "m.zarr", np.ones((4, 4)))
    generate_matrix(tmp_path / "g.zarr", 8, seed=0)
    with io.atomic_matrix(tmp_path / "c.zarr", (4, 4)) as c:  # how matmul writes C
        c[...] = 2.0
    group = zarr.open_group(str(ds), mode="r")
    for name in ("A", "b", "x0"):
        names = [type(codec).__name__ for codec in group[name].metadata.codecs]
        assert "Crc32cCodec" in names, (name, names)
        assert group[name].attrs[io.MANIFEST]["all_chunks"] is True
    assert io.integrity(ds) == "checksummed"
    for p in ("m.zarr", "g.zarr", "c.zarr"):
        assert io.integrity(tmp_path / p) == "checksummed", p


@pytest.mark.parametrize("how", ["flip", "truncate", "empty"])
def test_damaged_chunk_is_named_in_one_line(tmp_path, client, how):
    """Today: zstd ``checksum: false`` read a flipped bit as a wrong number, exit 0."""
    path = _store(tmp_path / "d.zarr")
    _damage(_chunk_file(path / "A", 2, 0), how)
    expected = "array 'A' chunk (2, 0) is corrupt"
    with pytest.raises(dc.InputError) as exc:
        dc.lstsq(path, method="direct", client=client)
    assert expected in _one_line(exc)
    with pytest.raises(dc.InputError) as exc:  # coded servers read their blocks on workers
        dc.lstsq(path, method="block-leverage", n_blocks=4, n_servers=8, max_iter=2,
                 client=client)
    assert expected in _one_line(exc)
    with pytest.raises(dc.InputError) as exc:  # the lazy arrays, read in this process
        dc.open_dataset(path)[0].sum().compute(scheduler="sync")
    assert expected in _one_line(exc)
    with pytest.raises(dc.InputError) as exc:  # the worker-side reader alone
        read_rows(path, 150, 300)  # chunks 1 and 2: the damaged one is found and named
    assert expected in _one_line(exc)
    if how == "flip":
        assert "checksum mismatch" in str(exc.value)
    a, _ = read_rows(path, 0, 200)  # undamaged chunks still read
    assert a.shape == (200, COLS)


def test_damaged_b_chunk_is_named(tmp_path):
    path = _store(tmp_path / "d.zarr")
    _damage(_chunk_file(path / "b", 3), "flip")
    with pytest.raises(dc.InputError, match=r"array 'b' chunk \(3,\) is corrupt"):
        read_rows(path, 0, ROWS)


def test_flipped_bit_through_the_cli_is_one_line(tmp_path):
    path = _store(tmp_path / "d.zarr")
    _damage(_chunk_file(path / "A", 1, 0), "flip")
    (tmp_path / "run.yaml").write_text(yaml.safe_dump({
        "dataset": {"path": str(path)},
        "cluster": {"workers": 1, "threads_per_worker": 1},
        "solver": {"method": "direct"}, "output": {"dir": str(tmp_path / "out")}}))
    proc = cli("solve", tmp_path / "run.yaml", "--no-progress")
    assert_one_line_error(proc, "array 'A' chunk (1, 0) is corrupt: checksum mismatch")
    assert "checksummed" in proc.stdout
    assert not (tmp_path / "out").exists()


def test_store_without_checksums_is_read_and_reported_unverified(tmp_path, client):
    """zarr's default codecs (zstd, no checksum): accepted, solved, marked unverified."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((ROWS, COLS))
    b = a @ np.array([1.0, -2.0, 0.5]) + 0.01 * rng.standard_normal(ROWS)
    g = zarr.open_group(str(tmp_path / "plain.zarr"), mode="w")
    g.create_array("A", data=a, chunks=(CHUNK, COLS))
    g.create_array("b", data=b, chunks=(CHUNK,))
    assert io.integrity(tmp_path / "plain.zarr") == "unverified"
    res = dc.lstsq(tmp_path / "plain.zarr", method="direct", client=client)
    np.testing.assert_allclose(res.x, np.linalg.lstsq(a, b, rcond=None)[0], rtol=1e-10)
    # a truncated chunk is still caught there, by the decompressor: one line, named
    _damage(_chunk_file(tmp_path / "plain.zarr" / "A", 0, 0), "truncate")
    with pytest.raises(dc.InputError, match=r"array 'A' chunk \(0, 0\) is corrupt: cannot "
                                            "be decompressed"):
        read_rows(tmp_path / "plain.zarr", 0, ROWS)


def test_zstd_checksum_counts_as_checksummed(tmp_path):
    g = zarr.open_group(str(tmp_path / "z.zarr"), mode="w")
    kw = {"compressors": zarr.codecs.ZstdCodec(level=1, checksum=True)}
    g.create_array("A", data=np.ones((10, 2)), chunks=(5, 2), **kw)
    g.create_array("b", data=np.ones(10), chunks=(5,), **kw)
    assert io.integrity(tmp_path / "z.zarr") == "checksummed"
    _damage(_chunk_file(tmp_path / "z.zarr" / "A", 1, 0), "flip")
    with pytest.raises(dc.InputError, match=r"array 'A' chunk \(1, 0\) is corrupt"):
        read_rows(tmp_path / "z.zarr", 0, 10)


def _edit(meta: Path, change) -> None:
    doc = json.loads(meta.read_text())
    change(doc)
    meta.write_text(json.dumps(doc))


@pytest.mark.parametrize(("change", "match"), [
    (lambda m: m.update(data_type="float32"), "has dtype float32 in its metadata but was "
                                               "written with dtype float64"),
    (lambda m: m.update(shape=[ROWS + CHUNK, COLS]), "has shape (500, 3) in its metadata"),
    (lambda m: m.update(data_type="no-such-type"), "the metadata of array 'A' is not valid"),
])
def test_edited_metadata_is_one_line(tmp_path, change, match):
    path = _store(tmp_path / "d.zarr")
    _edit(path / "A" / "zarr.json", change)
    with pytest.raises(dc.InputError) as exc:
        dc.open_dataset(path)
    assert match in _one_line(exc)


@pytest.mark.parametrize("where", ["A/zarr.json", "zarr.json"])
def test_invalid_metadata_json_is_one_line(tmp_path, where):
    path = _store(tmp_path / "d.zarr")
    (path / where).write_text('{"zarr_format": 3, ')
    with pytest.raises(dc.InputError) as exc:
        dc.open_dataset(path)
    assert "JSONDecodeError" in _one_line(exc)


def test_foreign_store_with_edited_dtype_fails_at_the_chunk(tmp_path):
    """No manifest to compare with: the wrong layout shows when a chunk is decoded."""
    g = zarr.open_group(str(tmp_path / "f.zarr"), mode="w")
    g.create_array("A", data=np.ones((10, 2)), chunks=(5, 2))
    g.create_array("b", data=np.ones(10), chunks=(5,))
    _edit(tmp_path / "f.zarr" / "A" / "zarr.json", lambda m: m.update(data_type="float32"))
    with pytest.raises(dc.InputError) as exc:
        read_rows(tmp_path / "f.zarr", 0, 10)
    assert "array 'A' chunk (0, 0) is corrupt: cannot be decoded" in _one_line(exc)


def test_float16_is_refused_in_one_line(tmp_path):
    g = zarr.open_group(str(tmp_path / "h.zarr"), mode="w")
    g.create_array("A", data=np.ones((10, 2), dtype=np.float16), chunks=(5, 2))
    g.create_array("b", data=np.ones(10), chunks=(5,))
    with pytest.raises(dc.InputError) as exc:
        dc.open_dataset(tmp_path / "h.zarr")
    assert "float16" in _one_line(exc) and "float32" in str(exc.value)


def test_damaged_matrix_chunk_is_named(tmp_path):
    write_matrix(tmp_path / "m.zarr", np.arange(64.0).reshape(8, 8), chunks=(4, 4))
    _damage(_chunk_file(tmp_path / "m.zarr", 1, 0), "flip")
    with pytest.raises(dc.InputError, match=r"chunk \(1, 0\) is corrupt: checksum mismatch"):
        read_block(tmp_path / "m.zarr", (0, 8), (0, 4))
    with pytest.raises(dc.InputError, match=r"chunk \(1, 0\) is corrupt"):
        open_matrix(tmp_path / "m.zarr").compute(scheduler="sync")
    np.testing.assert_array_equal(read_block(tmp_path / "m.zarr", (0, 4), (0, 8)),
                                  np.arange(32.0).reshape(4, 8))
