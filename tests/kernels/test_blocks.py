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


def test_segments_cover_chunk_at_block_boundaries():
    rng = np.random.default_rng(0)
    for _ in range(200):
        tau = int(rng.integers(1, 9))
        offset = int(rng.integers(0, 50))
        n = int(rng.integers(1, 40))
        segs = segments(offset, n, tau)
        assert segs[0][1] == 0 and segs[-1][2] == n
        for (b0, _, stop), (b1, start, _) in itertools.pairwise(segs):
            assert stop == start and b1 == b0 + 1
        for block, start, stop in segs:
            rows = np.arange(offset + start, offset + stop)
            assert np.all(rows // tau == block)


def test_pad_rows_keeps_solution():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((23, 4)), rng.standard_normal(23)
    ap, bp = pad_rows(a, 5), pad_rows(b, 5)
    assert ap.shape == (25, 4) and np.all(ap[23:] == 0) and np.all(bp[23:] == 0)
    x = np.linalg.lstsq(a, b, rcond=None)[0]
    xp = np.linalg.lstsq(ap, bp, rcond=None)[0]
    np.testing.assert_allclose(xp, x, rtol=1e-12)
