"""MatDot and epsilon-MatDot kernels (seed 000, Section III), every subset of servers checked."""

import itertools
import math

import numpy as np
import pytest

from dask_coded.errors import InputError
from dask_coded.kernels import matdot as md
from dask_coded.kernels.optcodes import optimal_decoders


def operands(m, n=9, inner=None, k=7, seed=0):
    """Unit-Frobenius Gaussian A (n x inner), B (inner x k) and C = A B."""
    rng = np.random.default_rng(seed)
    inner = inner or 6 * m
    a = rng.standard_normal((n, inner))
    b = rng.standard_normal((inner, k))
    a /= np.linalg.norm(a)
    b /= np.linalg.norm(b)
    return a, b, a @ b


def run_servers(a, b, m, points):
    return md.server_products(*md.encode(*md.split_inner(a, b, m), points))


def worst_error(results, points, m, c, decoder=md.decode_approx_direct, size=None):
    size = size or m
    return max(md.relative_error(decoder(results[list(s)], points[list(s)], m), c)
               for s in itertools.combinations(range(len(points)), size))


# ---------------------------------------------------------------------------- splitting


@pytest.mark.parametrize(("inner", "m"), [(12, 3), (12, 4), (7, 3), (5, 5), (10, 1), (11, 4)])
def test_split_inner_reassembles_the_product(inner, m):
    a, b, c = operands(2, inner=inner)
    a_blk, b_blk = md.split_inner(a, b, m)
    r = math.ceil(inner / m)
    assert a_blk.shape == (m, a.shape[0], r) and b_blk.shape == (m, r, b.shape[1])
    # Blocks in order, zero padded at the end of the inner dimension.
    np.testing.assert_array_equal(np.concatenate(list(a_blk), axis=1)[:, :inner], a)
    np.testing.assert_array_equal(np.concatenate(list(b_blk), axis=0)[:inner], b)
    assert not np.any(np.concatenate(list(a_blk), axis=1)[:, inner:])
    np.testing.assert_allclose(sum(ai @ bi for ai, bi in zip(a_blk, b_blk)), c, rtol=0,
                               atol=1e-15)


@pytest.mark.parametrize("kind", ["real", "complex"])
@pytest.mark.parametrize(("inner", "m"), [(12, 3), (7, 3), (11, 4), (5, 5)])
def test_streamed_encoder_is_linear_encode_of_split_inner(inner, m, kind):
    """The encoder the workers run (block by block, padding implicit) equals the in-memory
    reference on split_inner's padded blocks, for every server, zero coefficients read never;
    complex coefficients (eps-MatDot's default points) give complex blocks."""
    a, b, _ = operands(2, inner=inner)
    pts = md.exact_points(2 * m + 1, kind)
    alpha, beta = md.matdot_coefficients(pts, m)
    alpha[0, 1] = 0.0  # a block with a zero coefficient must not be read
    a_blk, b_blk = md.split_inner(a, b, m)
    want_a, want_b = md.linear_encode(alpha, a_blk), md.linear_encode(beta, b_blk)
    for server in range(len(pts)):
        reads = []

        def read_a(lo, hi, reads=reads):
            reads.append((lo, hi))
            return a[:, lo:hi]

        got_a = md.encode_streamed(alpha[server], read_a, inner, a.shape[0], axis=1)
        got_b = md.encode_streamed(beta[server], lambda lo, hi: b[lo:hi], inner, b.shape[1],
                                   axis=0)
        assert np.iscomplexobj(got_a) == (kind == "complex") == np.iscomplexobj(got_b)
        np.testing.assert_allclose(got_a, want_a[server], rtol=0, atol=1e-14)
        np.testing.assert_allclose(got_b, want_b[server], rtol=0, atol=1e-14)
        r = math.ceil(inner / m)
        assert len(reads) == sum(1 for j in range(m) if j * r < inner and alpha[server, j] != 0)
    with pytest.raises(InputError, match="axis"):
        md.encode_streamed(alpha[0], lambda lo, hi: a[:, lo:hi], inner, a.shape[0], axis=2)


@pytest.mark.parametrize("kind", ["real", "complex"])
@pytest.mark.parametrize(("inner", "panel"), [(7, 1), (7, 3), (7, 5), (7, 6), (7, 16),
                                              (12, 4), (12, 6), (12, 12)])
