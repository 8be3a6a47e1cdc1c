"""The fault suite: real schedulers restarted, real workers lost, and its table."""

from __future__ import annotations

import json

import pytest

from dask_coded.errors import InputError
from dask_coded.executor import CodedExecutor
from dask_coded.experiments import faults
from tests.conftest import cli


@pytest.fixture(scope="module")
def problems(tmp_path_factory):
    return faults._make_problems(tmp_path_factory.mktemp("faults"), seed=0)


def test_lstsq_survives_a_scheduler_restart(problems):
    trial = faults.run_trial("lstsq", "scheduler-restart", problems, seed=1, n_workers=2,
                             hang_limit=120)
    assert trial.outcome == "right", trial


@pytest.mark.slow  # ~9 s; the restart between rounds above stays in the default suite
def test_lstsq_survives_a_scheduler_restart_during_its_setup_pass(problems):
    trial = faults.run_trial("lstsq", "scheduler-restart-setup", problems, seed=0, n_workers=2,
                             hang_limit=120)
    assert trial.outcome == "right", trial  # "not injected" if the pass ended first


def test_setup_fault_is_for_lstsq_only(problems):
    with pytest.raises(InputError, match="for lstsq only"):
        faults.run_trial("matmul", "scheduler-restart-setup", problems, seed=0)


def test_losing_every_worker_is_a_clear_error_not_a_hang(problems, monkeypatch):
    monkeypatch.setattr(CodedExecutor, "no_workers_timeout", 3.0)
    trial = faults.run_trial("lstsq", "all-workers-lost", problems, seed=0, n_workers=2,
                             hang_limit=60)
    assert trial.outcome == "clear error", trial
    assert "ServersLost" in trial.detail and "no worker for 3 s" in trial.detail
    assert trial.seconds < 60


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["scheduler-restart", "all-workers-lost", "kill-all-but-one"])
def test_matmul_faults(problems, fault, monkeypatch):
    monkeypatch.setattr(CodedExecutor, "no_workers_timeout", 3.0)
    trial = faults.run_trial("matmul", fault, problems, seed=0, n_workers=2, hang_limit=120)
    want = "clear error" if fault in faults.UNSURVIVABLE else "right"
    assert trial.outcome == want, trial


@pytest.fixture
def quick(monkeypatch):
    # a frozen worker is retired after 5 s (distributed's floor of 10 heartbeats), not 10
    monkeypatch.setattr(CodedExecutor, "unresponsive_after", 3.0)
    monkeypatch.setattr(CodedExecutor, "no_workers_timeout", 3.0)


def test_lstsq_survives_a_worker_frozen_for_good(problems, quick):
    """Issue 15: one worker SIGSTOPped mid-solve and never continued hung lstsq (400 s)."""
    trial = faults.run_trial("lstsq", "freeze-one", problems, seed=0, n_workers=2,
                             hang_limit=120)
    assert trial.outcome == "right", trial


def test_matmul_survives_kills_inside_its_rounds(problems, quick):
    """Kills at random moments, most inside a round: a result lost with its worker after
    it was chosen is not waited for; the round runs again."""
    trial = faults.run_trial("matmul", "kill-in-round", problems, seed=3, n_workers=3,
                             hang_limit=120)
    assert trial.outcome == "right", trial


@pytest.mark.parametrize(("api", "fault"), [("lstsq", "flipped-bit"),
                                            ("matmul", "truncated-chunk")])
def test_a_corrupt_chunk_is_a_one_line_error_naming_it(problems, api, fault):
    trial = faults.run_trial(api, fault, problems, seed=0, n_workers=2, hang_limit=120)
    assert trial.outcome == "clear error", trial
    assert "is corrupt: checksum mismatch" in trial.detail and "chunk (" in trial.detail


@pytest.mark.slow
@pytest.mark.parametrize(("api", "fault"), [("lstsq", "freeze-all"), ("matmul", "freeze-one"),
                                            ("lstsq", "kill-in-round"),
                                            ("lstsq", "freeze-one-setup")])
def test_more_freezes_and_kills(problems, quick, api, fault):
    trial = faults.run_trial(api, fault, problems, seed=0, n_workers=3, hang_limit=120)
    want = "clear error" if fault in faults.UNSURVIVABLE else "right"
    assert trial.outcome == want, trial


def _trial(outcome, fault="kill-one", api="lstsq", seconds=1.0):
    return faults.Trial(api, fault, outcome, seconds, 3)


def test_table_counts_each_outcome():
    trials = [_trial("right"), _trial("right", seconds=3.0), _trial("clear error"),
              _trial("clear error", fault="all-workers-lost"), _trial("hang", api="matmul"),
              _trial("not injected", fault="worker-joins")]
    lines = faults.fault_table(trials).splitlines()
    assert lines[0].split()[:3] == ["api", "fault", "runs"]
    assert lines[1].split() == ["lstsq", "kill-one", "3", "2", "1", "0", "0", "0", "0",
                                "1.0"]
    assert lines[2].split() == ["lstsq", "all-workers-lost", "1", "0", "1", "0", "0", "0",
                                "0", "1.0"]
    assert lines[3].split()[-3] == "1"  # the hang
    bad = faults.suite_failures(trials)
    # a survivable fault that stopped, and the hang; all-workers-lost stopping is right
    assert [(t.fault, t.outcome) for t in bad] == [("kill-one", "clear error"),
                                                   ("kill-one", "hang"),
                                                   ("worker-joins", "not injected")]


def test_suite_arguments_are_checked():
    with pytest.raises(InputError, match="unknown fault 'nope'"):
        faults.run_suite(["nope"])
    with pytest.raises(InputError, match="unknown api"):
        faults.run_suite(["kill-one"], ["solve"])
    with pytest.raises(InputError, match="n_workers must be >= 2, got 1"):
        faults.run_suite(["kill-one"], n_workers=1)


def test_cli_prints_the_fault_table(tmp_path):
    proc = cli("benchmark", "faults", "--runs", "1", "--faults", "kill-one", "--apis", "lstsq",
               "--workers", "2", "--json", str(tmp_path / "trials.json"),
               "--folder", str(tmp_path / "work"))
    assert proc.returncode == 0, proc.stderr
    row = [line for line in proc.stdout.splitlines() if line.startswith("lstsq")][-1].split()
    assert row[:8] == ["lstsq", "kill-one", "1", "1", "0", "0", "0", "0"]
    trials = json.loads((tmp_path / "trials.json").read_text())
    assert trials[0]["outcome"] == "right" and trials[0]["fault"] == "kill-one"
