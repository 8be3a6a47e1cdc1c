"""The codes registry: what each code uses, waits for and decodes (no cluster)."""

import numpy as np
import pytest

from dask_coded.codes import CODES, relative
from dask_coded.errors import InputError
from dask_coded.kernels import matdot as md
from dask_coded.kernels import optcodes as oc


def _operands(inner=12, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((5, inner))
    b = rng.standard_normal((inner, 4))
    return a, b, a @ b


def _products(plan, a, b):
    """Every server's A~ B~ through the kernels' reference encoder."""
    a_blk, b_blk = md.split_inner(a, b, plan.m)
    return md.server_products(md.linear_encode(plan.alpha, a_blk),
                              md.linear_encode(plan.beta, b_blk))


def _norms(plan, a, b):
    return [float(np.linalg.norm(a) * np.linalg.norm(b))] * plan.n_servers


def test_registry_names_every_code():
    assert set(CODES) == {"matdot", "eps-matdot", "optimized", "uncoded", "sampled"}
    assert all(code.name == name for name, code in CODES.items())


@pytest.mark.parametrize(("name", "servers", "threshold"),
                         [("matdot", 7, 5), ("eps-matdot", 5, 3), ("uncoded", 3, 3),
                          ("sampled", 5, 3)])
def test_defaults_and_thresholds(name, servers, threshold):
    code = CODES[name]
    m = 3
    P = code.check_servers(m, code.default_servers(m, None), None)
    plan = code.plan(m, P)
    assert (plan.n_servers, plan.threshold) == (servers, threshold)
    assert plan.alpha.shape == plan.beta.shape == (servers, m)


def test_exact_codes_decode_any_threshold_subset():
    a, b, c = _operands()
    for name in ("matdot", "uncoded"):
        code = CODES[name]
        plan = code.plan(3, code.default_servers(3, None))
        prods = _products(plan, a, b)
        servers = np.arange(plan.n_servers)[::-1][:plan.threshold]  # the last ones first
        c_hat, err = plan.decode(prods[servers], servers, _norms(plan, a, b))
        assert md.relative_error(c_hat, c) < 1e-12
        assert 0 < err < 1e-10 * np.linalg.norm(c)


def test_eps_matdot_from_m_results_within_its_estimate():
    a, b, c = _operands()
    plan = CODES["eps-matdot"].plan(3, 5)
    prods = _products(plan, a, b)
    servers = np.array([4, 0, 2])
    c_hat, err = plan.decode(prods[servers], servers, _norms(plan, a, b))
    rel = md.relative_error(c_hat, c)
    assert rel < 1e-3  # m results of 2m - 1: approximate, not exact
    assert rel <= 10 * relative(err, c_hat)


def test_optimized_code_decodes_with_its_bound():
    opt = oc.optimize_code(2, 2, 3, restarts=2, max_iter=200, seed=0)
    code = CODES["optimized"]
    plan = code.plan(2, code.check_servers(2, code.default_servers(2, opt), opt), optimized=opt)
    assert plan.threshold == opt.k and plan.n_servers == opt.P
    a, b, c = _operands(inner=8)
    prods = _products(plan, a, b)
    servers = np.array([0, 2])
    c_hat, err = plan.decode(prods[servers], servers, _norms(plan, a, b))
    assert np.linalg.norm(c_hat - c) <= err  # Theorem 5 plus round-off bounds the error
    with pytest.raises(InputError, match="does not match"):
        code.check_servers(2, opt.P + 1, opt)


def test_wait_policies():
    eps_plan = CODES["eps-matdot"].plan(3, 6)
    assert eps_plan.wait_policy(None) == {"q": 3}
    assert eps_plan.wait_policy(2.0) == {"q": 5, "q_min": 3, "deadline": 2.0,
                                         "on_short": "proceed"}
    mat_plan = CODES["matdot"].plan(3, 7)
    assert mat_plan.wait_policy(2.0) == {"q": 5}  # exact: its threshold, deadline or not


def test_bad_servers_and_points():
    with pytest.raises(InputError, match="2m-1"):
        CODES["matdot"].check_servers(3, 4, None)
    with pytest.raises(InputError, match="exceeds"):
        CODES["eps-matdot"].check_servers(3, 2, None)
    assert CODES["uncoded"].check_servers(3, 9, None) == 3
    with pytest.raises(InputError, match="unknown points"):
        CODES["matdot"].plan(3, 7, points="chebyshev")
    with pytest.raises(InputError, match="distinct"):
        CODES["matdot"].plan(3, 7, points=[0.0] * 7)
    with pytest.raises(InputError, match="needs eps"):
        CODES["eps-matdot"].plan(3, 5, points="paper")


def test_relative_handles_zero():
    assert relative(0.0, np.zeros(3)) == 0.0
    assert relative(1.0, np.zeros(3)) == np.inf
    assert relative(1.0, np.array([3.0, 4.0])) == pytest.approx(0.2)


def _block_norms(a, b, m):
    from dask_coded.kernels import sampled as smp

    return lambda: (smp.block_sq_norms(a, m, 1), smp.block_sq_norms(b, m, 0))


def test_sampled_plan_follows_the_block_norms():
    """fit() replicates the heavy block most; q = P is exact, fewer results are unbiased
    estimates whose error the decoder estimates; one pair per server, eps-MatDot's storage."""
    a, b, _ = _operands(inner=12, seed=1)
    a[:, 3:6] *= 20.0  # block 1 of 4 dominates
    b[3:6] *= 20.0
    c = a @ b
    code = CODES["sampled"]
    P = code.check_servers(4, 10, None)
    q = code.check_q(None, 4, P)
    assert q == 4  # the default: as many results as eps-MatDot waits for
    uniform = code.plan(4, P, q=q)
    np.testing.assert_array_equal(uniform.network.replicas, [3, 3, 2, 2])
    plan = uniform.fit(_block_norms(a, b, 4))
    assert plan.network.replicas[1] == plan.network.replicas.max() > 3
    assert np.all(plan.network.replicas >= 1) and plan.network.replicas.sum() == P
    assert plan.threshold == q and np.all(np.count_nonzero(plan.alpha, axis=1) == 1)
    prods = _products(plan, a, b)
    every = np.random.default_rng(0).permutation(P)
    c_hat, err = plan.decode(prods[every], every, _norms(plan, a, b))
    assert md.relative_error(c_hat, c) < 1e-14 and err < 1e-12 * np.linalg.norm(c)
    c_hat, err = plan.decode(prods[every[:q]], every[:q], _norms(plan, a, b)[:q])
    assert 0 < md.relative_error(c_hat, c) < 1 and err > 1e-6
    # the data-independent codes never run the pass
    for name in ("matdot", "eps-matdot", "uncoded"):
        other = CODES[name].plan(3, 7)
        assert other.fit(lambda: pytest.fail("no pass for a data-independent code")) is other


def test_sampled_wait_policy_and_q():
    plan = CODES["sampled"].plan(3, 6, q=2)
    assert plan.wait_policy(None) == {"q": 2}
    assert plan.wait_policy(1.5) == {"q": 6, "q_min": 2, "deadline": 1.5,
                                     "on_short": "proceed"}
    for bad, shown in ((0, "0"), (7, "7"), (2.5, "float")):
        with pytest.raises(InputError,
                           match=rf"q must be an integer in 1\.\.n_servers=6, got {shown}"):
            CODES["sampled"].check_q(bad, 3, 6)
    with pytest.raises(InputError, match="code 'eps-matdot' takes no q"):
        CODES["eps-matdot"].check_q(2, 3, 5)
    assert CODES["matdot"].check_q(None, 3, 7) is None