def test_panelled_encoding_reads_each_index_once(inner, panel, kind):
    """``panel=``: the inner axis read in panels (each index once, a store chunk decoded
    once) gives the same encoded blocks as reading block by block: panels that cut blocks,
    panels of whole blocks (one BLAS call over them), the short last block, complex
    coefficients."""
    a, b, _ = operands(3, inner=inner)
    m = 3
    alpha, beta = md.matdot_coefficients(md.exact_points(5, kind), m)
    alpha[1, 2] = 0.0
    for server in range(5):
        reads = []

        def read_a(lo, hi, reads=reads):
            reads.append((lo, hi))
            return a[:, lo:hi]

        got_a = md.encode_streamed(alpha[server], read_a, inner, a.shape[0], axis=1,
                                   panel=panel)
        got_b = md.encode_streamed(beta[server], lambda lo, hi: b[lo:hi], inner, b.shape[1],
                                   axis=0, panel=panel)
        np.testing.assert_allclose(got_a, md.encode_streamed(
            alpha[server], lambda lo, hi: a[:, lo:hi], inner, a.shape[0], axis=1), atol=1e-14)
        np.testing.assert_allclose(got_b, md.encode_streamed(
            beta[server], lambda lo, hi: b[lo:hi], inner, b.shape[1], axis=0), atol=1e-14)
        covered = sorted(i for lo, hi in reads for i in range(lo, hi))
        assert len(covered) == len(set(covered))  # no index read twice
        assert all(hi - lo <= panel for lo, hi in reads)


def test_padding_does_not_change_the_decoded_product():
    a, b, c = operands(3, inner=7)  # 3 does not divide 7: two zero columns / rows
    pts = md.exact_points(7)
    res = run_servers(a, b, 3, pts)
    assert md.relative_error(md.decode_exact(res[:5], pts[:5], 3), c) < 1e-13


# ---------------------------------------------------------------------------- exact MatDot


@pytest.mark.parametrize("kind", ["real", "complex"])
@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_exact_matdot_from_every_2m_minus_1_subset(m, kind):
    a, b, c = operands(m, seed=m)
    P = 2 * m + 1
    pts = md.exact_points(P, kind)
    res = run_servers(a, b, m, pts)
    for subset in itertools.combinations(range(P), 2 * m - 1):
        s = list(subset)
        c_hat, cond = md.decode_exact(res[s], pts[s], m, return_cond=True)
        assert c_hat.dtype == np.float64
        assert md.relative_error(c_hat, c) < 1e-12, subset
        assert 1 <= cond < 1e3
    # All P results: a least-squares fit.
    assert md.relative_error(md.decode_exact(res, pts, m), c) < 1e-12


def test_exact_matdot_with_integer_points_is_centred():
    # The usual textbook points 1..P: centring and scaling keep the solve accurate.
    m = 4
    a, b, c = operands(m)
    pts = np.arange(1, 2 * m)
    res = run_servers(a, b, m, pts)
    c_hat, cond = md.decode_exact(res, pts, m, return_cond=True)
    assert cond == pytest.approx(md.vandermonde_cond(pts, 2 * m - 1))
    raw_vander = pts[:, None] ** np.arange(2 * m - 1).astype(float)
    assert cond < np.linalg.cond(raw_vander) / 1e3
    # x^6 at x = 7 is 1e5 x^3: some loss (~1e-10) is intrinsic to these points.
    assert md.relative_error(c_hat, c) < 1e-9


def test_matdot_coefficients_are_eq14():
    pts = np.array([0.5, -2.0, 3.0])
    alpha, beta = md.matdot_coefficients(pts, 3)
    np.testing.assert_allclose(alpha, [[1, 0.5, 0.25], [1, -2, 4], [1, 3, 9]])
    np.testing.assert_allclose(beta, alpha[:, ::-1])


# ---------------------------------------------------------------------------- epsilon-MatDot


@pytest.mark.parametrize("kind", ["real", "complex"])
@pytest.mark.parametrize("m", [2, 3, 4, 5, 6])
def test_eps_matdot_every_m_subset_within_estimate(m, kind):
    a, b, c = operands(m, seed=10 + m)
    P = m + 2
    design = md.tuned_design(P, m, kind=kind)
    res = run_servers(a, b, m, design.points)
    errors, estimates = [], []
    for subset in itertools.combinations(range(P), m):
        s = list(subset)
        c_hat, estimate = md.decode_anytime(res[s], design.points[s], m)
        # With K = m the only fit is the direct solve.
        np.testing.assert_array_equal(c_hat, md.decode_approx_direct(res[s], design.points[s], m))
        err = float(np.linalg.norm(c_hat - c))
        assert err <= estimate, subset
        errors.append(err)
        estimates.append(estimate)
    ratios = np.array(estimates) / np.array(errors)
    # Not absurdly loose: the median (one symmetric complex subset can be exact to ~u, see
    # the module docstring, so the mean of ratios is not a fair average).
    assert np.median(ratios) <= 100
    # The model the radius was chosen from is above the worst subset.
    assert max(errors) / np.linalg.norm(c) <= design.expected_error


