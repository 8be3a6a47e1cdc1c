"""The products benchmark: coded products against dask's A @ B under real faults."""

import math

import pytest

from dask_coded.experiments import products


def test_summary_ratios_and_waits():
    runs = [{"fault": "none", "method": "dask A @ B", "P": "-", "seconds": 2.0, "waited": False,
             "used": "-", "rel_error": 0.0},
            {"fault": "none", "method": "eps-matdot", "P": 6, "seconds": 3.0, "waited": False,
             "used": "4", "rel_error": 1e-4},
            {"fault": "frozen", "method": "dask A @ B", "P": "-", "seconds": 31.0,
             "waited": True, "used": "-", "rel_error": 0.0},
            {"fault": "frozen", "method": "eps-matdot", "P": 6, "seconds": 1.5,
             "waited": False, "used": "4", "rel_error": 2e-4},
            {"fault": "frozen", "method": "uncoded", "P": 4, "seconds": math.nan,
             "waited": True, "used": "-", "rel_error": None}]
    rows = {(r["fault"], r["method"]): r for r in products.summarize(runs, 30.0)}
    assert rows["none", "eps-matdot"]["x dask none"] == "1.50"
    assert rows["frozen", "eps-matdot"]["x own none"] == "0.50"
    assert rows["frozen", "dask A @ B"]["seconds"].startswith("> 30")
    assert rows["frozen", "uncoded"]["seconds"] == "waits (needs all)"


@pytest.mark.slow
def test_a_frozen_worker_stalls_dask_not_eps_matdot():
    """On a real cluster: with one of three workers frozen, dask's A @ B is still waiting at
    3 s; eps-MatDot (any m of P = m + 2) finishes without the frozen worker's servers."""
    runs = products.products_table(256, 2, n_workers=3, repeats=1, faults=("none", "frozen"),
                                   dask_timeout=3.0, echo=lambda line: None)
    by = {(r["fault"], r["method"]): r for r in runs}
    assert by["frozen", "dask A @ B"]["waited"]
    eps = by["frozen", "eps-matdot"]
    assert not eps["waited"] and eps["rel_error"] < 1e-3 and eps["seconds"] < 30
