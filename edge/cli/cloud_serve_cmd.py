"""`walkout cloud serve`: the cloud ingest service (MQTT in, database, acknowledgements)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import typer

from edge.cli.errors import UserError, user_errors


def _broker(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"--broker {value!r}: expected HOST:PORT, e.g. 127.0.0.1:1883")
    return host, int(port)


def serve(
    broker: str = typer.Option("127.0.0.1:1883", "--broker", help="MQTT broker HOST:PORT."),
    database: str = typer.Option(
        "sqlite:///walkout-cloud.sqlite",
        "--db",
        help="SQLAlchemy database URL: sqlite:///file.sqlite (default) or "
        "postgresql://user@host:port/db for production.",
    ),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Ingest worker processes."),
    allow_store: list[str] = typer.Option(
        [], "--allow-store", help="Accept only these store ids (repeatable); default: any store."
    ),
    username: str | None = typer.Option(None, "--username", help="Broker user name."),
    password_env: str | None = typer.Option(
        None, "--password-env", help="Environment variable holding the broker password."
    ),
    prefix: str = typer.Option("walkout/v1", "--topic-prefix", help="Root of the topic tree."),
    http_port: int | None = typer.Option(
        None, "--http-port", help="Serve the operator dashboard on this port (docs/dashboard.md)."
    ),
    http_host: str = typer.Option("127.0.0.1", "--http-host", help="Dashboard listen address."),
    dashboard_users: Path | None = typer.Option(
        None, "--dashboard-users", help="YAML users file of the dashboard (needs --http-port)."
    ),
    store_configs: Path | None = typer.Option(
        None, "--store-configs", help="Folder of <store_id>.yaml store configs (floor maps)."
    ),
    grpc_port: int | None = typer.Option(
        None,
        "--grpc-port",
        help="Serve the gRPC control plane on this port (docs/control-plane.md).",
    ),
    grpc_host: str = typer.Option("127.0.0.1", "--grpc-host", help="Control plane listen address."),
    grpc_tokens: Path | None = typer.Option(
        None, "--grpc-tokens", help="YAML file of the control plane's bearer tokens."
    ),
    grpc_admin_token_env: str | None = typer.Option(
        None, "--grpc-admin-token-env", help="Environment variable with an all-stores token."
    ),
    signing_key: Path | None = typer.Option(
        None, "--signing-key", help="Ed25519 private key (PEM) that signs pushed bundles."
    ),
    signing_key_id: str = typer.Option(
        "cloud-1", "--signing-key-id", help="Key id the stores trust the signing key by."
    ),
    model_dir: Path | None = typer.Option(
        None, "--model-dir", help="Models served by GetModel: <dir>/<name>/<version>.onnx."
    ),
    grpc_tls_cert: Path | None = typer.Option(
        None, "--grpc-tls-cert", help="Control plane TLS certificate (PEM); needs --grpc-tls-key."
    ),
    grpc_tls_key: Path | None = typer.Option(None, "--grpc-tls-key", help="Its private key."),
) -> None:
    """Run ingest workers: validate, store once, acknowledge to the stores (docs/cloud.md)."""
    from cloud.ingest import IngestSettings
    from cloud.serve import serve as run
    from edge.link.mqtt import BrokerAddress

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with user_errors():
        host, port = _broker(broker)
        password = None
        if password_env:
            password = os.environ.get(password_env)
            if password is None:
                raise UserError(f"--password-env: environment variable {password_env} is not set")
        settings = IngestSettings(
            broker=BrokerAddress(host=host, port=port, username=username, password=password),
            prefix=prefix,
            allowed_stores=frozenset(allow_store) if allow_store else None,
        )
        dashboard = None
        if http_port is not None:
            from cloud.dashboard.server import DashboardOptions, check_options

            if dashboard_users is None:
                raise UserError("--http-port needs --dashboard-users FILE (docs/dashboard.md)")
            dashboard = DashboardOptions(http_port, dashboard_users, http_host, store_configs)
            try:
                check_options(dashboard)
            except ValueError as exc:
                raise UserError(str(exc)) from None
        control = None
        if grpc_port is not None:
            from cloud.control.server import ControlOptions, TlsFiles, check_control_options

            if (grpc_tls_cert is None) != (grpc_tls_key is None):
                raise UserError("--grpc-tls-cert and --grpc-tls-key go together")
            control = ControlOptions(
                port=grpc_port,
                host=grpc_host,
                tokens_file=grpc_tokens,
                admin_token_env=grpc_admin_token_env,
                signing_key=signing_key,
                key_id=signing_key_id,
                model_dir=model_dir,
                tls=TlsFiles(grpc_tls_cert, grpc_tls_key)
                if grpc_tls_cert and grpc_tls_key
                else None,
                broker=settings.broker,
                topic_prefix=prefix,
            )
            try:
                check_control_options(control)
            except ValueError as exc:
                raise UserError(str(exc)) from None
        typer.echo(f"walkout cloud serve: {workers} worker(s), broker {host}:{port}, db {database}")
        if dashboard is not None:
            typer.echo(f"dashboard: http://{http_host}:{http_port}/")
        if control is not None:
            typer.echo(f"control plane: grpc {grpc_host}:{grpc_port}")
        run(database, settings, workers, dashboard, control)
