"""Thin serial driver for shelf controllers: raw bytes from any pyserial port or URL.

:class:`SerialByteSource` opens a port with :func:`serial.serial_for_url`, so the same code reads
a USB-serial adapter (``/dev/ttyUSB0``), a pty (simulator, tests), a TCP serial server
(``socket://host:port``) or pyserial's in-process ``loop://``. It only moves bytes; framing is
:class:`edge.shelf.protocol.FrameParser`'s job. There is no reconnect logic yet: errors surface as
:class:`SerialPortError` naming the port and the OS problem, and the caller decides what to do.
"""

from __future__ import annotations

import errno as _errno
from types import TracebackType

import serial

__all__ = ["DEFAULT_BAUD", "DEFAULT_READ_TIMEOUT_S", "SerialByteSource", "SerialPortError"]

DEFAULT_BAUD = 115200
DEFAULT_READ_TIMEOUT_S = 0.05


class SerialPortError(OSError):
    """A serial port could not be opened or read. ``port`` is the URL; ``errno`` is set when the
    OS gave one (e.g. ENOENT for a missing device, EACCES for a missing dialout group)."""

    def __init__(self, port: str, message: str, errno: int | None = None) -> None:
        if errno is not None:
            super().__init__(errno, message)
        else:
            super().__init__(message)
        self.port = port
        self.message = message

    def __str__(self) -> str:
        return self.message


def _os_reason(exc: BaseException) -> tuple[str, int | None]:
    """Best short description of why pyserial failed, and the errno if there is one."""
    # pyserial wraps the OSError from os.open() in SerialException(errno, "could not open port
    # X: [Errno N] ..."); prefer the OS's own wording over the nested repr.
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno is not None:
            code = cause.errno
            name = _errno.errorcode.get(code, str(code))
            text = cause.strerror if isinstance(cause.strerror, str) else str(cause)
            # SerialException's own strerror already carries the nested "[Errno N] ..." text.
            if "[Errno" in text:
                text = text.split("] ", 1)[-1].split(": '", 1)[0]
            return f"{text} ({name})", code
        cause = cause.__cause__ or cause.__context__
    return str(exc) or type(exc).__name__, None


class SerialByteSource:
    """Reads raw bytes from one serial port or pyserial URL.

    ``read_chunk`` returns as soon as any bytes are available (up to ``max_bytes``) and waits at
    most ``read_timeout_s`` when none are, returning ``b""``; that keeps latency at the serial
    line's own pace rather than a fixed read size's.
    """

    def __init__(
        self,
        url: str,
        baud: int = DEFAULT_BAUD,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
    ) -> None:
        if baud <= 0:
            raise ValueError(f"baud must be positive, got {baud}")
        if read_timeout_s < 0:
            raise ValueError(f"read_timeout_s must be >= 0, got {read_timeout_s}")
        self.url = url
        self.baud = baud
        self.read_timeout_s = read_timeout_s
        self._port: serial.SerialBase | None = None

    @property
    def is_open(self) -> bool:
        """Whether the port is currently open."""
        return self._port is not None and bool(self._port.is_open)

    def open(self) -> None:
        """Open the port. Raises :class:`SerialPortError` naming the port and the reason."""
        if self.is_open:
            return
        try:
            port = serial.serial_for_url(
                self.url, baudrate=self.baud, timeout=self.read_timeout_s, do_not_open=True
            )
            port.open()
        except (serial.SerialException, OSError, ValueError) as exc:
            # ValueError: unknown URL scheme or a setting the port rejects.
            reason, code = _os_reason(exc)
            raise SerialPortError(
                self.url,
                f"cannot open serial port {self.url!r} at {self.baud} baud: {reason}",
                code,
            ) from exc
        self._port = port

    def close(self) -> None:
        """Close the port; closing a closed source is a no-op."""
        port, self._port = self._port, None
        if port is not None:
            port.close()

    def __enter__(self) -> SerialByteSource:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def write(self, data: bytes) -> int:
        """Write ``data`` to the port (for ``loop://`` tests and future board commands)."""
        port = self._port
        if port is None or not port.is_open:
            raise SerialPortError(self.url, f"serial port {self.url!r} is not open")
        try:
            return int(port.write(data) or 0)
        except (serial.SerialException, OSError) as exc:
            reason, code = _os_reason(exc)
            raise SerialPortError(
                self.url, f"writing serial port {self.url!r} failed: {reason}", code
            ) from exc

    def read_chunk(self, max_bytes: int = 4096) -> bytes:
        """Return up to ``max_bytes`` bytes, or ``b""`` if none arrived within the read timeout."""
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
        port = self._port
        if port is None or not port.is_open:
            raise SerialPortError(self.url, f"serial port {self.url!r} is not open")
        try:
            # read(n) would wait for all n bytes or the full timeout; instead block for the first
            # byte only, then take whatever else is already waiting.
            first = port.read(1)
            if not first:
                return b""
            waiting = min(port.in_waiting, max_bytes - 1)
            return first + port.read(waiting) if waiting > 0 else first
        except (serial.SerialException, OSError) as exc:
            reason, code = _os_reason(exc)
            raise SerialPortError(
                self.url, f"reading serial port {self.url!r} failed: {reason}", code
            ) from exc