@pytest.mark.parametrize("kind", ["real", "complex"])
@pytest.mark.parametrize("m", [2, 3, 4, 5])
def test_requested_eps_is_met_or_refused(m, kind):
    a, b, c = operands(m, seed=20 + m)
    P = m + 2
    floor = md.achievable_epsilon(m, P=P, kind=kind)
    pts = md.tuned_points(P, m, kind=kind)
    worst = worst_error(run_servers(a, b, m, pts), pts, m, c)
    met = refused = 0
    for eps in 10.0 ** -np.arange(1, 10):
        if eps >= floor:
            assert md.check_epsilon(eps, m, P=P, kind=kind) == floor
            assert worst <= eps
            met += 1
        else:
            with pytest.raises(InputError, match=f"below what float64 allows for m={m}"):
                md.check_epsilon(eps, m, P=P, kind=kind)
            refused += 1
    assert met and refused


def test_check_epsilon_message():
    with pytest.raises(InputError, match=r"eps=1e-9 is below what float64 allows for m=4 with "
                                         r"m results \(~\d\.\de-04\); ask for more results"):
        md.check_epsilon(1e-9, 4)
    assert md.achievable_epsilon(4) < 1e-3
    assert md.achievable_epsilon(4, np.float32) > 1e-2  # u^(1/m) in single precision
    assert md.achievable_epsilon(1) < 1e-15  # m = 1 is exact from one result


@pytest.mark.parametrize(("eps", "match"), [
    (0.0, r"^eps must be > 0, got 0\.0$"), (-1e-3, r"^eps must be > 0, got -0\.001$"),
    (float("nan"), r"^eps must be finite, got nan$"),
    (float("inf"), r"^eps must be finite, got inf$")])
def test_eps_must_be_positive(eps, match):
    with pytest.raises(InputError, match=match):
        md.check_epsilon(eps, 3)
    with pytest.raises(InputError, match=match):
        md.paper_points(5, 3, eps)


def test_model_scales_like_u_to_the_power():
    u = md.unit_roundoff(np.float64)
    for m in range(2, 7):
        for K in range(m, 2 * m - 1):
            rho = (u) ** (1 / K)
            err = md.expected_error(m, K, rho)
            assert err == pytest.approx(2 * u ** ((K - m + 1) / K), rel=1e-9)
        assert md.expected_error(m, 2 * m - 1, 1.0) == pytest.approx(u)


@pytest.mark.parametrize("kind", ["real", "complex"])
@pytest.mark.parametrize("m", [2, 3, 4])
def test_anytime_error_decreases_with_more_results(m, kind):
    a, b, c = operands(m, seed=30 + m)
    P = 2 * m + 1
    design = md.tuned_design(P, m, kind=kind)
    res = run_servers(a, b, m, design.points)
    means = []
    for K in range(m, 2 * m):
        errs = [md.relative_error(md.decode_anytime(res[list(s)], design.points[list(s)], m)[0],
                                  c) for s in itertools.combinations(range(P), K)]
        means.append(np.mean(errs))
    assert all(later <= earlier * 1.05 for earlier, later in itertools.pairwise(means)), means
    assert means[-1] < means[0] / 1.5
    # Exact at 2m - 1: forced exact path is exact MatDot, and at unit radius it is chosen.
    s = list(range(2 * m - 1))
    forced, estimate = md.decode_anytime(res[s], design.points[s], m, order=2 * m - 1)
    np.testing.assert_allclose(forced, md.decode_exact(res[s], design.points[s], m), rtol=1e-12,
                               atol=1e-15)
    pts = md.exact_points(P, kind)
    res1 = run_servers(a, b, m, pts)
    c_hat, estimate = md.decode_anytime(res1[s], pts[s], m)
    assert md.relative_error(c_hat, c) < 1e-12
    assert estimate < 1e-12


