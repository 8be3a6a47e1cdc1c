"""Tests of dask_coded.kernels.expansion (expansion networks, paper Sections III-C, III-D)."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from dask_coded.errors import InputError
from dask_coded.kernels import expansion as ex

CONCENTRATIONS = (0.1, 0.5, 1.0, 5.0)
PHIS = (0.05, 0.3, 0.5, 0.8, 0.97)


def compositions(total: int, k: int, lo: int):
    """All integer vectors of length k, entries >= lo, summing to total (stars and bars)."""
    free = total - k * lo
    if free < 0:
        return
    for bars in itertools.combinations(range(free + k - 1), k - 1):
        edges = (-1, *bars, free + k - 1)
        yield np.array([edges[i + 1] - edges[i] - 1 + lo for i in range(k)], dtype=np.int64)


def d_ref(pi: np.ndarray, r: np.ndarray) -> float:
    """Reference distortion d_{Pi, r/R}, written out directly."""
    total = r.sum()
    return sum(abs(float(p) - int(c) / total) for p, c in zip(pi, r, strict=True)) / len(pi)


def random_pi(rng: np.random.Generator, k: int, alpha: float) -> np.ndarray:
    return rng.dirichlet(np.full(k, alpha))


# ------------------------------------------------------------------------------------------
# check_distribution
# ------------------------------------------------------------------------------------------


def test_check_distribution_returns_float_copy():
    src = [1, 0, 0]
    out = ex.check_distribution(src)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [1.0, 0.0, 0.0])
    arr = np.array([0.25, 0.75])
    out2 = ex.check_distribution(arr)
    out2[0] = 9.0
    assert arr[0] == 0.25


def test_check_distribution_accepts_fractions_and_tiny_sum_error():
    ex.check_distribution([Fraction(1, 3), Fraction(2, 3)])
    ex.check_distribution([0.5, 0.5 + 5e-10])


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ([[0.5, 0.5]], "expected a 1-D array, got 2 dimensions"),
        ([], "it is empty"),
        ([0.5, np.nan], "NaN or Inf"),
        ([1.5, -0.5], "entry 1 is negative"),
        ([0.5, 0.6], "sums to 1.1"),
        ([True, False], "must be real numbers"),
        (["a", "b"], "must be real numbers"),
        ([0.5 + 0j, 0.5], "must be real numbers"),
    ],
)
def test_check_distribution_rejects(bad, match):
    with pytest.raises(InputError, match=f"^Pi is not a distribution: .*{match}"):
        ex.check_distribution(bad)


def test_check_distribution_name_in_message():
    with pytest.raises(InputError, match=r"^Pi_tilde is not a distribution"):
        ex.check_distribution([2.0], name="Pi_tilde")


# ------------------------------------------------------------------------------------------
# eq. 17/19: rho and the rounded replicas
# ------------------------------------------------------------------------------------------


def test_rho_solves_eq17():
    rng = np.random.default_rng(0)
    for phi in PHIS:
        pi = random_pi(rng, 7, 1.0)
        r = ex.rho(pi, phi)
        np.testing.assert_allclose(1 - phi**r, pi, rtol=1e-12, atol=1e-15)


def test_rho_edge_values():
    r = ex.rho([0.0, 1.0], 0.5)
    assert r[0] == 0.0
    assert r[1] == np.inf


def test_replicas_round_half_up():
    # phi = 1/4: Pi = 1/2 gives rho = 1/2 exactly; Pi = 7/8 gives rho = 3/2 exactly.
    # Pi = 31/32 gives rho = 5/2 exactly.
    assert ex.rho([0.5, 0.5], 0.25)[0] == 0.5
    np.testing.assert_array_equal(
        ex.replicas_from_survival([0.5, 0.5], 0.25, min_replicas=0), [1, 1]
    )
    assert ex.rho([0.875, 0.125], 0.25)[0] == 1.5
    np.testing.assert_array_equal(
        ex.replicas_from_survival([0.875, 0.125], 0.25, min_replicas=0), [2, 0]
    )
    assert ex.rho([31 / 32, 1 / 32], 0.25)[0] == 2.5
    np.testing.assert_array_equal(
        ex.replicas_from_survival([31 / 32, 1 / 32], 0.25, min_replicas=0), [3, 0]
    )
    # np.round would give 0 and 2 here (half to even).
    assert np.round(0.5) == 0 and np.round(2.5) == 2


def test_replicas_match_nearest_integer_and_clamp():
    rng = np.random.default_rng(1)
    for alpha in CONCENTRATIONS:
        for phi in PHIS:
            pi = random_pi(rng, 9, alpha)
            rho = np.log(1 - pi) / np.log(phi)
            r0 = ex.replicas_from_survival(pi, phi, min_replicas=0)
            assert r0.dtype == np.int64
            assert np.all(np.abs(r0 - rho) <= 0.5 + 1e-9)
            for lo in (1, 3):
                r = ex.replicas_from_survival(pi, phi, min_replicas=lo)
                np.testing.assert_array_equal(r, np.maximum(r0, lo))


def test_replicas_pi_equal_one_is_finite():
    for phi in PHIS:
        r = ex.replicas_from_survival([0.0, 1.0, 0.0], phi, min_replicas=0)
        assert r[0] == 0 and r[2] == 0
        assert 0 < r[1] < 2**62
        # eq. 19 at the largest double below 1: phi^r within sqrt(phi)^{+-1} of 2^-53.
        assert abs(int(r[1]) - np.log(2.0**-53) / np.log(phi)) <= 0.5 + 1e-9
        assert phi ** int(r[1]) <= 2.0**-53 / np.sqrt(phi) * (1 + 1e-9)


@pytest.mark.parametrize(("phi", "match"), [(0.0, "phi=0 means"), (1.0, "phi=1 means")])
def test_replicas_reject_phi_bounds(phi, match):
    with pytest.raises(InputError, match=rf"^phi must be in \(0, 1\), got .*{match}"):
        ex.replicas_from_survival([0.5, 0.5], phi)


def test_replicas_reject_bad_min_replicas():
    with pytest.raises(InputError, match=r"^min_replicas must be >= 0"):
        ex.replicas_from_survival([0.5, 0.5], 0.5, min_replicas=-1)
    with pytest.raises(InputError, match=r"^min_replicas must be an integer"):
        ex.replicas_from_survival([0.5, 0.5], 0.5, min_replicas=1.5)
    with pytest.raises(InputError, match=r"^phi must be a real number"):
        ex.replicas_from_survival([0.5, 0.5], "0.5")


# ------------------------------------------------------------------------------------------
# eq. 18 and Lemma 1
# ------------------------------------------------------------------------------------------


def test_emulation_distortion_hand_value_and_footnote6():
    pi = np.array([0.2, 0.8])
    r = np.array([1, 2])
    phi = 0.5
    expected = (abs(0.2 - 0.5) + abs(0.8 - 0.75)) / 2
    assert ex.emulation_distortion(pi, r, phi) == pytest.approx(expected, abs=1e-15)
    # Footnote 6: Delta equals d with Pi~_i = 1 - phi^r_i.
    assert ex.emulation_distortion(pi, r, phi) == pytest.approx(
        ex.distortion(pi, 1 - phi**r), abs=1e-15
    )


def test_lemma1_bound_holds_on_random_pi():
    rng = np.random.default_rng(2)
    checked = 0
    for alpha in CONCENTRATIONS:
        for phi in (*PHIS, 0.001, 0.999):
            for k in (2, 5, 20):
                for _ in range(10):
                    pi = random_pi(rng, k, alpha)
                    r = ex.replicas_from_survival(pi, phi, min_replicas=0)
                    bound = ex.lemma1_bound(pi, r, phi)
                    delta = ex.emulation_distortion(pi, r, phi)
                    # What the proof shows: the summands of eq. 18 (without 1/K) obey it...
                    assert k * delta <= bound + 1e-12
                    # ...so eq. 18 itself does too.
                    assert delta <= bound + 1e-12
                    checked += 1
    assert checked == 4 * 7 * 3 * 10


def test_lemma1_bound_per_block_form():
    # Each summand separately: |phi^r - phi^rho| <= phi^min(r, rho) (1 - sqrt(phi)).
    rng = np.random.default_rng(3)
    for phi in PHIS:
        pi = random_pi(rng, 50, 0.3)
        r = ex.replicas_from_survival(pi, phi, min_replicas=0)
        rho = ex.rho(pi, phi)
        per_block = np.abs(pi - (1 - phi**r))
        bound = phi ** np.minimum(r, rho) * (1 - np.sqrt(phi))
        assert np.all(per_block <= bound + 1e-12)


def test_lemma1_needs_unclamped_rounding():
    # rho_0 is about 0.01 so min_replicas=1 moves r_0 a whole replica from rho_0: the summed
    # form of the bound then fails (the 1/K form is so loose it still holds here).
    pi = np.array([1e-4, 1 - 1e-4])
    phi = 0.99
    r1 = ex.replicas_from_survival(pi, phi, min_replicas=1)
    r0 = ex.replicas_from_survival(pi, phi, min_replicas=0)
    assert r0[0] == 0 and r1[0] == 1
    assert 2 * ex.emulation_distortion(pi, r0, phi) <= ex.lemma1_bound(pi, r0, phi)
    assert 2 * ex.emulation_distortion(pi, r1, phi) > ex.lemma1_bound(pi, r1, phi)


def test_emulation_functions_reject_bad_replicas():
    with pytest.raises(InputError, match=r"^replicas has 3 entries but Pi has 2"):
        ex.emulation_distortion([0.5, 0.5], [1, 1, 1], 0.5)
    with pytest.raises(InputError, match=r"^replicas must be >= 0, entry 1 is -1"):
        ex.lemma1_bound([0.5, 0.5], [1, -1], 0.5)
    with pytest.raises(InputError, match=r"^replicas must be integers"):
        ex.emulation_distortion([0.5, 0.5], [1.5, 1], 0.5)


# ------------------------------------------------------------------------------------------
# distortion, misestimation factor
# ------------------------------------------------------------------------------------------


def test_distortion_hand_value():
    assert ex.distortion([0.5, 0.25, 0.25], [0.25, 0.25, 0.5]) == pytest.approx(1 / 6)
    assert ex.distortion([0.3, 0.7], [0.3, 0.7]) == 0.0
    with pytest.raises(InputError, match=r"^Pi_bar must be a 1-D array of length 2"):
        ex.distortion([0.3, 0.7], [1.0])
    with pytest.raises(InputError, match=r"^Pi_bar contains NaN or Inf"):
        ex.distortion([0.3, 0.7], [np.inf, 0.0])


def test_misestimation_factor():
    assert ex.misestimation_factor([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.5)
    # Pi_i = 0 imposes nothing.
    assert ex.misestimation_factor([0.0, 0.5, 0.5], [0.5, 0.25, 0.25]) == pytest.approx(0.5)
    assert ex.misestimation_factor([0.0, 0.5, 0.5], [0.0, 0.25, 0.75]) == pytest.approx(0.5)
    rng = np.random.default_rng(4)
    for _ in range(20):
        pi = random_pi(rng, 6, 1.0)
        pt = random_pi(rng, 6, 1.0)
        beta = ex.misestimation_factor(pi, pt)
        assert 0 < beta <= 1
        assert np.all(pt >= beta * pi - 1e-15)
        assert ex.misestimation_factor(pi, pi) == pytest.approx(1.0)
    with pytest.raises(InputError, match=r"^Pi_tilde has 3 entries but Pi has 2"):
        ex.misestimation_factor([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(InputError, match=r"^Pi_tilde is not a distribution"):
        ex.misestimation_factor([0.5, 0.5], [0.5, 0.6])


# ------------------------------------------------------------------------------------------
# Algorithm 2
# ------------------------------------------------------------------------------------------


def test_proposition2_counterexample_uniform():
    """Prop. 2 claims d(output) <= d(input) when m < R~; false here (min_replicas=0)."""
    pi = np.full(3, 1 / 3)
    r_in = np.array([1, 1, 1])
    out, trace = ex.adjust_replicas_with_trace(pi, r_in, 2, min_replicas=0)
    assert out.sum() == 2
    assert trace[0] == pytest.approx(0.0, abs=1e-15)
    assert trace[-1] == pytest.approx(2 / 9)
    # No vector at all of 2 replicas over 3 blocks reaches the input's distortion 0.
    best = min(d_ref(pi, c) for c in compositions(2, 3, 0))
    assert best == pytest.approx(2 / 9)
    assert trace[-1] > trace[0]


def test_proposition2_counterexample_min_replicas_one():
    pi = np.array([0.25, 0.25, 0.5])
    out, trace = ex.adjust_replicas_with_trace(pi, [1, 1, 2], 3, min_replicas=1)
    np.testing.assert_array_equal(out, [1, 1, 1])
    assert trace[0] == 0.0
    assert trace[-1] == pytest.approx(1 / 9)


def test_adjust_identity_when_sum_is_m():
    rng = np.random.default_rng(5)
    for _ in range(20):
        pi = random_pi(rng, 6, 0.7)
        r = ex.replicas_from_survival(pi, 0.4)
        out, trace = ex.adjust_replicas_with_trace(pi, r, int(r.sum()))
        np.testing.assert_array_equal(out, r)
        assert trace.shape == (1,)
        assert trace[-1] <= trace[0]


@pytest.mark.parametrize("lo", [0, 1, 2])
def test_adjust_sums_to_m_both_directions_and_respects_min(lo):
    rng = np.random.default_rng(10 + lo)
    for _ in range(40):
        k = int(rng.integers(2, 9))
        pi = random_pi(rng, k, float(rng.choice(CONCENTRATIONS)))
        r = ex.replicas_from_survival(pi, float(rng.uniform(0.05, 0.95)), min_replicas=lo)
        if r.sum() == 0:
            r[0] = 1
        for m in (k * lo if lo else 1, int(r.sum()) + 7, max(k * lo, 1, int(r.sum()) - 3)):
            out = ex.adjust_replicas(pi, r, m, min_replicas=lo)
            assert out.dtype == np.int64
            assert out.sum() == m
            assert out.min() >= lo
            if m < r.sum():
                assert np.all(out <= r)  # chi = 1 only removes
            else:
                assert np.all(out >= r)  # chi = 0 only adds


def _best_single_move(pi, r, move, lo):
    """Brute force: the smallest d_{Pi, r'/R'} over all single moves r' = r + move e_j."""
    best = np.inf
    for j in range(len(r)):
        cand = r.copy()
        cand[j] += move
        if cand[j] < lo:
            continue
        best = min(best, d_ref(pi, cand))
    return best


