"""Starting the control plane's grpcio server (inside `walkout cloud serve`, or in tests)."""

from __future__ import annotations

import logging
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine
from walkout.v1 import control_pb2_grpc

from cloud.control.service import ControlPlaneService, ServiceSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TlsFiles:
    """Server certificate and key (PEM); e.g. issued by the fleet CA (`walkout cloud pki`)."""

    cert_file: Path
    key_file: Path


@dataclass
class ControlServer:
    server: grpc.Server
    port: int
    service: ControlPlaneService

    def stop(self, grace_s: float = 2.0) -> None:
        # Streams poll context.is_active(); stopping cancels them, so they end within one poll.
        self.server.stop(grace_s).wait(grace_s + 5)


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file (`openssl genpkey -algorithm ed25519`)."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key ({type(key).__name__})")
    return key


def start_control_server(
    engine: Engine,
    settings: ServiceSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: TlsFiles | None = None,
    max_workers: int = 16,
) -> ControlServer:
    """Serve walkout.v1.ControlPlane on host:port (0: a free port); returns once listening.

    Each live StreamReceipts call holds one of `max_workers` threads while it is open.
    """
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="control")
    )
    service = ControlPlaneService(engine, settings)
    control_pb2_grpc.add_ControlPlaneServicer_to_server(service, server)
    address = f"{host}:{port}"
    if tls is None:
        bound = server.add_insecure_port(address)
    else:
        creds = grpc.ssl_server_credentials(
            [(tls.key_file.read_bytes(), tls.cert_file.read_bytes())]
        )
        bound = server.add_secure_port(address, creds)
    if bound == 0:
        raise OSError(f"gRPC: cannot listen on {address}")
    server.start()
    log.info(
        "control plane listening on %s:%d (%s, %d tokens)",
        host,
        bound,
        "TLS" if tls else "plaintext",
        len(settings.tokens),
    )
    return ControlServer(server, bound, service)