def test_paper_rule_and_tuned_rules(capsys):
    rows = []
    for m in range(2, 7):
        a, b, c = operands(m, seed=40 + m)
        P = m + 2
        entries = {}
        for kind in ("complex", "real"):
            pts = md.tuned_points(P, m, kind=kind)
            entries[f"tuned {kind}"] = worst_error(run_servers(a, b, m, pts), pts, m, c)
        eps = md.achievable_epsilon(m, P=P)
        pts = md.paper_points(P, m, eps, eta=1.0)
        entries["paper eq.17 @eps"] = worst_error(run_servers(a, b, m, pts), pts, m, c)
        # The paper's rule at a generous eps, where rounding still allows it.
        pts = md.paper_points(P, m, 0.5)
        res = run_servers(a, b, m, pts)
        entrywise = max(np.abs(md.decode_approx_direct(res[list(s)], pts[list(s)], m) - c).max()
                        for s in itertools.combinations(range(P), m))
        entries["paper eq.17 @0.5"] = worst_error(res, pts, m, c)
        if m <= 4:
            assert entrywise <= 0.5  # Theorem 3's entrywise guarantee, eq. 10
        # the float64 floor of m-of-P recovery is about u^(1/m) (eps-MatDot Thm 3 with eps
        # at rounding); tuned points measured 0.7-1.7x (complex) and 1.9-3.2x (real) of it
        floor = np.finfo(np.float64).eps ** (1.0 / m)
        assert entries["tuned complex"] <= 2.5 * floor, (m, entries, floor)
        assert entries["tuned real"] <= 5.0 * floor, (m, entries, floor)
        rows.append((m, entries))
    with capsys.disabled():
        print("\nworst-subset relative error, m of P = m + 2 servers (float64)")
        print("m  " + "  ".join(f"{name:>17}" for name in rows[0][1]))
        for m, entries in rows:
            print(f"{m}  " + "  ".join(f"{v:17.1e}" for v in entries.values()))


def test_paper_points_follow_eq17():
    for m in (2, 3, 5):
        eps, eta = 1e-2, 1.5
        pts = md.paper_points(6, m, eps, eta)
        bound = eps / (6 * eta**2 * math.sqrt(2 * m - 1) * (m - 1) * m)
        assert np.all(np.abs(pts) < bound) and np.unique(pts).size == 6
        assert np.max(np.abs(pts)) > 0.9 * bound
    assert np.max(np.abs(md.paper_points(3, 1, 0.1))) < 1  # m = 1: eq. 17 sets no limit
    with pytest.raises(InputError, match=r"eq\. 16"):
        md.paper_points(5, 2, 1.9, eta=0.1)


@pytest.mark.parametrize("kind", ["real", "complex"])
@pytest.mark.parametrize("m", [2, 3, 4])
def test_appendix_b_algorithm_agrees_with_direct_solve(m, kind):
    a, b, c = operands(m, seed=50 + m)
    P = m + 2
    pts = md.tuned_points(P, m, kind=kind)
    res = run_servers(a, b, m, pts)
    for subset in itertools.combinations(range(P), m):
        s = list(subset)
        out = md.decode_approx_interp(res[s], pts[s], m, eta=1.0)
        assert not out.failed.any()
        _, estimate = md.decode_anytime(res[s], pts[s], m)
        direct = md.decode_approx_direct(res[s], pts[s], m)
        assert np.linalg.norm(out.c_hat - direct) <= estimate
        assert md.relative_error(out.c_hat, c) <= 10 * md.relative_error(direct, c) + 1e-15
    # With all P = 4 > 2m - 1 results (m = 2) Algorithm 1 is a least-squares fit.
    if m == 2:
        full = md.decode_approx_interp(res, pts, m, eta=1.0)
        assert md.relative_error(full.c_hat, c) < 1e-6


def test_appendix_b_failure_test_catches_rounding():
    # 2m - 1 tiny points determine every coefficient, the top one with amplification
    # ~1/rho^(2m-2): rounding alone pushes ||a_hat|| past sqrt(2m-1) eta^2 and the test fires,
    # although the norm bound (2) holds. At unit radius the same decoder passes.
    m = 3
    a, b, c = operands(m)
    pts = md.tuned_points(2 * m - 1, m)
    with pytest.raises(md.DecodingFailure, match="Algorithm 1 failed"):
        md.decode_approx_interp(run_servers(a, b, m, pts), pts, m, eta=1.0)
    pts = md.exact_points(2 * m - 1)
    out = md.decode_approx_interp(run_servers(a, b, m, pts), pts, m, eta=1.0)
    assert md.relative_error(out.c_hat, c) < 1e-12