@pytest.mark.parametrize("lo", [0, 1])
def test_adjust_each_step_is_best_single_move(lo):
    rng = np.random.default_rng(20 + lo)
    for _ in range(30):
        k = int(rng.integers(2, 7))
        pi = random_pi(rng, k, float(rng.choice(CONCENTRATIONS)))
        r = rng.integers(lo, lo + 6, size=k)
        if r.sum() == 0:
            r[0] = 1
        total = int(r.sum())
        for m in (max(k * lo, 1), total + 6):
            out, trace = ex.adjust_replicas_with_trace(pi, r, m, min_replicas=lo)
            move = -1 if m < total else 1
            cur = r.copy()
            assert trace[0] == pytest.approx(d_ref(pi, cur), abs=1e-12)
            for s in range(1, abs(total - m) + 1):
                # One step from the current vector (a run with |R - m| = 1)...
                nxt = ex.adjust_replicas(pi, cur, int(cur.sum()) + move, min_replicas=lo)
                assert np.abs(nxt - cur).sum() == 1
                # ...is the best single move, and the full run followed that path.
                assert d_ref(pi, nxt) == pytest.approx(
                    _best_single_move(pi, cur, move, lo), abs=1e-12
                )
                assert trace[s] == pytest.approx(d_ref(pi, nxt), abs=1e-12)
                cur = nxt
            np.testing.assert_array_equal(cur, out)


