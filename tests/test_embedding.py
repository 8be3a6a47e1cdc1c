"""dask_coded.embedding_error: GC Theorem 1 measured on stored data, and lstsq's own report."""

import numpy as np
import pytest

import dask_coded as dc
from dask_coded.errors import InputError
from dask_coded.kernels import embedding as ek
from dask_coded.kernels.blocks import BlockLayout
from tests.conftest import dense_dataset


@pytest.fixture(scope="module")
def coherent():
    return dense_dataset(n_rows=2000, n_cols=6, chunk_rows=500, kind="coherent", seed=3)


@pytest.fixture(scope="module")
def store(tmp_path_factory, coherent):
    path = tmp_path_factory.mktemp("emb") / "coherent.zarr"
    dc.make_dataset(path, n_rows=2000, n_cols=6, chunk_rows=500, kind="coherent", seed=3)
    return path


def test_a_store_and_its_arrays_give_the_same_draws(store, coherent):
    a, _ = coherent
    from_store = dc.embedding_error(store, 20, n_servers=40, q=30, trials=50, seed=1)
    in_memory = dc.embedding_error(a, 20, n_servers=40, q=30, trials=50, seed=1)
    np.testing.assert_allclose(from_store.errors, in_memory.errors, rtol=1e-9)
    assert from_store.errors.shape == (50,) and from_store.n_servers == 40


def test_the_draws_are_the_dense_sketches(coherent):
    """Each draw's error is ||I - U^T S^T S U|| of an explicit S built from dense U."""
    a, _ = coherent
    layout = BlockLayout.create(2000, 20)
    setup = dc.compute_block_leverage(a, 20)
    u = np.linalg.qr(a)[0]
    net = dc.expansion_network(setup.scores, 40, q=30)
    rng = np.random.default_rng(5)
    servers = rng.choice(40, size=30, replace=False)
    blocks = net.server_blocks[servers]
    coef = (40 / (30 * net.replicas[blocks]))  # GC eq. 23 squared
    sts = np.zeros(2000)  # S^T S is diagonal for a block sketch
    for blk, c in zip(blocks, coef):
        lo, hi = layout.block_range(int(blk))
        sts[lo:hi] += c
    dense = np.max(np.abs(np.linalg.eigvalsh(np.eye(6) - u.T @ (sts[:, None] * u))))
    assert ek.sketch_error(setup.unit_grams, blocks, coef) == pytest.approx(dense, rel=1e-9)


def test_theorem1_orderings_on_coherent_blocks(coherent):
    a, _ = coherent
    setup = dc.compute_block_leverage(a, 20)
    run = {(s, q): dc.embedding_error(a, setup=setup, sketch=s, n_servers=40, q=q,
                                      trials=200, seed=0)
           for s in ("expansion", "uniform") for q in (10, 30)}
    for s in ("expansion", "uniform"):  # more servers waited for, a better embedding
        assert run[s, 30].median < 0.6 * run[s, 10].median
    for q in (10, 30):  # leverage replication beats equal replication on coherent blocks
        assert run["expansion", q].median < 0.8 * run["uniform", q].median
        assert run["expansion", q].holds and run["expansion", q].exceed_fraction == 0.0
    # Algorithm 1 at two q: inside Theorem 1's eps, which falls like 1/sqrt(q) as the error
    small, large = (dc.embedding_error(a, setup=setup, sketch="algorithm1", q=q, trials=200,
                                       seed=0) for q in (25, 400))
    assert small.holds and large.holds and large.quantile < large.theorem1
    assert large.median < small.median / 2.5 and large.theorem1 < small.theorem1 / 3
    assert small.beta == 1.0 and run["uniform", 10].beta < run["expansion", 10].beta < 1.0


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"sketch": "hadamard"}, "unknown sketch 'hadamard'; choose one of expansion"),
    ({"q": 41, "n_servers": 40}, "q=41 is larger than n_servers=40"),
    ({"trials": 0}, "trials must be >= 1, got 0"),
    ({"delta": 1.0}, "delta must be"),
    ({"n_blocks": 7}, "setup has 20 blocks; n_blocks=7 differs"),
])
def test_bad_input_is_one_line(coherent, kwargs, match):
    a, _ = coherent
    setup = dc.compute_block_leverage(a, 20)
    with pytest.raises(InputError, match=match):
        dc.embedding_error(a, setup=setup, **kwargs)