def test_appendix_b_failure_test():
    m = 3
    a, b, c = operands(m)
    a, b = 10 * a, 10 * b  # ||A||_F = ||B||_F = 10: eta = 1 is a false norm bound (eq. 2)
    pts = md.tuned_points(5, m)
    res = run_servers(a, b, m, pts)
    with pytest.raises(md.DecodingFailure, match="Algorithm 1 failed"):
        md.decode_approx_interp(res[:m], pts[:m], m, eta=1.0)
    out = md.decode_approx_interp(res[:m], pts[:m], m, eta=1.0, on_failure="flag")
    assert out.failed.any()
    assert np.all(out.coef_norm[out.failed] > math.sqrt(2 * m - 1))
    ok = md.decode_approx_interp(res[:m], pts[:m], m, eta=10.0)
    assert not ok.failed.any()
    assert md.relative_error(ok.c_hat, 100 * c) < 1e-3


def test_complex_points_return_real_results():
    m = 3
    a, b, c = operands(m)
    pts = md.tuned_points(5, m, kind="complex")
    res = run_servers(a, b, m, pts)
    assert np.iscomplexobj(res)
    for decoded in (md.decode_approx_direct(res[:m], pts[:m], m),
                    md.decode_anytime(res[:m], pts[:m], m)[0],
                    md.decode_approx_interp(res[:m], pts[:m], m, 1.0).c_hat,
                    md.decode_exact(res, pts, m)):
        assert decoded.dtype == np.float64
    raw = md.decode_approx_direct(res[:m], pts[:m], m, real_output=False)
    assert np.iscomplexobj(raw)
    assert np.linalg.norm(raw.real - c) <= np.linalg.norm(raw - c)


@pytest.mark.parametrize("m", [2, 3, 4])
def test_complex_tuned_points_reach_twice_the_m_th_root_of_eps(m):
    """Issue 13: worst relative error over every m-subset of P = m + 2 servers within
    2 eps^(1/m) (eps = 2.2e-16) for the complex tuned points (measured 0.6x, 1.3x, 1.3x at
    m = 2, 3, 4), where the real Chebyshev rule is worse (1.5x, 2.5x, 2.4x; the first
    assertion fails if the complex rule loses that edge)."""
    eps = float(np.finfo(np.float64).eps)
    a, b, c = operands(m, n=24, inner=4 * m, k=24)
    worst = {}
    for kind in ("complex", "real"):
        pts = md.tuned_points(m + 2, m, kind=kind)
        res = run_servers(a, b, m, pts)
        worst[kind] = worst_error(res, pts, m, c,
                                  decoder=lambda r, p, mm: md.decode_anytime(r, p, mm)[0])
    assert worst["complex"] <= 2 * eps ** (1 / m), worst
    assert worst["complex"] < worst["real"], worst


def test_float32_results_use_single_precision_model():
    m = 2
    a, b, c = operands(m)
    a, b = a.astype(np.float32), b.astype(np.float32)
    design = md.tuned_design(4, m, np.float32)
    res = run_servers(a, b, m, design.points.astype(np.float32))
    assert res.dtype == np.float32
    c_hat, estimate = md.decode_anytime(res[:m], design.points[:m], m)
    assert c_hat.dtype == np.float32
    assert np.linalg.norm(c_hat - c) <= estimate
    assert md.relative_error(c_hat, c) <= design.expected_error


# ---------------------------------------------------------------------------- converse


@pytest.mark.parametrize("m", [2, 3, 4])
def test_converse_pair_defeats_every_m_minus_1_subset(m):
    eta = 1.3
    P = m + 2
    pts = md.tuned_points(P, m)
    alpha, beta = md.matdot_coefficients(pts, m)
    for subset in itertools.combinations(range(P), m - 1):
        s = list(subset)
        pair = md.converse_pair(m, eta, 4 * m, seed=m, alpha=alpha[s])
        assert np.linalg.norm(pair.A) == pytest.approx(eta)
        assert np.linalg.norm(pair.B_plus) == pytest.approx(eta)
        target = pair.A @ pair.B_plus
        assert np.linalg.norm(target) == pytest.approx(eta**2)
        for b_mat in (pair.B_plus, pair.B_minus):
            res = run_servers(pair.A, b_mat, m, pts)
            assert np.max(np.abs(res[s])) < 1e-15 * eta**2  # the servers of S see nothing
        res = run_servers(pair.A, pair.B_plus, m, pts)
        # The best linear decoder of the code for S (Proposition 1 (i)) and a few others:
        # their output is ~0 for both signs, so the error is ||A B|| = eta^2.
        d_best = optimal_decoders(alpha.real, beta.real, np.array([s]))[0]
        rng = np.random.default_rng(0)
        for weights in (d_best, rng.standard_normal(m - 1), 1e6 * rng.standard_normal(m - 1)):
            decoded = np.tensordot(weights, res[s], axes=(0, 0))
            for sign in (1, -1):
                assert np.linalg.norm(sign * decoded - sign * target) >= eta**2 - 1e-8
        # One more server breaks it: m results decode the same pair.
        s_more = [*s, next(i for i in range(P) if i not in s)]
        c_hat = md.decode_approx_direct(res[s_more], pts[s_more], m)
        assert md.relative_error(c_hat, target) < 1e-2


