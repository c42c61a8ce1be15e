"""Run the dashboard (uvicorn) in a thread of `walkout cloud serve`, next to the ingest worker."""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from cloud import db
from cloud.dashboard.app import DashboardSettings, make_app
from cloud.dashboard.auth import SessionSigner, load_users

log = logging.getLogger(__name__)
SECRET_ENV = "WALKOUT_DASHBOARD_SECRET"


@dataclass
class DashboardOptions:
    port: int
    users_file: Path
    host: str = "127.0.0.1"
    store_configs: Path | None = None
    session_ttl_s: float = 8 * 3600.0
    secure_cookie: bool = False


@dataclass
class RunningDashboard:
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def check_options(options: DashboardOptions) -> None:
    """Fail at start-up, naming the file, rather than at the first login."""
    load_users(options.users_file)
    if options.store_configs is not None and not options.store_configs.is_dir():
        raise ValueError(f"--store-configs {options.store_configs}: not a folder")


def start_dashboard(url: str, options: DashboardOptions) -> RunningDashboard:
    """Serve the dashboard on host:port in a daemon thread; returns once it listens."""
    users = load_users(options.users_file)
    # Sessions are signed with this secret: set it (the same on every dashboard process) to keep
    # sessions across restarts; otherwise a fresh one logs everyone out at each start.
    secret_hex = os.environ.get(SECRET_ENV)
    secret = secret_hex.encode() if secret_hex else secrets.token_bytes(32)
    settings = DashboardSettings(
        users=users,
        signer=SessionSigner(secret, options.session_ttl_s),
        store_configs=options.store_configs,
        secure_cookie=options.secure_cookie,
    )
    running = run_app(make_app(db.make_engine(url), settings), options.host, options.port)
    log.info("dashboard on http://%s:%d/ (%d users)", options.host, options.port, len(users))
    return running


def run_app(app: Any, host: str, port: int) -> RunningDashboard:
    """Serve an ASGI app with uvicorn in a daemon thread; returns once it listens."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="dashboard", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise RuntimeError(f"dashboard did not start on {host}:{port}")
    return RunningDashboard(server, thread)
