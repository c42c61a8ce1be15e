"""`cloud/pki.py` and `walkout cloud pki`: the CA, the broker's and the stores' certificates."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from typer.testing import CliRunner

from edge.cli.main import app

runner = CliRunner()


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _cn(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_cli_makes_a_ca_a_broker_and_a_store_certificate(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    result = runner.invoke(
        app, ["cloud", "pki", "init", "--out", str(pki), "--broker-host", "broker.example.net"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["cloud", "pki", "issue", "store-0042", "--ca", str(pki), "--out", str(pki / "s")]
    )
    assert result.exit_code == 0, result.output

    ca, broker, store = (
        _cert(pki / "ca.crt"),
        _cert(pki / "broker.crt"),
        _cert(pki / "s" / "store-0042.crt"),
    )
    assert _cn(store) == "store-0042"  # the broker's user name for the store
    for cert in (broker, store):
        cert.verify_directly_issued_by(ca)  # raises if the CA did not sign it
    sans = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["broker.example.net"]
    usage = store.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not store.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for key in (pki / "ca.key", pki / "broker.key", pki / "s" / "store-0042.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert isinstance(store.public_key(), ec.EllipticCurvePublicKey)


def test_cli_refuses_to_replace_a_ca_and_names_a_missing_one(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    assert runner.invoke(app, ["cloud", "pki", "init", "--out", str(pki)]).exit_code == 0
    before = (pki / "ca.key").read_bytes()
    again = runner.invoke(app, ["cloud", "pki", "init", "--out", str(pki)])
    assert again.exit_code != 0
    assert "refusing to replace" in again.output
    assert (pki / "ca.key").read_bytes() == before

    missing = runner.invoke(
        app, ["cloud", "pki", "issue", "s1", "--ca", str(tmp_path / "nope"), "--out", str(pki)]
    )
    assert missing.exit_code != 0
    assert "ca.crt: missing" in missing.output