def test_a_sketch_setup_has_no_unit_grams(coherent):
    a, _ = coherent
    setup = dc.compute_block_leverage(a, 20, method="sketch")
    with pytest.raises(InputError, match="needs an exact setup"):
        dc.embedding_error(a, setup=setup)


def test_lstsq_reports_its_own_network(coherent):
    """The run's embedding is its network's at its q; Theorem 3 checked every sampled round."""
    a, b = coherent
    res = dc.lstsq(a, b, method="block-leverage", n_blocks=20, n_servers=40, q=30,
                   max_iter=25, client="simulate", seed=1, variance_reduction=False)
    alone = dc.embedding_error(a, setup=res.setup, n_servers=40, q=30, trials=100, seed=1)
    assert res.embedding.q == 30 and res.embedding.n_servers == 40
    # the same draws (one seed): the run measures exactly what embedding_error would
    np.testing.assert_allclose(res.embedding.errors, alone.errors, rtol=1e-12)
    eps = res.history["embedding_error"]
    assert all(e is not None and 0 < e < 1.5 for e in eps)  # every round is sampled here
    t3 = res.theorem3
    assert t3["rounds"] == 25 and t3["held"] == 25 and 0 < t3["max_ratio"] < 1
    assert res.summary()["theorem3"] == t3 and res.summary()["embedding"]["q"] == 30


def test_variance_reduced_rounds_obey_their_bound(coherent):
    """With an anchor every 5 rounds the sampled part is 2 A^T S^T S A z: Theorem 3's argument
    is then a proof, and the bound must hold in every round."""
    a, b = coherent
    res = dc.lstsq(a, b, method="uniform", n_blocks=20, n_servers=40, q=12, max_iter=30,
                   client="simulate", seed=2, precondition=False, anchor_every=5,
                   step="fixed")
    t3 = res.theorem3
    assert t3["rounds"] == 24 and t3["held"] == 24  # 6 anchor rounds are exact
    exact = [e for e, x in zip(res.history["embedding_error"], res.history["exact_round"]) if x]
    assert exact and all(e is None for e in exact)


def test_weighted_leverage_distinct_blocks_follow_theorem7(coherent):
    a, b = coherent
    res = dc.lstsq(a, b, method="weighted-leverage", n_blocks=20, q=30, max_iter=80,
                   client="simulate", seed=3, variance_reduction=False)
    dist = res.distinct_blocks
    assert dist["rounds"] == 80 and dist["draws"] == 30
    # the per-round count has a spread of about 1: the mean of 80 is within 0.5
    assert abs(dist["measured"] - dist["expected"]) < 0.5
    assert dist["expected"] == pytest.approx(ek.theorem7_distinct_blocks(res.setup.scores, 30))
    assert res.embedding.sketch == "weighted-leverage" and res.embedding.beta == 1.0


def test_sd_has_no_sketch_to_report(coherent):
    a, b = coherent
    res = dc.lstsq(a, b, method="sd", n_blocks=20, max_iter=3, client="simulate")
    assert res.embedding is None and res.theorem3 is None and res.distinct_blocks is None


def test_mixing_sketches_measured_from_the_data(coherent):
    """The paper's baselines measured the same way: Gaussian, Rademacher and block-SRHT of
    q blocks' worth of rows. They flatten the coherent blocks, so uniform block sampling of a
    network loses to them at equal rows, and block-leverage replication closes the gap."""
    a, _ = coherent
    setup = dc.compute_block_leverage(a, 20)
    run = {s: dc.embedding_error(a, setup=setup, sketch=s, q=5, n_servers=40, trials=20,
                                 seed=0) for s in ("gaussian", "rademacher", "srht",
                                                   "uniform", "expansion")}
    for s in ("gaussian", "rademacher", "srht"):
        assert run[s].theorem1 is None and run[s].holds is None and run[s].n_servers is None
        assert run[s].median < run["uniform"].median
    assert run["expansion"].median < run["uniform"].median
    # the dense reference: one Gaussian draw's error from U itself
    from dask_coded.kernels import sketches as sk

    u = np.linalg.qr(a)[0]
    layout = setup.layout
    s0 = sk.Sketch.create("gaussian", 5 * layout.block_rows, 0, 0, 20, layout.block_rows)
    su = sum(s0.share(i, u[lo:hi]) for i, (lo, hi) in
             enumerate(map(layout.block_range, range(20))))
    dense = np.max(np.abs(np.linalg.eigvalsh(np.eye(6) - su.T @ su)))
    assert run["gaussian"].errors[0] == pytest.approx(dense, rel=1e-8)
