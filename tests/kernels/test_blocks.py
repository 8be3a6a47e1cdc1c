import itertools

import numpy as np
import pytest

from dask_coded.errors import InputError
from dask_coded.kernels.blocks import BlockLayout, pad_rows, segments


@pytest.mark.parametrize(("n_rows", "n_blocks", "tau", "padding"),
                         [(100, 10, 10, 0), (10, 4, 3, 2), (10, 6, 2, 2), (7, 7, 1, 0),
                          (7, 1, 7, 0)])
def test_layout(n_rows, n_blocks, tau, padding):
    layout = BlockLayout.create(n_rows, n_blocks)
    assert layout.block_rows == tau
    assert layout.padding == padding
    assert layout.padded_rows == n_blocks * tau
    assert layout.real_rows_per_block().sum() == n_rows


@pytest.mark.parametrize("bad", [0, -1, 11, 2.5, True])
def test_layout_rejects(bad):
    with pytest.raises(InputError, match="n_blocks"):
        BlockLayout.create(10, bad)


@pytest.mark.parametrize(("n_rows", "n_blocks"), [(101, 50), (10, 4), (23, 5), (7, 7),
                                                  (100, 10), (1000, 999)])
def test_blocks_differ_by_at_most_one_row(n_rows, n_blocks):
    """GC footnote 1: no block differs from another by more than one row, so no block is
    all padding (ceil(N / K)-row blocks gave 16 empty blocks of 50 at N = 101)."""
    layout = BlockLayout.create(n_rows, n_blocks)
    sizes = layout.real_rows_per_block()
    assert sizes.sum() == n_rows and sizes.min() >= 1 and sizes.max() - sizes.min() <= 1
    assert sizes.max() == layout.block_rows and layout.padding <= n_blocks - 1
    rows = np.arange(n_rows)
    owner = np.repeat(np.arange(n_blocks), sizes)
    np.testing.assert_array_equal(layout.block_of(rows), owner)
    assert all(layout.block_of(int(r)) == owner[r] for r in (0, n_rows // 2, n_rows - 1))
    for i in range(n_blocks):
        lo, hi = layout.block_range(i)
        assert np.all(owner[lo:hi] == i) and hi - lo == sizes[i]


def test_segments_cover_chunk_at_block_boundaries():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n_rows = int(rng.integers(10, 90))
        layout = BlockLayout.create(n_rows, int(rng.integers(1, n_rows + 1)))
        offset = int(rng.integers(0, n_rows))
        n = int(rng.integers(1, n_rows - offset + 1))
        segs = segments(offset, n, layout)
        assert segs[0][1] == 0 and segs[-1][2] == n
        for (b0, _, stop), (b1, start, _) in itertools.pairwise(segs):
            assert stop == start and b1 == b0 + 1
        for block, start, stop in segs:
            rows = np.arange(offset + start, offset + stop)
            assert np.all(layout.block_of(rows) == block)


def test_pad_rows_keeps_solution():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((23, 4)), rng.standard_normal(23)
    ap, bp = pad_rows(a, 5), pad_rows(b, 5)  # blocks of 5, 5, 5, 4, 4 rows
    assert ap.shape == (25, 4)
    blocks = ap.reshape(5, 5, 4)
    assert np.all(blocks[3:, -1] == 0) and np.all(blocks[:3] != 0) and np.all(bp[[19, 24]] == 0)
    x = np.linalg.lstsq(a, b, rcond=None)[0]
    xp = np.linalg.lstsq(ap, bp, rcond=None)[0]
    np.testing.assert_allclose(xp, x, rtol=1e-12)
