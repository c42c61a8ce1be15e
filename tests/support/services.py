"""pytest fixtures: a private mosquitto per test and a PostgreSQL server per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud.broker import Mosquitto, find_mosquitto, start_mosquitto
from support.postgres import Postgres, find_pg_bin, start_postgres

needs_mosquitto = pytest.mark.skipif(
    find_mosquitto() is None, reason="mosquitto is not installed (apt-get install mosquitto)"
)
needs_postgres = pytest.mark.skipif(
    find_pg_bin() is None,
    reason="PostgreSQL server binaries not found (apt-get install postgresql)",
)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    started = start_mosquitto(tmp_path / "mosquitto")
    yield started
    started.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    server = start_postgres()
    yield server
    server.stop()