def test_adjust_rejects_bad_input():
    with pytest.raises(InputError, match=r"^n_servers=2 is too few .* 3 blocks min_replicas=1"):
        ex.adjust_replicas([0.2, 0.3, 0.5], [1, 1, 1], 2)
    with pytest.raises(InputError, match=r"^replicas entry 1 is 0, below min_replicas=1"):
        ex.adjust_replicas([0.2, 0.8], [1, 0], 3)
    with pytest.raises(InputError, match=r"^replicas sum to 0"):
        ex.adjust_replicas([0.2, 0.8], [0, 0], 3, min_replicas=0)
    with pytest.raises(InputError, match=r"^n_servers must be >= 1"):
        ex.adjust_replicas([0.2, 0.8], [1, 1], 0, min_replicas=0)
    with pytest.raises(InputError, match=r"^replicas has 1 entries but Pi has 2"):
        ex.adjust_replicas([0.2, 0.8], [1], 3)


def test_adjust_from_eq19_empirical_report():
    """How often Algorithm 2 (from eq. 19 replicas) ends worse than it started: printed only."""
    rng = np.random.default_rng(30)
    counts = {"down": [0, 0], "up": [0, 0]}
    for trial in range(300):
        k = int(rng.integers(2, 16))
        pi = random_pi(rng, k, float(rng.choice(CONCENTRATIONS)))
        r = ex.replicas_from_survival(pi, float(rng.uniform(0.05, 0.95)))
        total = int(r.sum())
        if trial % 2 == 0:
            if total - 1 < k:
                continue
            direction, m = "down", int(rng.integers(k, total))
        else:
            direction, m = "up", int(rng.integers(total + 1, 2 * total + k + 1))
        out, trace = ex.adjust_replicas_with_trace(pi, r, m)
        assert out.sum() == m
        counts[direction][0] += 1
        counts[direction][1] += bool(trace[-1] > trace[0] + 1e-12)
    for direction, (n, worse) in counts.items():
        print(f"Algorithm 2 {direction}: output distortion > input's in {worse}/{n} cases")