def test_converse_pair_validation():
    with pytest.raises(InputError, match="multiple of m"):
        md.converse_pair(3, n=10)
    with pytest.raises(InputError, match=r"shape \(m-1, m\)"):
        md.converse_pair(3, alpha=np.ones((3, 3)))
    with pytest.raises(InputError, match="complex"):
        md.converse_pair(2, alpha=np.array([[1.0, 1j]]))
    with pytest.raises(InputError, match="m must be >= 2, got 1"):
        md.converse_pair(1)


# ---------------------------------------------------------------------------- bad input


def test_bad_operands():
    a, b, _ = operands(2, inner=6)
    with pytest.raises(InputError, match=r"do not multiply: inner dimensions 6 and 5 differ"):
        md.split_inner(a, b[:5], 2)
    with pytest.raises(InputError, match="m=7 exceeds the inner dimension 6"):
        md.split_inner(a, b, 7)
    for bad in (np.nan, np.inf, -np.inf):
        a_bad = a.copy()
        a_bad[0, 0] = bad
        with pytest.raises(InputError, match="A contains NaN or Inf"):
            md.split_inner(a_bad, b, 2)
        b_bad = b.copy()
        b_bad[1, 1] = bad
        with pytest.raises(InputError, match="B contains NaN or Inf"):
            md.split_inner(a, b_bad, 2)
    with pytest.raises(InputError, match="A must be 2-D"):
        md.split_inner(a.ravel(), b, 2)
    with pytest.raises(InputError, match="complex"):
        md.split_inner(a + 1j, b, 2)
    for m in (0, -1):
        with pytest.raises(InputError, match=f"m must be >= 1, got {m}"):
            md.split_inner(a, b, m)
    for m in (2.0, True, "2"):
        with pytest.raises(InputError, match="m must be an integer"):
            md.split_inner(a, b, m)


def test_bad_servers_and_points():
    a, b, _ = operands(3)
    blocks = md.split_inner(a, b, 3)
    with pytest.raises(InputError, match="m=3 exceeds the number of servers P=2"):
        md.encode(*blocks, np.array([0.1, 0.2]))
    with pytest.raises(InputError, match="m=4 exceeds the number of servers P=3"):
        md.tuned_points(3, 4)
    with pytest.raises(InputError, match="m=4 exceeds the number of servers P=3"):
        md.paper_points(3, 4, 1e-2)
    with pytest.raises(InputError, match="distinct"):
        md.encode(*blocks, np.array([0.1, 0.2, 0.1]))
    with pytest.raises(InputError, match="points contain NaN"):
        md.encode(*blocks, np.array([0.1, np.nan, 0.3]))
    with pytest.raises(InputError, match="kind must be"):
        md.tuned_points(5, 3, kind="imaginary")
    pts = md.exact_points(5)
    res = run_servers(a, b, 3, pts)
    with pytest.raises(InputError, match="exact MatDot needs 2m-1=5 results for m=3, got 4"):
        md.decode_exact(res[:4], pts[:4], 3)
    with pytest.raises(InputError, match="needs at least m=3 results, got 2"):
        md.decode_anytime(res[:2], pts[:2], 3)
    with pytest.raises(InputError, match="got 4 results but 5 points"):
        md.decode_approx_direct(res[:4], pts, 3)
    bad = res.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(InputError, match="results contain NaN or Inf"):
        md.decode_anytime(bad, pts, 3)
    with pytest.raises(InputError, match="order=6 exceeds"):
        md.decode_anytime(res, pts, 3, order=6)
    with pytest.raises(InputError, match="on_failure"):
        md.decode_approx_interp(res, pts, 3, 1.0, on_failure="ignore")
