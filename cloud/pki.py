"""A small certificate authority for the broker and the stores (TLS with client certificates).

Production MQTT runs over TLS where every client presents a certificate signed by the fleet's
CA; the broker takes the certificate's common name as the MQTT user name, so one ACL pattern
(`pattern readwrite walkout/v1/%u/#`) confines each store to its own topics. `walkout cloud pki`
makes the files: a CA, the broker's server certificate, one client certificate per store (and one
for the cloud's ingest workers). Keys are EC P-256, written with mode 0600.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Issued:
    """Paths of one issued certificate and its key (PEM)."""

    cert: Path
    key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Walkout"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _write(out_dir: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey):
    out_dir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = out_dir / f"{stem}.crt", out_dir / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(key_path, 0o600)
    return Issued(cert_path, key_path)


def create_ca(out_dir: Path, cn: str = "Walkout fleet CA", days: int = 3650) -> Issued:
    """A self-signed CA certificate and key (`ca.crt`, `ca.key`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return _write(out_dir, "ca", cert, key)


def issue(
    ca: Issued,
    cn: str,
    out_dir: Path,
    *,
    server: bool = False,
    hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
    days: int = 825,
    valid_from: dt.datetime | None = None,
) -> Issued:
    """A certificate for `cn` signed by `ca`: a client certificate (a store, the cloud) or, with
    `server`, the broker's (with `hosts` as subject alternative names). `valid_from` lets tests
    make an expired one."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    start = valid_from or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if server:
        names: list[x509.GeneralName] = []
        for h in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(h)))
            except ValueError:
                names.append(x509.DNSName(h))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    return _write(out_dir, cn, cert, key)