# ------------------------------------------------------------------------------------------
# eq. 21: exact optimum for fixed R
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lo", [0, 1])
def test_optimal_matches_brute_force(lo):
    rng = np.random.default_rng(40 + lo)
    cases = 0
    for k in (1, 2, 3, 4):
        for total in range(max(1, k * lo), 10):
            pis = [random_pi(rng, k, a) for a in CONCENTRATIONS]
            pis.append(np.full(k, 1 / k))  # ties everywhere
            pis.append(np.eye(k)[0])  # zeros
            for pi in pis:
                out = ex.optimal_replicas(pi, total, min_replicas=lo)
                assert out.dtype == np.int64
                assert out.sum() == total
                assert out.min() >= lo
                best = min(d_ref(pi, c) for c in compositions(total, k, lo))
                assert d_ref(pi, out) == pytest.approx(best, abs=1e-12)
                cases += 1
    assert cases > 150


def test_optimal_breaks_ties_for_the_largest_beta():
    """Among the optima of eq. 21 (often many), the one returned maximises beta."""
    rng = np.random.default_rng(41)
    checked = 0
    for k in (2, 3, 4):
        for total in range(k, 12):
            for a in CONCENTRATIONS:
                pi = random_pi(rng, k, a)
                pi = pi / pi.sum()
                out = ex.optimal_replicas(pi, total, min_replicas=1)
                opts = [c for c in compositions(total, k, 1)
                        if d_ref(pi, c) <= d_ref(pi, out) + 1e-12]
                best_beta = max(np.min(c / (total * pi)) for c in opts)
                assert np.min(out / (total * pi)) == pytest.approx(best_beta, rel=1e-12)
                checked += len(opts) > 1
    assert checked >= 3  # the degenerate case did occur
    # A coherent design: 3 hot blocks must share a shortfall; block order would give (3, 3, 1)
    pi = np.array([0.3, 0.3, 0.3, 0.025, 0.025, 0.025, 0.025])
    np.testing.assert_array_equal(ex.optimal_replicas(pi, 10), [2, 2, 2, 1, 1, 1, 1])


