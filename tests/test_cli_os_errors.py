"""The machine's errors (a full disk, a symlink loop) in one line, nothing half-written."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error, cli


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs (needs root and mount rights: skipped elsewhere)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_is_one_line_and_leaves_nothing(tiny_disk):
    proc = cli("make-dataset", tiny_disk / "d.zarr", "--rows", "20000", "--cols", "10")
    assert_one_line_error(proc, "No space left on device (during make-dataset")
    assert list(tiny_disk.iterdir()) == []  # the aside folder was removed


def test_an_output_path_in_a_symlink_loop_is_one_line(tmp_path):
    loop = tmp_path / "loop"
    os.symlink(loop, loop)
    proc = cli("make-dataset", Path(loop) / "d.zarr", "--rows", "200", "--cols", "3")
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("dask-coded: error: ")
