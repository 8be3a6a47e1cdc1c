"""Atomic output folders: replaced only when ours, never deleting a file we did not write.

Issue 15, part 4: an output folder holding any report.json was replaced whole, and a
user's thesis.tex beside it went with it; a kill -9 left hidden temporaries forever.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from dask_coded._atomic import (
    MARKER_FORMAT,
    OUTPUT_MARKER,
    STALE_SECONDS,
    atomic_dir,
    atomic_path,
    check_replaceable_dir,
    read_marker,
)
from dask_coded.errors import InputError
from tests.conftest import assert_one_line_error, cli


def _write(out, files: dict) -> None:
    with atomic_dir(out) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text)


def _age(path, seconds: float) -> None:
    """Set the modification times of ``path`` and its entries ``seconds`` into the past."""
    when = time.time() - seconds
    for p in [path, *path.iterdir()] if path.is_dir() else [path]:
        os.utime(p, (when, when))


def test_the_marker_lists_what_was_written(tmp_path):
    out = tmp_path / "out"
    _write(out, {"report.json": "{}", "x.npy": "x"})
    assert sorted(p.name for p in out.iterdir()) == [OUTPUT_MARKER, "report.json", "x.npy"]
    doc = json.loads((out / OUTPUT_MARKER).read_text())
    assert doc["format"] == MARKER_FORMAT and doc["files"] == ["report.json", "x.npy"]
    assert read_marker(out) == ["report.json", "x.npy"]


def test_our_folder_is_replaced_with_only_the_new_files(tmp_path):
    out = tmp_path / "out"
    _write(out, {"report.json": "1", "x_old.npy": "old"})
    _write(out, {"report.json": "2"})
    assert sorted(p.name for p in out.iterdir()) == [OUTPUT_MARKER, "report.json"]
    assert (out / "report.json").read_text() == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing hidden left


def test_a_users_file_beside_our_outputs_survives(tmp_path):
    """Regression: the thesis.tex beside report.json was deleted with the folder."""
    out = tmp_path / "out"
    _write(out, {"report.json": "1"})
    (out / "thesis.tex").write_text("three years of work")
    with pytest.raises(InputError, match=r"holds 'thesis\.tex', which dask_coded did not "
                                         r"write") as exc:
        _write(out, {"report.json": "2"})
    assert "\n" not in str(exc.value)
    assert (out / "thesis.tex").read_text() == "three years of work"
    assert (out / "report.json").read_text() == "1"  # the old output is untouched too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_users_file_added_while_the_block_runs_survives(tmp_path):
    out = tmp_path / "out"
    _write(out, {"report.json": "1"})
    with pytest.raises(InputError, match=r"'notes\.txt'"), atomic_dir(out) as tmp:
        (tmp / "report.json").write_text("2")
        (out / "notes.txt").write_text("mine")  # checked again before the swap
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("marker", [None, b"\x00\xff\xfe binary", b"{truncated",
                                    b'{"format": "someone.else", "files": []}',
                                    b'{"format": "dask_coded.output", "files": "x"}',
                                    b'[1, 2]'])
def test_a_folder_without_our_marker_is_not_replaced(tmp_path, marker):
    """A report.json proves nothing (anyone may write one): only our marker does."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("{}")
    if marker is not None:
        (out / OUTPUT_MARKER).write_bytes(marker)
    with pytest.raises(InputError, match="holds no dask_coded output marker") as exc:
        check_replaceable_dir(out)
    assert "\n" not in str(exc.value)
    assert (out / "report.json").read_text() == "{}"


def test_absent_and_empty_folders_are_replaceable(tmp_path):
    check_replaceable_dir(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    _write(tmp_path / "empty", {"a": "1"})
    assert (tmp_path / "empty" / "a").read_text() == "1"


def test_stale_temporaries_are_cleaned_on_the_next_run(tmp_path):
    """A kill -9 leaves `.out.tmp-xxxxxxxx`; a day on, the next write removes it."""
    out = tmp_path / "out"
    stale = tmp_path / ".out.tmp-0123abcd"
    fresh = tmp_path / ".out.tmp-89abcdef"
    trash = tmp_path / ".out.old-00ff00ff"  # killed between the two renames
    for folder in (stale, fresh, trash):
        folder.mkdir()
        (folder / "x.npy").write_text("x")
    (trash / OUTPUT_MARKER).write_text(json.dumps({"format": MARKER_FORMAT,
                                                   "files": ["x.npy"]}))
    # not ours by name: another output's temporary, a tag that is not 8 hex digits
    others = [tmp_path / ".other.tmp-0123abcd", tmp_path / ".out.tmp-notours!"]
    for folder in others:
        folder.mkdir()
    for folder in (stale, trash, *others):
        _age(folder, STALE_SECONDS + 3600)
    _write(out, {"report.json": "1"})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["out", fresh.name, *(p.name for p in others)])


def test_stale_temporary_files_are_cleaned(tmp_path):
    target = tmp_path / "c.json"
    stale, fresh = tmp_path / ".c.tmp-0123abcd.json", tmp_path / ".c.tmp-89abcdef.json"
    for p in (stale, fresh):
        p.write_text("partial")
    _age(stale, STALE_SECONDS + 60)
    with atomic_path(target) as tmp:
        tmp.write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, "c.json"]


#: Writes `out` again and again, each time with the round number in every file, slowly
#: enough that a kill lands in the middle of a write.
_WRITER = """
import sys, time
from dask_coded._atomic import atomic_dir
out = sys.argv[1]
for round_ in range(1, 10**6):
    with atomic_dir(out) as tmp:
        for i in range(4):
            (tmp / f"f{i}.txt").write_text(str(round_))
            time.sleep(0.002)
"""


def test_outputs_stay_whole_across_kill_9(tmp_path):
    """Always the old folder or the complete new one, never a mix, across kills."""
    out = tmp_path / "out"
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    for attempt in range(4):
        proc = subprocess.Popen([sys.executable, str(script), str(out)],
                                start_new_session=True)
        t_end = time.monotonic() + 60
        while time.monotonic() < t_end and not (out / OUTPUT_MARKER).is_file():
            time.sleep(0.01)
        time.sleep(0.05 + 0.03 * attempt)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        if not out.exists():  # killed between the two renames: the old one is aside
            continue
        listed = read_marker(out)
        assert listed == [f"f{i}.txt" for i in range(4)]
        rounds = {(out / name).read_text() for name in listed}
        assert len(rounds) == 1, rounds  # every file from the same write


# ------------------------------------------------------------------------------ the CLI


def test_cli_solve_refuses_an_output_folder_with_a_users_file(tmp_path):
    out = tmp_path / "out" / "run"
    _write(out, {"report.json": "{}"})
    (out / "thesis.tex").write_text("keep me")
    config = {"dataset": {"path": "data/d.zarr",
                          "generate": {"kind": "gaussian", "n_rows": 400, "n_cols": 3,
                                       "chunk_rows": 200, "seed": 0}},
              "solver": {"method": "sd"}, "output": {"dir": "out/run"}}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    proc = cli("solve", "run.yaml", "--no-progress", cwd=tmp_path)
    assert_one_line_error(proc, "holds 'thesis.tex', which dask_coded did not write")
    assert (out / "thesis.tex").read_text() == "keep me"
    assert not (tmp_path / "data").exists()  # refused before anything was generated
