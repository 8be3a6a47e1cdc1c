"""Freivalds' check: probes, the panel-by-panel reference, the residual (pure numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from dask_coded import InputError
from dask_coded.kernels import freivalds as fv


def test_probes_are_seeded_gaussian():
    x = fv.probes(50, seed=3)
    assert x.shape == (50, fv.PROBES)
    np.testing.assert_array_equal(x, fv.probes(50, seed=3))
    assert not np.array_equal(x, fv.probes(50, seed=4))
    with pytest.raises(InputError):
        fv.probes(0)


@pytest.mark.parametrize(("b_step", "a_rows", "a_cols"), [(7, 4, 24), (24, 11, 5), (1, 1, 1)])
def test_reference_from_panels_is_a_b_x(b_step, a_rows, a_cols):
    """Fed B's row panels then A's panels, each index once, in any cut: A (B X)."""
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((11, 24)), rng.standard_normal((24, 9))
    x = fv.probes(9, seed=1)
    acc = fv.ReferenceAccumulator(x, 11, 24)
    for lo in range(0, 24, b_step):
        acc.add_b(lo, min(lo + b_step, 24), B[lo:lo + b_step])
        assert acc.value is None
    for r0 in range(0, 11, a_rows):
        for c0 in range(0, 24, a_cols):
            r1, c1 = min(r0 + a_rows, 11), min(c0 + a_cols, 24)
            acc.add_a(r0, r1, c0, c1, A[r0:r1, c0:c1])
    np.testing.assert_allclose(acc.value, A @ (B @ x), atol=1e-12)


def test_reference_is_none_when_a_block_was_skipped():
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((5, 8)), rng.standard_normal((8, 3))
    acc = fv.ReferenceAccumulator(fv.probes(3, seed=0), 5, 8)
    acc.add_b(0, 4, B[:4])  # B's rows 4:8 never read (an uncoded server's one block)
    acc.add_a(0, 5, 0, 8, A)
    assert acc.value is None
    acc = fv.ReferenceAccumulator(fv.probes(3, seed=0), 5, 8)
    acc.add_b(0, 8, B)
    acc.add_a(0, 5, 0, 4, A[:, :4])
    assert acc.value is None


def test_combine_takes_the_median():
    z = np.ones((4, 3))
    assert fv.combine([None, None]) is None
    assert fv.combine([None, z]) is z
    np.testing.assert_array_equal(fv.combine([z, 100 * z, z]), z)  # one wrong: outvoted


def test_relative_residual():
    rng = np.random.default_rng(2)
    C = rng.standard_normal((30, 20))
    x = fv.probes(20, seed=0)
    assert fv.relative_residual(C @ x, C @ x) == 0.0
    E = 1e-3 * rng.standard_normal((30, 20))
    # estimates ||E||_F / ||C||_F (chi-square ratio, 3 degrees of freedom each way)
    ratio = fv.relative_residual((C + E) @ x, C @ x) / (np.linalg.norm(E) / np.linalg.norm(C))
    assert 0.1 < ratio < 10
    assert fv.relative_residual(np.zeros((2, 3)), np.zeros((2, 3))) == 0.0
    assert fv.relative_residual(np.ones((2, 3)), np.zeros((2, 3))) == float("inf")
    with pytest.raises(InputError, match="shape"):
        fv.relative_residual(np.ones((2, 3)), np.ones((3, 3)))
