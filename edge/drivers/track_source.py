"""Person-track source driver: JSON-lines track frames over a local socket.

Until the vision stack (cameras -> detector -> tracker) runs live, person tracks come from
outside the process: `walkout sim live` serves the simulated session's tracks stream, and any
tracker can do the same. The wire format is one JSON object per line, exactly a row of a
session's ``tracks.jsonl`` (``{"t": ..., "people": [{"id", "x", "y", "hands"}]}``); the sender's
``t`` is ignored, the receive time counts. A line that does not parse is a counted fault and
is skipped; a dropped connection is retried with back-off.

Addresses: ``unix:/path/to/socket`` or ``tcp:host:port``.
"""

from __future__ import annotations

import json
import socket

from edge.drivers.base import Backoff, Driver, DriverFault, Sink

__all__ = ["TrackSocketDriver", "parse_people"]

Person = tuple[int, float, float, tuple[tuple[float, float, float], ...]]


def parse_people(line: bytes) -> list[Person]:
    """People of one tracks row; ValueError with the reason when the row is malformed."""
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(row, dict) or not isinstance(row.get("people"), list):
        raise ValueError('expected an object with a "people" list')
    people: list[Person] = []
    for p in row["people"]:
        try:
            pid = p["id"]
            if isinstance(pid, bool) or not isinstance(pid, int):
                raise ValueError(f"person id {pid!r} is not an integer")
            hands = tuple((float(h[0]), float(h[1]), float(h[2])) for h in p.get("hands") or ())
            if len(hands) > 2:
                raise ValueError(f"person {pid} has {len(hands)} hands (0 to 2)")
            people.append((pid, float(p["x"]), float(p["y"]), hands))
        except (KeyError, TypeError, IndexError) as exc:
            raise ValueError(f"bad person {p!r}: {exc}") from None
    return people


def _connect(address: str) -> socket.socket:
    scheme, _, rest = address.partition(":")
    if scheme == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(rest)
        return sock
    if scheme == "tcp":
        host, _, port = rest.rpartition(":")
        return socket.create_connection((host, int(port)), timeout=2.0)
    raise ValueError(f"track source address {address!r}: expected unix:PATH or tcp:HOST:PORT")


class TrackSocketDriver(Driver):
    kind = "tracks"
    MAX_LINE = 1 << 20

    def __init__(self, address: str, sink: Sink, *, backoff: Backoff | None = None) -> None:
        super().__init__(address, sink, backoff=backoff)
        self._sock: socket.socket | None = None
        self._buf = b""

    def connect(self) -> None:
        try:
            self._sock = _connect(self.name)
        except OSError as exc:
            raise DriverFault(f"track source {self.name!r}: cannot connect: {exc}") from exc
        self._sock.settimeout(0.2)
        self._buf = b""

    def disconnect(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def poll(self) -> None:
        assert self._sock is not None
        try:
            chunk = self._sock.recv(65536)
        except TimeoutError:
            return
        except OSError as exc:
            raise DriverFault(f"track source {self.name!r}: {exc}") from exc
        if not chunk:
            raise DriverFault(f"track source {self.name!r}: connection closed by the sender")
        self._buf += chunk
        *lines, self._buf = self._buf.split(b"\n")
        if len(self._buf) > self.MAX_LINE:
            self.fault("garbage", f"track source {self.name!r}: line over 1 MiB dropped")
            self._buf = b""
        for line in lines:
            if not line.strip():
                continue
            try:
                people = parse_people(line)
            except ValueError as exc:
                self.fault("garbage", f"track source {self.name!r}: bad row skipped: {exc}")
                continue
            self.emit("tracks", people)
