"""Starting the control plane's grpcio server (inside `walkout cloud serve`, or in tests)."""

from __future__ import annotations

import logging
import os
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine
from walkout.v1 import control_pb2_grpc

from cloud.control.auth import Caller, TokenFileError, TokenTable
from cloud.control.publisher import RetainedPublisher
from cloud.control.service import ControlPlaneService, ServiceSettings
from cloud.db import make_engine
from edge.link.mqtt import BrokerAddress

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


@dataclass(frozen=True)
class ControlOptions:
    """How `walkout cloud serve --grpc-port` runs the control plane (docs/control-plane.md)."""

    port: int
    host: str = "127.0.0.1"
    tokens_file: Path | None = None  # YAML token file (cloud/control/auth.py)
    admin_token_env: str | None = None  # an all-stores token from this environment variable
    signing_key: Path | None = None  # Ed25519 PEM; without it pushes are refused
    key_id: str = "cloud-1"
    model_dir: Path | None = None
    tls: TlsFiles | None = None
    broker: BrokerAddress | None = None  # where pushes are published; None: refused
    topic_prefix: str = "walkout/v1"


def load_tokens(options: ControlOptions) -> TokenTable:
    """The token table of `options`: the file's tokens plus the admin token; ValueError (with
    the file or variable named) when unusable or when there is no token at all."""
    entries: list[tuple[str, Caller]] = []
    if options.tokens_file is not None:
        table = TokenTable.load(options.tokens_file)
        entries.extend(table.entries())
    if options.admin_token_env:
        token = os.environ.get(options.admin_token_env)
        if not token:
            raise TokenFileError(
                f"--grpc-admin-token-env: environment variable {options.admin_token_env} is not set"
            )
        entries.append((token, Caller("admin", None)))
    if not entries:
        raise TokenFileError(
            "the control plane needs callers: --grpc-tokens FILE or --grpc-admin-token-env VAR"
        )
    return TokenTable(entries)


def check_control_options(options: ControlOptions) -> None:
    """Fail at start-up, naming the option, rather than on the first call."""
    load_tokens(options)
    if options.signing_key is not None:
        load_signing_key(options.signing_key)
    if options.model_dir is not None and not options.model_dir.is_dir():
        raise ValueError(f"--model-dir {options.model_dir}: not a folder")
    if options.tls is not None:
        for f in (options.tls.cert_file, options.tls.key_file):
            if not f.is_file():
                raise ValueError(f"--grpc-tls-cert/--grpc-tls-key: {f}: no such file")


def start_control(url: str, options: ControlOptions) -> RunningControl:
    """Start the control plane of `walkout cloud serve` on its own engine; stop() ends it."""
    check_control_options(options)
    engine = make_engine(url)
    publisher = RetainedPublisher(options.broker) if options.broker is not None else None
    settings = ServiceSettings(
        tokens=load_tokens(options),
        signing_key=load_signing_key(options.signing_key) if options.signing_key else None,
        key_id=options.key_id,
        publisher=publisher,
        model_dir=options.model_dir,
        topic_prefix=options.topic_prefix,
    )
    server = start_control_server(
        engine, settings, host=options.host, port=options.port, tls=options.tls
    )
    return RunningControl(server, engine, publisher)


@dataclass
class RunningControl:
    server: ControlServer
    engine: Engine
    publisher: RetainedPublisher | None

    @property
    def port(self) -> int:
        return self.server.port

    def stop(self) -> None:
        self.server.stop()
        if self.publisher is not None:
            self.publisher.close()
        self.engine.dispose()
