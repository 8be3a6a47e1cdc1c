"""Run configs of ``dask-coded solve``: parsing into typed, frozen, validated objects."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dask_coded.config import RunConfig, SolverConfig, load_config
from dask_coded.errors import InputError

REPO = Path(__file__).resolve().parents[1]

FULL = """
dataset:
  path: data/x.zarr
  generate: {kind: coherent, n_rows: 5000, n_cols: 8, chunk_rows: 1000, seed: 3}
cluster: {scheduler: null, workers: 2, threads_per_worker: 3, timeout: 2.5}
solver:
  method: block-leverage
  n_blocks: 50
  n_servers: 100
  q: 60
  deadline: 0.5
  on_short: proceed
  step: optimal
  max_iter: 60
  tol: 1.0e-10
  time_budget: null
  seed: 4
  reference: auto
compare: [sd, uniform]
stragglers:
  delay: {distribution: shifted-exponential, shift: 0.0, rate: 20.0}
  slow: {fraction: 0.25, factor: 10}
  seed: 0
output: {dir: out/x, target_error: 1.0e-4}
"""


def write(tmp_path: Path, text: str, name: str = "run.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def parse(data: dict) -> RunConfig:
    return RunConfig.from_dict(data, source="cfg.yaml")


def test_full_config(tmp_path):
    cfg = load_config(write(tmp_path, FULL))
    assert cfg.dataset.path == Path("data/x.zarr")  # relative: resolved against the cwd
    assert cfg.dataset.generate.n_rows == 5000 and cfg.dataset.generate.kind == "coherent"
    assert cfg.cluster.workers == 2 and cfg.cluster.threads_per_worker == 3
    assert cfg.cluster.timeout == 2.5 and cfg.cluster.scheduler is None
    s = cfg.solver
    assert (s.method, s.n_blocks, s.n_servers, s.q) == ("block-leverage", 50, 100, 60)
    assert (s.deadline, s.on_short, s.step, s.max_iter, s.tol, s.seed) == (
        0.5, "proceed", "optimal", 60, 1e-10, 4)
    assert cfg.methods == ("block-leverage", "sd", "uniform")
    assert cfg.stragglers["slow"] == {"fraction": 0.25, "factor": 10}
    assert cfg.output.dir == Path("out/x") and cfg.output.target_error == 1e-4
    assert cfg.source == tmp_path / "run.yaml"
    kwargs = s.lstsq_kwargs()
    assert kwargs["n_servers"] == 100 and kwargs["runtime"] is None
    echo = cfg.to_dict()
    assert echo["solver"]["q"] == 60 and echo["dataset"]["generate"]["seed"] == 3
    assert echo["compare"] == ["sd", "uniform"]


def test_defaults_and_frozen():
    cfg = parse({"dataset": {"path": "d.zarr"}})
    assert cfg.solver == SolverConfig()
    assert cfg.solver.method == "auto" and cfg.solver.reference == "auto"
    assert cfg.cluster.scheduler is None and cfg.cluster.threads_per_worker == 1
    assert cfg.compare == () and cfg.stragglers is None
    assert cfg.output.dir == Path("out") / "cfg"  # out/<config stem>
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.solver.q = 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.dataset = None


def test_numeric_step_reference_npy_and_runtime():
    cfg = parse({"dataset": {"path": "d.zarr"},
                 "solver": {"step": 0.5, "reference": "ref.npy", "deadline": 0.2,
                            "runtime": {"distribution": "shifted-exponential", "shift": 0.0,
                                        "rate": 10.0}},
                 "compare": "sd"})
    assert cfg.solver.step == 0.5
    assert cfg.solver.reference == Path("ref.npy")
    assert cfg.solver.lstsq_kwargs()["runtime"].cdf(0.2) > 0.8
    assert cfg.compare == ("sd",)
    assert parse({"dataset": {"path": "d"}, "solver": {"reference": None}}).solver.reference \
        is None


def test_the_papers_scores_and_network_reach_lstsq():
    cfg = parse({"dataset": {"path": "d.zarr"},
                 "solver": {"scores": "sketch", "network": "eq19"}})
    kwargs = cfg.solver.lstsq_kwargs()
    assert (kwargs["scores"], kwargs["network"]) == ("sketch", "eq19")
    assert cfg.solver.to_dict()["network"] == "eq19"
    assert SolverConfig().lstsq_kwargs()["scores"] == "exact"


@pytest.mark.parametrize(("data", "match"), [
    ({"dataset": {"path": "d"}, "solvr": {}}, "unknown key solvr"),
    ({"dataset": {"path": "d", "paht": 1}}, "unknown key dataset.paht"),
    ({"dataset": {"path": "d"}, "solver": {"bogus": 1}}, "unknown key solver.bogus"),
    ({"dataset": {"path": "d"}, "cluster": {"cores": 1}}, "unknown key cluster.cores"),
    ({"dataset": {"path": "d"}, "output": {"folder": "x"}}, "unknown key output.folder"),
    ({}, "dataset is required"),
    ({"dataset": {}}, "dataset.path is required"),
    ({"dataset": {"generate": {"kind": "gaussian"}}}, "dataset.path is required"),
    ({"dataset": "d.zarr"}, "dataset must be a mapping"),
    ({"dataset": {"path": 3}}, "dataset.path must be a path"),
    ({"dataset": {"path": "d", "generate": {"kind": "cauchy"}}},
     "dataset.generate: unknown dataset kind"),
    ({"dataset": {"path": "d", "generate": {"n_rows": 0}}}, "dataset.generate: n_rows"),
    ({"dataset": {"path": "d", "generate": {"rows": 10}}},
     "dataset.generate: unknown dataset parameter"),
    ({"dataset": {"path": "d", "generate": {"noise": "loud"}}},
     "dataset.generate.noise must be a real number, got str"),
    ({"dataset": {"path": "d"}, "solver": {"method": "newton"}}, "unknown solver.method"),
    ({"dataset": {"path": "d"}, "solver": {"deadline": 0}}, "solver.deadline must be"),
    ({"dataset": {"path": "d"}, "solver": {"deadline": -1.5}}, "solver.deadline must be"),
    ({"dataset": {"path": "d"}, "solver": {"deadline": "soon"}}, "solver.deadline must be"),
    ({"dataset": {"path": "d"}, "solver": {"q": 30, "n_servers": 20}},
     "solver.q=30 is larger than solver.n_servers=20"),
    ({"dataset": {"path": "d"}, "solver": {"n_servers": 0}}, "solver.n_servers must be"),
    ({"dataset": {"path": "d"}, "solver": {"n_servers": 10, "n_blocks": 20}},
     "fewer than solver.n_blocks"),
    ({"dataset": {"path": "d"}, "solver": {"n_blocks": 2.5}}, "solver.n_blocks must be"),
    ({"dataset": {"path": "d"}, "solver": {"q": True}}, "solver.q must be"),
    ({"dataset": {"path": "d"}, "solver": {"step": 0}}, "solver.step must be"),
    ({"dataset": {"path": "d"}, "solver": {"step": -1}}, "solver.step must be"),
    ({"dataset": {"path": "d"}, "solver": {"step": "newton"}}, "unknown solver.step"),
    ({"dataset": {"path": "d"}, "solver": {"step": [1]}}, "solver.step must be"),
    ({"dataset": {"path": "d"}, "solver": {"on_short": "skip"}}, "unknown solver.on_short"),
    ({"dataset": {"path": "d"}, "solver": {"max_iter": 0}}, "solver.max_iter must be"),
    ({"dataset": {"path": "d"}, "solver": {"tol": -1}}, "solver.tol must be"),
    ({"dataset": {"path": "d"}, "solver": {"time_budget": 0}}, "solver.time_budget must be"),
    ({"dataset": {"path": "d"}, "solver": {"seed": -1}}, "solver.seed must be"),
    ({"dataset": {"path": "d"}, "solver": {"step_scale": float("nan")}},
     "solver.step_scale must be"),
    ({"dataset": {"path": "d"}, "solver": {"reference": "x.csv"}}, "solver.reference must be"),
    ({"dataset": {"path": "d"}, "solver": {"runtime": {"shift": 1}}},
     "solver.runtime.distribution is required"),
    ({"dataset": {"path": "d"}, "solver": {"runtime": {"distribution": "gamma"}}},
     "unknown solver.runtime.distribution"),
    ({"dataset": {"path": "d"}, "solver": "fast"}, "solver must be a mapping"),
    ({"dataset": {"path": "d"}, "cluster": {"workers": 0}}, "cluster.workers must be"),
    ({"dataset": {"path": "d"}, "cluster": {"threads_per_worker": "2"}},
     "cluster.threads_per_worker must be"),
    ({"dataset": {"path": "d"}, "cluster": {"timeout": 0}}, "cluster.timeout must be"),
    ({"dataset": {"path": "d"}, "cluster": {"scheduler": 8786}}, "cluster.scheduler must be"),
    ({"dataset": {"path": "d"}, "compare": ["sd", "gd"]}, "unknown compare[1] method"),
    ({"dataset": {"path": "d"}, "compare": ["sd", "sd"]}, "compare lists 'sd' twice"),
    ({"dataset": {"path": "d"}, "compare": ["auto"]}, "repeats solver.method"),
    ({"dataset": {"path": "d"}, "compare": {"sd": 1}}, "compare must be a list"),
    ({"dataset": {"path": "d"}, "stragglers": {"slow": {"fraction": 2, "factor": 10}}},
     "stragglers: slow.fraction"),
    ({"dataset": {"path": "d"}, "stragglers": {"jitter": 1}}, "stragglers: "),
    ({"dataset": {"path": "d"}, "stragglers": [1]}, "stragglers must be a mapping"),
    ({"dataset": {"path": "d"}, "output": {"target_error": 0}}, "output.target_error must be"),
    ({"dataset": {"path": "d"}, "solver": {"scores": "beta"}}, "unknown solver.scores 'beta'"),
    ({"dataset": {"path": "d"}, "solver": {"network": 19}}, "unknown solver.network 19"),
])
def test_errors_name_the_key(data, match):
    with pytest.raises(InputError) as info:
        parse(data)
    msg = str(info.value)
    assert match in msg
    assert "\n" not in msg


@pytest.mark.parametrize(("text", "match"), [
    ("dataset: {path: d\n", "is not valid YAML"),
    ("dataset:\n  path: d\n bad: indent\n", "is not valid YAML"),
    ("", "is empty"),
    ("- dataset\n", "must hold a mapping"),
    ("!!python/object:os.system {}\n", "is not valid YAML"),  # safe_load only
])
def test_file_errors(tmp_path, text, match):
    with pytest.raises(InputError, match=match.replace("(", r"\(")) as info:
        load_config(write(tmp_path, text))
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such config file"):
        load_config(tmp_path / "absent.yaml")


@pytest.mark.parametrize("name", ["quickstart.yaml", "gc-seed.yaml"])
def test_shipped_configs_parse(name):
    cfg = load_config(REPO / "configs" / name)
    assert cfg.dataset.generate is not None
    assert len(cfg.methods) >= 2


# ------------------------------------------------------------------------------ issue 15, part 6

#: 467 bytes that expand to ~9^9 strings: yaml.safe_load grew to 2.2 GB and a MemoryError.
ALIAS_BOMB = "dataset: {path: d}\nsolver:\n  reference: &a [x, x, x, x, x, x, x, x, x]\n" + \
    "".join(f"  k{i}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n"
            for i in range(8))


@pytest.mark.parametrize("text", [
    ALIAS_BOMB,
    "dataset: {path: &p d}\n",  # an anchor alone: only ever there for an alias
    "base: &b {path: d}\ndataset: *b\n",
    "dataset:\n  <<: {path: d}\n  generate: null\nsolver: {<<: &s {seed: 1}}\n",
])
def test_yaml_aliases_are_refused_in_one_line(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(InputError, match=r"YAML aliases \(&/\*\) are not supported") as info:
        load_config(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_yaml_alias_bomb_from_the_cli(tmp_path):
    from tests.conftest import assert_one_line_error, cli

    write(tmp_path, ALIAS_BOMB)
    proc = cli("solve", "run.yaml", cwd=tmp_path)
    assert_one_line_error(proc, "YAML aliases (&/*) are not supported (line 3)")


@pytest.mark.parametrize("text, value", [("1e-9", 1e-9), ("1E5", 1e5), ("+2e+3", 2e3),
                                         ("2.5e-3", 2.5e-3), ("1_0e1", 100.0)])
def test_exponent_floats_are_numbers(tmp_path, text, value):
    """YAML 1.1 read `deadline: 1e-9` as the string '1e-9' (its float needs a dot)."""
    cfg = load_config(write(tmp_path, f"dataset: {{path: d}}\nsolver: {{deadline: {text}}}\n"))
    assert isinstance(cfg.solver.deadline, float) and cfg.solver.deadline == value


def test_a_negative_exponent_float_is_a_number_too(tmp_path):
    with pytest.raises(InputError, match=r"solver.deadline must be > 0, got -2000.0"):
        load_config(write(tmp_path, "dataset: {path: d}\nsolver: {deadline: -2e+3}\n"))


def test_exponent_floats_leave_yaml_itself_alone():
    """The resolver is the config loader's own, not every SafeLoader's in the process."""
    import yaml

    assert yaml.safe_load("a: 1e-9") == {"a": "1e-9"}


@pytest.mark.parametrize("data, match", [
    ({"dataset": {"path": "d"}, "x" * 100_000: 1}, "unknown key xxxx"),
    ({"dataset": {"path": "d"}, "solver": {"method": "m" * 100_000}}, "solver.method"),
    ({"dataset": {"path": "d"}, "solver": {"reference": "r" * 100_000}}, "solver.reference"),
    ({"dataset": {"path": "d"}, "solver": {"runtime": {"distribution": "d" * 100_000}}},
     "solver.runtime.distribution"),
    ({"dataset": {"path": "d"}, "cluster": {"scheduler": "s" * 100_000,
                                            "security": {"ca_file": "x", "cert": "y"}}},
     "cluster.s"),
])
def test_long_values_are_cut_in_messages(data, match):
    with pytest.raises(InputError, match=match) as info:
        parse(data)
    assert len(str(info.value)) < 400 and "\n" not in str(info.value)


@pytest.mark.parametrize("content, match", [
    (b"\x00\x01\x02\xff\xfe binary", "not UTF-8 text"),
    (b"dataset: {path: d}\n\x00\n", "is not valid YAML"),
    (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    (b"dataset: {path: d}\n---\nsolver: {}\n", "is not valid YAML"),
    (b"dataset: {path: d}\n\tsolver: {}\n", "is not valid YAML"),
    (b"{1: 2}\n", "has a key that is not a string"),
    (b"dataset: {path: d}\nsolver: !!binary aGVsbG8=\n", "solver must be a mapping"),
    (b"dataset: {path: d}\nsolver: {seed: 1e3}\n", "solver.seed must be an integer"),
])
def test_malformed_config_files_are_one_line_errors(tmp_path, content, match):
    path = tmp_path / "run.yaml"
    path.write_bytes(content)
    with pytest.raises(InputError, match=match) as info:
        load_config(path)
    assert "\n" not in str(info.value)
