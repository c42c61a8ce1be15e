"""A throwaway PostgreSQL server for tests: initdb in a temp folder, started and stopped by pid.

initdb and postgres refuse to run as root, so when we are root both run as the `postgres` user
(created by Debian's postgresql package) through `runuser`. The server listens on 127.0.0.1 on a
free port with trust authentication and fsync on (we test durability, not speed).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cloud.broker import free_port


def find_pg_bin() -> Path | None:
    """The folder holding initdb/postgres/pg_isready (Debian keeps them off PATH)."""
    found = shutil.which("initdb")
    if found:  # often a symlink into /usr/lib/postgresql/<v>/bin, where pg_isready also lives
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


@dataclass
class Postgres:
    folder: Path
    port: int
    bin_dir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_owner(self, args: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *args]
        return args

    def start(self, timeout: float = 30.0) -> Postgres:
        data = self.folder / "data"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        subprocess.run(
            self._as_owner(
                [str(self.bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
            ),
            check=True,
            capture_output=True,
        )
        log = (self.folder / "postgres.log").open("ab")
        self.process = subprocess.Popen(
            self._as_owner(
                [
                    str(self.bin_dir / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(self.port),
                    "-h",
                    "127.0.0.1",
                    "-k",
                    str(self.folder),  # unix socket in our folder, not /var/run/postgresql
                ]
            ),
            stdout=log,
            stderr=log,
        )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.folder / 'postgres.log').read_text()}")
            ready = subprocess.run(
                [str(self.bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        raise TimeoutError(f"postgres did not accept connections on port {self.port}")

    def stop(self) -> None:
        """Fast shutdown: SIGINT to the postmaster itself (runuser does not forward it)."""
        if self.process is not None and self.process.poll() is None:
            pid_file = self.folder / "data" / "postmaster.pid"
            try:
                postmaster = int(pid_file.read_text().split()[0])
                os.kill(postmaster, signal.SIGINT)
            except (OSError, ValueError, IndexError):
                self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        shutil.rmtree(self.folder, ignore_errors=True)


def start_postgres() -> Postgres:
    """Start a server in a new temp folder; raises FileNotFoundError when not installed."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL server binaries not found (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="walkout-pg-"))
    os.chmod(folder, 0o755)
    return Postgres(folder, free_port(), bin_dir).start()
