"""What every sensor driver shares: a thread, reconnect with capped exponential back-off, health.

A driver's life is ``connect -> poll, poll, poll... -> (fault) -> disconnect -> wait -> connect``.
``poll`` raises :class:`DriverFault` with a message naming the device and the problem; the base
class counts and logs it, waits (1 s, 2 s, 4 s ... up to ``max_s``, reset once data flows again)
and reconnects. ``stop()`` ends the loop at the next poll (polls block for at most ~0.2 s).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Backoff", "Driver", "DriverFault", "DriverHealth", "LiveInput", "Sink"]

log = logging.getLogger("walkout.drivers")


@dataclass(frozen=True, slots=True)
class LiveInput:
    """One thing a driver received. ``t_mono`` is ``time.monotonic()`` at receipt; ``kind`` is
    "shelf" (payload: bytes), "read" (payload: (kind, uid, event)), "tracks" (payload: a list of
    (id, x, y, hands)) or "frame" (payload: an image array); ``source`` is the port, reader name,
    track source or camera id."""

    t_mono: float
    kind: str
    source: str
    payload: Any


Sink = Callable[[LiveInput], None]


class DriverFault(Exception):
    """A device problem worth a reconnect: the message names the device and what went wrong."""


@dataclass
class DriverHealth:
    name: str
    kind: str
    state: str = "starting"  # starting, connected, reconnecting, stopped
    connects: int = 0
    faults: int = 0
    items: int = 0
    last_error: str | None = None
    last_data_mono: float | None = None
    fault_kinds: dict[str, int] = field(default_factory=dict)

    def as_dict(self, now_mono: float) -> dict[str, Any]:
        out = asdict(self)
        last = out.pop("last_data_mono")
        out["data_age_s"] = None if last is None else round(now_mono - last, 3)
        return out


class Backoff:
    """Capped exponential back-off: ``next()`` gives 1, 2, 4 ... ``max_s`` seconds."""

    def __init__(self, initial_s: float = 1.0, max_s: float = 30.0, factor: float = 2.0) -> None:
        if initial_s <= 0 or max_s < initial_s or factor < 1:
            raise ValueError("back-off needs 0 < initial_s <= max_s and factor >= 1")
        self.initial_s = initial_s
        self.max_s = max_s
        self.factor = factor
        self._next = initial_s

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * self.factor, self.max_s)
        return delay

    def reset(self) -> None:
        self._next = self.initial_s


class Driver:
    """Base class: subclasses implement ``connect``, ``poll`` (one bounded wait) and
    ``disconnect``; ``emit`` hands data on and marks the device alive."""

    kind = "driver"

    def __init__(self, name: str, sink: Sink, *, backoff: Backoff | None = None) -> None:
        self.name = name
        self.sink = sink
        self.backoff = backoff or Backoff()
        self.health = DriverHealth(name=name, kind=self.kind)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # --- for subclasses ---------------------------------------------------------------------

    def connect(self) -> None:
        raise NotImplementedError

    def poll(self) -> None:
        raise NotImplementedError

    def disconnect(self) -> None:
        raise NotImplementedError

    def emit(self, kind: str, payload: Any, t_mono: float | None = None) -> None:
        now = time.monotonic() if t_mono is None else t_mono
        self.health.items += 1
        if self.health.last_data_mono is None or self.health.state != "connected":
            self.backoff.reset()
        self.health.last_data_mono = now
        self.sink(LiveInput(now, kind, self.name, payload))

    def fault(self, kind: str, message: str) -> None:
        """Count and log a fault that does not need a reconnect (garbage, a failed read)."""
        with self._lock:
            self.health.faults += 1
            self.health.fault_kinds[kind] = self.health.fault_kinds.get(kind, 0) + 1
            self.health.last_error = message
        log.warning("%s %s: %s", self.kind, self.name, message)

    # --- life cycle -------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"{self.kind}:{self.name}")
        self._thread.daemon = True
        self._thread.start()

    def stop(self, join_s: float = 3.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=join_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.connect()
                self.health.connects += 1
                self.health.state = "connected"
                log.info("%s %s: connected", self.kind, self.name)
                while not self._stop.is_set():
                    self.poll()
            except DriverFault as exc:
                self.fault("disconnected", str(exc))
            except Exception as exc:  # a driver bug must not kill the thread silently
                self.fault("driver error", f"unexpected {type(exc).__name__}: {exc}")
            finally:
                try:
                    self.disconnect()
                except Exception as exc:  # closing a broken device may fail too: ignore
                    log.debug("%s %s: disconnect failed: %s", self.kind, self.name, exc)
            if self._stop.is_set():
                break
            self.health.state = "reconnecting"
            delay = self.backoff.next()
            log.info("%s %s: reconnecting in %.1f s", self.kind, self.name, delay)
            self._stop.wait(delay)
        self.health.state = "stopped"