def test_optimal_not_worse_than_algorithm2():
    rng = np.random.default_rng(50)
    for _ in range(50):
        k = int(rng.integers(2, 12))
        pi = random_pi(rng, k, 0.5)
        r = ex.replicas_from_survival(pi, 0.3)
        m = int(rng.integers(k, 3 * k + 5))
        greedy = ex.adjust_replicas(pi, r, m)
        opt = ex.optimal_replicas(pi, m)
        assert d_ref(pi, opt) <= d_ref(pi, greedy) + 1e-12


def test_optimal_exact_for_integral_targets():
    np.testing.assert_array_equal(ex.optimal_replicas([0.1, 0.2, 0.7], 10), [1, 2, 7])
    np.testing.assert_array_equal(ex.optimal_replicas([0.1, 0.2, 0.7], 20), [2, 4, 14])


def test_optimal_rejects_bad_total():
    with pytest.raises(InputError, match=r"^total=2 is too small .* 3 blocks min_replicas=1"):
        ex.optimal_replicas([0.2, 0.3, 0.5], 2)
    with pytest.raises(InputError, match=r"^total must be >= 1"):
        ex.optimal_replicas([0.2, 0.3, 0.5], 0, min_replicas=0)
    with pytest.raises(InputError, match=r"^total must be an integer"):
        ex.optimal_replicas([0.2, 0.3, 0.5], 4.0)


# ------------------------------------------------------------------------------------------
# Proposition 1 / Corollary 2
# ------------------------------------------------------------------------------------------


def test_perfect_emulation_floats():
    r, big_r = ex.perfect_emulation([0.1, 0.2, 0.7])
    np.testing.assert_array_equal(r, [1, 2, 7])
    assert big_r == 10
    r, big_r = ex.perfect_emulation(np.array([1 / 3, 1 / 6, 0.5, 0.0]))
    np.testing.assert_array_equal(r, [2, 1, 3, 0])
    assert big_r == 6


