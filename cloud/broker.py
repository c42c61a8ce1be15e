"""Start and stop a private mosquitto on 127.0.0.1 (tests, benchmarks, `walkout demo`).

Debian's mosquitto 2.0 started as root drops to user `mosquitto` and then cannot write its
persistence file in our temp folder, so the config says `user root` when we are root. Persistence is
on with a 1 s autosave, like a production broker; it is still not a durable queue (a SIGKILL loses
what arrived since the last save), which is why the edge keeps its own outbox.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


def find_mosquitto() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mosquitto:
    """A mosquitto process we started; `stop()` or `kill()` it by pid."""

    folder: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    # Users and ACL (mosquitto_passwd file, acl_file); None: anonymous access (tests, demo).
    password_file: Path | None = None
    acl_file: Path | None = None
    # TLS with client certificates (production): (ca, server cert, server key) PEM paths. Every
    # client must present a certificate the CA signed; its CN becomes the MQTT user name, so
    # the ACL's %u patterns apply per store without passwords.
    tls: tuple[Path, Path, Path] | None = None

    @property
    def config_path(self) -> Path:
        return self.folder / "mosquitto.conf"

    def write_config(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} 127.0.0.1",
            f"allow_anonymous {'false' if self.password_file or self.tls else 'true'}",
            "persistence true",
            f"persistence_location {self.folder}/",
            "autosave_interval 1",
            "max_queued_messages 0",  # unlimited; the edge window bounds what is in flight
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        if self.tls is not None:
            ca, cert, key = self.tls
            lines += [
                f"cafile {ca}",
                f"certfile {cert}",
                f"keyfile {key}",
                "require_certificate true",
                "use_identity_as_username true",
                "tls_version tlsv1.2",
            ]
        if self.password_file is not None:
            lines.append(f"password_file {self.password_file}")
        if self.acl_file is not None:
            lines.append(f"acl_file {self.acl_file}")
        if os.geteuid() == 0:
            lines.append("user root")
        self.config_path.write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 10.0) -> Mosquitto:
        binary = find_mosquitto()
        if binary is None:
            raise FileNotFoundError("mosquitto is not installed (apt-get install mosquitto)")
        self.write_config()
        log = (self.folder / "mosquitto.log").open("ab")
        self.process = subprocess.Popen(
            [binary, "-c", str(self.config_path)], stdout=log, stderr=log
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited with {self.process.returncode}: "
                    f"{(self.folder / 'mosquitto.log').read_text()[-2000:]}"
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise TimeoutError(f"mosquitto did not listen on 127.0.0.1:{self.port} in {timeout} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> int | None:
        """SIGKILL (a broker crash); returns the exit status (-9)."""
        if self.process is None:
            return None
        self.process.kill()
        code = self.process.wait()
        self.process = None
        return code


def start_mosquitto(folder: Path, port: int | None = None) -> Mosquitto:
    return Mosquitto(folder, port or free_port()).start()
