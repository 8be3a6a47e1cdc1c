"""``dask_coded.experiments.paper``: the GC seed's Table I setup and the Section V trace."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dask_coded as dc
from dask_coded.errors import InputError
from dask_coded.experiments import paper


def test_table1_instance_is_the_student_t_store_scaled_by_sqrt_n(tmp_path):
    n, d = 300, 6
    inst = paper.table1_instance(3, n_rows=n, n_cols=d)
    store = dc.make_dataset(tmp_path / "t.zarr", kind="student-t", n_rows=n, n_cols=d, df=3.0,
                            noise=math.sqrt(n), seed=3)
    a, b = (np.asarray(v) for v in dc.open_dataset(store))
    np.testing.assert_allclose(inst.A, a / math.sqrt(n), rtol=0, atol=1e-15)
    np.testing.assert_allclose(inst.b, b / math.sqrt(n), rtol=0, atol=1e-14)
    np.testing.assert_allclose(inst.x_ls, np.linalg.lstsq(inst.A, inst.b, rcond=None)[0],
                               rtol=1e-12, atol=1e-12)
    assert inst.A.shape == (n, d) and inst.seed == 3


def test_table1_instance_b_is_a_w_plus_standard_noise():
    inst = paper.table1_instance(0)
    e = inst.b - inst.A @ inst.w
    assert abs(e.std() - 1.0) < 0.05 and abs(e.mean()) < 0.1
    s = np.linalg.svd(inst.A, compute_uv=False)
    assert inst.sigma_max == pytest.approx(s[0]) and inst.sigma_min == pytest.approx(s[-1])
    assert inst.xi_x == pytest.approx(2 / s[0] ** 2)


def test_table1_starting_error_is_the_seeds():
    starts = [paper.table1_instance(i).start_error for i in range(6)]
    assert abs(np.mean(starts) - paper.SEED_START) <= 0.1
    xi = [paper.table1_instance(i).xi_x for i in range(6)]
    assert min(xi) <= paper.TABLE_I_STEPS[-1] <= max(xi)


def test_log_errors_differ_by_the_constant_sqrt_d_over_n():
    rng = np.random.default_rng(0)
    x_ls, x = rng.standard_normal(40), rng.standard_normal(40)
    rms = paper.rms_log_error(x, x_ls)
    assert rms == pytest.approx(np.log10(np.linalg.norm(x - x_ls) / math.sqrt(40)))
    assert paper.printed_log_error(x, x_ls, 2000) == pytest.approx(
        rms + math.log10(math.sqrt(40 / 2000)))


def test_lstsq_step_is_the_seeds_update():
    # lstsq(step=lstsq_step(c)) takes x - c xi_x A^T (A x - b): the seed's update as read
    inst = paper.table1_instance(1, n_rows=200, n_cols=5)
    c, n_iter = 0.7, 5
    res = dc.lstsq(inst.A, inst.b, method="sd", n_blocks=10, step=paper.lstsq_step(c),
                   max_iter=n_iter, client="simulate", seed=0, precondition=False,
                   variance_reduction=False)
    x = np.zeros(5)
    for _ in range(n_iter):
        x = x - c * inst.xi_x * inst.A.T @ (inst.A @ x - inst.b)
    np.testing.assert_allclose(res.x, x, rtol=1e-10, atol=1e-12)
    assert paper.lstsq_step(1.0) == 0.5


@pytest.mark.parametrize("bad", [0, -0.1, 1.5, "1", None])
def test_lstsq_step_rejects_non_fractions(bad):
    with pytest.raises(InputError, match="factor must be in"):
        paper.lstsq_step(bad)


def test_trace_is_seeded_and_heavy_tailed():
    t = paper.heavy_tailed_trace()
    assert t.shape == (500,) and (t > 0).all()
    np.testing.assert_array_equal(t, paper.heavy_tailed_trace())
    assert not np.array_equal(t, paper.heavy_tailed_trace(seed=1))
    assert t.max() > 4 * np.median(t)
    with pytest.raises(InputError, match="n must be"):
        paper.heavy_tailed_trace(1)


def test_shipped_trace_is_what_the_command_writes(tmp_path):
    assert paper.TRACE_PATH.is_file(), "datasets/heavy-tailed-trace.csv is missing"
    assert paper.TRACE_PATH.stat().st_size < 50_000
    out = tmp_path / "trace.csv"
    assert paper.main(["trace", str(out)]) == 0
    assert out.read_bytes() == paper.TRACE_PATH.read_bytes()
    np.testing.assert_array_equal(paper.load_trace(), paper.heavy_tailed_trace())
    model = dc.runtime_model("empirical", times=paper.load_trace())
    assert model.cdf(np.median(paper.load_trace())) == pytest.approx(0.5)


def test_load_trace_errors(tmp_path):
    with pytest.raises(InputError, match="no trace at"):
        paper.load_trace(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("# comment\nseconds\n1.0\nabc\n")
    with pytest.raises(InputError, match="not a column of seconds"):
        paper.load_trace(bad)
    ok = tmp_path / "ok.csv"
    paper.write_trace(ok, [1.5, 2.25])
    np.testing.assert_array_equal(paper.load_trace(ok), [1.5, 2.25])
