"""Shelf-controller driver: raw walkout-lc1 bytes from a serial port or pyserial URL.

It only moves bytes (framing, garbage and lost frames are the decoder's business, in the
deterministic core). A port that is missing, unplugged (EIO on a pty whose other end closed,
ENXIO/ENODEV on a USB adapter pulled out) or refused is a fault; the driver reopens it with
back-off, so a controller plugged back in (or a simulator restarted) is picked up again.
"""

from __future__ import annotations

from edge.drivers.base import Backoff, Driver, DriverFault, Sink
from edge.shelf.serial_source import SerialByteSource, SerialPortError

__all__ = ["SerialShelfDriver"]


class SerialShelfDriver(Driver):
    kind = "serial"

    def __init__(self, port: str, baud: int, sink: Sink, *, backoff: Backoff | None = None) -> None:
        super().__init__(port, sink, backoff=backoff)
        self.source = SerialByteSource(port, baud, read_timeout_s=0.1)

    def connect(self) -> None:
        try:
            self.source.open()
        except SerialPortError as exc:
            raise DriverFault(str(exc)) from exc

    def poll(self) -> None:
        try:
            data = self.source.read_chunk(65536)
        except SerialPortError as exc:
            raise DriverFault(f"{exc} (unplugged?)") from exc
        if data:
            self.emit("shelf", data)

    def disconnect(self) -> None:
        self.source.close()
