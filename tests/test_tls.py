"""A scheduler that requires TLS: ``cluster.security`` of a run config, end to end.

The test makes its own certificate authority and a certificate for localhost/127.0.0.1 signed
by it, starts a real TLS scheduler and worker process with them, and runs ``dask-coded solve``
against it as a user does (a subprocess).
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import subprocess

import numpy as np
import pytest
import yaml

import dask_coded as dc
from dask_coded.cluster import connect
from dask_coded.config import load_config
from dask_coded.errors import InputError
from tests.conftest import assert_one_line_error, run

pytest.importorskip("cryptography")


def make_certs(folder) -> dict:
    """A self-signed CA, and a cert/key for localhost and 127.0.0.1 signed by it (PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def build(subject, issuer, public_key, signer, extensions):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
             .public_key(public_key).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5))
             .not_valid_after(now + datetime.timedelta(days=1)))
        for ext, critical in extensions:
            b = b.add_extension(ext, critical=critical)
        return b.sign(signer, hashes.SHA256())

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = build(name("dask-coded test CA"), name("dask-coded test CA"), ca_key.public_key(),
               ca_key, [(x509.BasicConstraints(ca=True, path_length=None), True)])
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                       x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = build(name("localhost"), ca.subject, key.public_key(), ca_key,
                 [(san, False), (x509.BasicConstraints(ca=False, path_length=None), True)])
    paths = {n: folder / f"{n}.pem" for n in ("ca", "cert", "key")}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return paths


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory):
    """A TLS-only scheduler with one worker process; yields (address, certificate paths)."""
    from distributed import LocalCluster
    from distributed.security import Security

    paths = make_certs(tmp_path_factory.mktemp("certs"))
    pem = {role: {f"tls_{role}_cert": str(paths["cert"]), f"tls_{role}_key": str(paths["key"])}
           for role in ("client", "scheduler", "worker")}
    security = Security(tls_ca_file=str(paths["ca"]), require_encryption=True,
                        **pem["client"], **pem["scheduler"], **pem["worker"])
    cluster = LocalCluster(n_workers=1, threads_per_worker=4, processes=True,
                           protocol="tls://", host="127.0.0.1", security=security,
                           dashboard_address=":0", silence_logs=logging.CRITICAL)
    assert cluster.scheduler_address.startswith("tls://")
    yield cluster.scheduler_address, paths
    cluster.close()


def tls_config(root, address: str, paths: dict | None) -> dict:
    """A tiny noise-free solve (1500 x 4, K = 4 on 6 servers) against ``address``.

    The dataset path is absolute: the worker processes do not share the CLI's folder.
    """
    cluster = {"scheduler": address, "timeout": 5}
    if paths is not None:
        cluster["security"] = {"ca_file": str(paths["ca"]), "cert": str(paths["cert"]),
                               "key": str(paths["key"]), "require_encryption": True}
    return {"dataset": {"path": str(root / "data" / "tiny.zarr"),
                        "generate": {"kind": "gaussian", "n_rows": 1500, "n_cols": 4,
                                     "chunk_rows": 500, "seed": 3, "noise": 0}},
            "cluster": cluster,
            "solver": {"method": "block-leverage", "n_blocks": 4, "n_servers": 6,
                       "max_iter": 40, "tol": 1e-12, "seed": 0},
            "output": {"dir": "out/tls"}}


def write(tmp_path, config: dict):
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))


def run_here(tmp_path, monkeypatch, *args: str) -> subprocess.CompletedProcess:
    """``dask-coded ARGS`` in this process (faster than :func:`run`), from ``tmp_path``."""
    from click.testing import CliRunner

    from dask_coded.cli import cli

    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, list(args), prog_name="dask-coded")
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return subprocess.CompletedProcess(args, res.exit_code, res.stdout, res.stderr)


