"""Driver plugins by config ``type``: which class reads each device the store config names.

Every driver kind in the config is a pydantic discriminated union on ``type``
(edge/config/models.py): shelf controllers (``serial-walkout-lc1``), gate readers (``pcsc``),
cameras (``opencv``) and the track source (``jsonl-socket``). :func:`build_drivers` turns a
config into driver objects. A plugin whose vendor library cannot be imported (pyscard, OpenCV,
pyserial missing or broken) does not stop the store: that one device gets an
:class:`UnavailableDriver` that logs a clear error and reports itself faulted (state
``unavailable``, visible in the status and in ``/readyz``), and every other driver runs.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge.config.models import StoreConfig
from edge.drivers.base import Backoff, Driver, Sink

__all__ = ["PLUGINS", "UnavailableDriver", "build_drivers"]

log = logging.getLogger("walkout.drivers.registry")


@dataclass(frozen=True)
class Plugin:
    """Where a driver type lives: ``module:Class``, the vendor library it needs, its kind."""

    module: str
    cls: str
    vendor: str  # the library named in the error when the import fails
    kind: str  # the Driver.kind, also for the stand-in when it is unavailable


PLUGINS: dict[str, Plugin] = {
    "serial-walkout-lc1": Plugin(
        "edge.drivers.serial_shelf", "SerialShelfDriver", "pyserial", "serial"
    ),
    "pcsc": Plugin("edge.drivers.pcsc_reader", "PcscReaderDriver", "pyscard", "reader"),
    "opencv": Plugin("edge.drivers.camera", "OpenCvCameraDriver", "opencv-python", "camera"),
    "jsonl-socket": Plugin(
        "edge.drivers.track_source", "TrackSocketDriver", "the stdlib", "tracks"
    ),
}


class UnavailableDriver(Driver):
    """Stands in for a driver whose plugin could not be loaded: never connects, reports why."""

    def __init__(self, name: str, kind: str, message: str, sink: Sink) -> None:
        self.kind = kind
        super().__init__(name, sink)
        self.message = message

    def _run(self) -> None:
        self.health.state = "unavailable"
        self.fault("plugin unavailable", self.message)
        self._stop.wait()
        self.health.state = "stopped"


def _load(type_: str) -> tuple[type[Driver] | None, str]:
    plugin = PLUGINS[type_]
    try:
        module = importlib.import_module(plugin.module)
    except ImportError as exc:  # the vendor library is missing or broken
        return None, (
            f"driver type {type_!r} needs {plugin.vendor}, which cannot be imported ({exc}); "
            f"install it (pip install 'walkout[edge]') to use this device"
        )
    return getattr(module, plugin.cls), ""


def build_drivers(
    config: StoreConfig,
    put: Sink,
    put_frame: Sink,
    backoff: Callable[[], Backoff],
    *,
    cameras: bool = True,
) -> list[Driver]:
    """One driver per device of the config (one per distinct serial port), in a stable order."""
    drivers: list[Driver] = []

    def make(type_: str, name: str, sink: Sink, *args: Any) -> None:
        cls, error = _load(type_)
        if cls is None:
            log.error("%s %s: %s", PLUGINS[type_].kind, name, error)
            drivers.append(UnavailableDriver(name, PLUGINS[type_].kind, error, sink))
        else:
            drivers.append(cls(*args, sink, backoff=backoff()))

    ports: dict[str, tuple[str, int]] = {}
    for gondola in config.gondolas:
        for shelf in gondola.shelves:
            ctl = shelf.controller
            ports.setdefault(ctl.port, (ctl.type, ctl.baud))
    for port, (type_, baud) in sorted(ports.items()):
        make(type_, port, put, port, baud)
    readers: dict[str, str] = {}
    for gate in config.gates:
        for reader in gate.readers:
            readers.setdefault(reader, gate.reader_driver.type)
    for reader, type_ in sorted(readers.items()):
        make(type_, reader, put, reader)
    source = config.track_source
    if source is not None:
        make(source.type, source.address, put, source.address)
    if cameras:
        for cam in config.cameras:
            make(cam.type, cam.id, put_frame, cam.id, cam.source, cam.fps)
    return drivers