def test_perfect_emulation_is_exact_and_minimal():
    rng = np.random.default_rng(60)
    for _ in range(40):
        k = int(rng.integers(1, 6))
        dens = rng.integers(1, 13, size=k)
        # Random fractions a_i / b_i, then the last absorbs the remainder to sum to 1.
        raw = [Fraction(int(rng.integers(0, d + 1)), int(d)) for d in dens]
        s = sum(raw, Fraction(0))
        pi = [f / s for f in raw] if s else [Fraction(1, k)] * k
        r, big_r = ex.perfect_emulation(pi)
        assert big_r == math.lcm(*(f.denominator for f in pi))
        assert int(r.sum()) == big_r
        assert all(Fraction(int(c), big_r) == f for c, f in zip(r, pi, strict=True))
        assert ex.distortion([float(f) for f in pi], r / big_r) == pytest.approx(0, abs=1e-15)
        # Corollary 2: no smaller total allows an exact emulation.
        for smaller in range(1, big_r):
            assert any((f * smaller).denominator != 1 for f in pi)


def test_perfect_emulation_rejects():
    with pytest.raises(InputError, match=r"^Pi is not rational with denominator <= 1000"):
        ex.perfect_emulation([math.pi / 4, 1 - math.pi / 4], max_denominator=1000)
    with pytest.raises(InputError, match=r"^Pi is not rational with denominator <= 1000000"):
        ex.perfect_emulation([math.pi / 4, 1 - math.pi / 4])  # default: a few ulps
    third = Fraction(1, 3)
    with pytest.raises(InputError, match=r"^Pi is not a distribution: as fractions it sums to"):
        ex.perfect_emulation([third, third, third + Fraction(1, 10**12)])
    with pytest.raises(InputError, match=r"^Pi is not a distribution: it sums to"):
        ex.perfect_emulation([0.5, 0.6])
    with pytest.raises(InputError, match=r"^Pi is not a distribution: expected a 1-D array"):
        ex.perfect_emulation([[0.5, 0.5]])
    with pytest.raises(InputError, match=r"^Pi entry 0 is not a real number"):
        ex.perfect_emulation(["0.5", 0.5])


# ------------------------------------------------------------------------------------------
# eq. 20 and eq. 23
# ------------------------------------------------------------------------------------------


def test_expansion_matrix_matches_dense_reference():
    rng = np.random.default_rng(70)
    for _ in range(10):
        r = rng.integers(0, 4, size=int(rng.integers(1, 7)))
        e = ex.expansion_matrix(r)
        dense = np.zeros((int(r.sum()), r.size))
        row = 0
        for i, c in enumerate(r):
            dense[row : row + c, i] = 1.0
            row += c
        assert e.format == "csr"
        assert e.shape == dense.shape
        np.testing.assert_array_equal(e.toarray(), dense)
        np.testing.assert_array_equal(np.asarray(e.sum(axis=0)).ravel(), r)
        np.testing.assert_array_equal(ex.server_blocks(r), np.repeat(np.arange(r.size), r))
        np.testing.assert_array_equal(e.toarray().argmax(axis=1), ex.server_blocks(r))


def test_expansion_matrix_dtype():
    assert ex.expansion_matrix([1, 2], dtype=np.int8).dtype == np.int8


def test_encoding_weights():
    w = ex.encoding_weights([0.25, 0.75], 4)
    np.testing.assert_allclose(w, [1.0, 1 / np.sqrt(3)])
    # Unbiasedness behind eq. 25: q draws from Pi-bar, each weighted w_i^2, sum to E = sum g.
    rng = np.random.default_rng(80)
    pb = random_pi(rng, 5, 1.0)
    g = rng.normal(size=5)
    for q in (1, 3, 10):
        wq = ex.encoding_weights(pb, q)
        assert q * np.sum(pb * wq**2 * g) == pytest.approx(g.sum())


def test_encoding_weights_reject():
    with pytest.raises(InputError, match=r"^q must be >= 1, got 0"):
        ex.encoding_weights([0.5, 0.5], 0)
    with pytest.raises(InputError, match=r"^induced entry 1 is 0.0; every block needs"):
        ex.encoding_weights([1.0, 0.0], 2)
    with pytest.raises(InputError, match=r"^induced is not a distribution"):
        ex.encoding_weights([0.5, 0.6], 2)