def test_solve_through_a_tls_scheduler(tls_cluster, tmp_path):
    address, paths = tls_cluster
    write(tmp_path, tls_config(tmp_path, address, paths))
    proc = run("solve", "run.yaml", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    a, b = dc.open_dataset(tmp_path / "data" / "tiny.zarr")
    x_np, *_ = np.linalg.lstsq(np.asarray(a), np.asarray(b), rcond=None)
    x = np.load(tmp_path / "out" / "tls" / "x_block-leverage.npy", allow_pickle=False)
    assert np.linalg.norm(x - x_np) <= 1e-6 * np.linalg.norm(x_np)
    # the report names the certificate files, never their contents
    report = (tmp_path / "out" / "tls" / "report.json").read_text()
    assert str(paths["key"]) in report
    assert "PRIVATE KEY" not in report and "BEGIN" not in report


def test_tls_scheduler_without_security_is_one_line(tls_cluster, tmp_path, monkeypatch):
    address, _ = tls_cluster
    write(tmp_path, tls_config(tmp_path, address, None))
    proc = run_here(tmp_path, monkeypatch, "solve", "run.yaml", "--no-progress")
    assert_one_line_error(proc, "no TLS security settings")
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_bad_ca_file_is_one_line_config_error(tls_cluster, tmp_path, monkeypatch):
    address, paths = tls_cluster
    config = tls_config(tmp_path, address, paths)
    config["cluster"]["security"]["ca_file"] = str(tmp_path / "missing-ca.pem")
    write(tmp_path, config)
    proc = run_here(tmp_path, monkeypatch, "solve", "run.yaml", "--no-progress")
    assert_one_line_error(proc, "cluster.security.ca_file")
    assert not (tmp_path / "data").exists()  # refused before any dataset or cluster


def test_connect_tls_failures_are_one_line(tls_cluster, tmp_path):
    from distributed.security import Security

    address, paths = tls_cluster
    good = {"tls_ca_file": str(paths["ca"]), "tls_client_cert": str(paths["cert"]),
            "tls_client_key": str(paths["key"])}
    with connect(address, security=Security(require_encryption=True, **good)) as client:
        assert client.submit(lambda v: v + 1, 1).result() == 2
    cases = [
        (address.replace("tls://", "tcp://"), None, "closed the connection"),
        (address.replace("tls://", "tcp://"), Security(require_encryption=True, **good),
         "require a tls:// scheduler"),
        (address, Security(require_encryption=True,
                           **{**good, "tls_ca_file": str(tmp_path / "nope.pem")}),
         "cannot load the TLS certificates"),
        (address, Security(require_encryption=True, **{**good, "tls_ca_file": str(paths["key"])}),
         "cannot load the TLS certificates"),
        (address, Security.temporary(), "TLS handshake"),  # a CA the scheduler does not know
    ]
    for addr, security, match in cases:
        with pytest.raises(InputError, match=match) as info:
            with connect(addr, security=security, timeout=3):
                pass
        assert "\n" not in str(info.value)


def test_embedded_cluster_with_tls():
    from distributed.security import Security

    with connect(security=Security.temporary(), n_workers=1, processes=False) as client:
        assert client.scheduler.address.startswith("tls://")
        assert client.submit(lambda v: 2 * v, 3).result() == 6


@pytest.mark.parametrize("security, match", [
    ({"ca_file": "ca.pem", "cert": "cert.pem", "key": "key.pem", "extra": 1},
     "unknown key cluster.security.extra"),
    ({"cert": "cert.pem"}, "cluster.security.ca_file is required"),
    ({"ca_file": ".", "cert": "cert.pem"}, "cluster.security.ca_file . is not a file"),
    ({"ca_file": "ca.pem", "cert": "nope.pem"}, "cluster.security.cert nope.pem does not exist"),
    ({"ca_file": "ca.pem", "cert": "cert.pem", "require_encryption": "yes"},
     "cluster.security.require_encryption must be True or False, got str"),
    ("ca.pem", "cluster.security must be a mapping"),
])
def test_security_config_errors(tmp_path, monkeypatch, security, match):
    monkeypatch.chdir(tmp_path)
    for n in ("ca", "cert", "key"):
        (tmp_path / f"{n}.pem").write_text("x")
    config = {"dataset": {"path": "d.zarr"},
              "cluster": {"scheduler": "tls://127.0.0.1:8786", "security": security}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(InputError, match=match) as info:
        load_config(tmp_path / "c.yaml")
    assert "\n" not in str(info.value)


def test_security_needs_a_tls_address(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for n in ("ca", "cert"):
        (tmp_path / f"{n}.pem").write_text("x")
    for scheduler in ("tcp://127.0.0.1:8786", None):
        config = {"dataset": {"path": "d.zarr"},
                  "cluster": {"scheduler": scheduler,
                              "security": {"ca_file": "ca.pem", "cert": "cert.pem"}}}
        (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
        with pytest.raises(InputError, match=r"cluster\.scheduler must be a tls:// address"):
            load_config(tmp_path / "c.yaml")
    config["cluster"]["scheduler"] = "tls://127.0.0.1:8786"
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    cfg = load_config(tmp_path / "c.yaml")
    assert cfg.cluster.security.key is None and cfg.cluster.security.require_encryption
    assert cfg.to_dict()["cluster"]["security"] == {"ca_file": "ca.pem", "cert": "cert.pem",
                                                    "key": None, "require_encryption": True}
