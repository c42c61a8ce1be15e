"""A virtual contactless card for vsmartcard's `vpcd` reader driver (Debian's vicc is broken).

vpcd (loaded by pcscd) listens on 127.0.0.1:35963 for reader slot 0, the next port for slot 1.
A card is a TCP client: connecting inserts it, closing the socket removes it. Every message in
both directions is a 2-byte big-endian length and a payload. A 1-byte payload from vpcd is a
control code (0 power off, 1 power on, 2 reset, 4 "send your ATR"); anything longer is an APDU,
answered with response data and a status word. Our card answers the PC/SC "get data: UID"
pseudo-APDU ``FF CA 00 00 00`` with its UID and ``90 00``; everything else gets ``6D 00``
(instruction not supported), which is what a payment card or phone says to a reader it ignores.

Two kinds, told apart the way real readers tell them apart, by the ATR: a shopper's card or
phone (ISO 14443-4) and an item tag (an NFC storage tag; PC/SC part 3 ATR with the
``80 4F 0C A0 00 00 03 06`` registered-application header).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from typing import Literal

__all__ = [
    "ATR_CARD",
    "ATR_TAG",
    "STORAGE_TAG_HEADER",
    "VPCD_BASE_PORT",
    "VirtualCard",
    "reader_slot",
]

VPCD_BASE_PORT = 35963

# ISO 14443-4 type A card / phone: 3B 8n 80 01, historical bytes, TCK (PC/SC part 3, 3.1.3.2.3.2).
ATR_CARD_BODY = bytes.fromhex("3B8880014E4643574B4F5554")
# NFC Forum type 2 tag (Mifare Ultralight) as a PC/SC storage card: RID A0 00 00 03 06, standard
# 03 (ISO 14443 A part 3), card name 00 03.
ATR_TAG_BODY = bytes.fromhex("3B8F8001804F0CA00000030603000300000000")

_GET_UID = bytes.fromhex("FFCA000000")
_SW_OK = b"\x90\x00"
_SW_INS_NOT_SUPPORTED = b"\x6d\x00"


def _with_tck(atr: bytes) -> bytes:
    """Append the ATR check byte (XOR of every byte after TS) when T=1 is announced."""
    tck = 0
    for b in atr[1:]:
        tck ^= b
    return atr + bytes([tck])


ATR_CARD = _with_tck(ATR_CARD_BODY)
ATR_TAG = _with_tck(ATR_TAG_BODY)
STORAGE_TAG_HEADER = bytes.fromhex("804F0CA000000306")


def reader_slot(reader: str) -> int:
    """Slot of a vpcd reader from its PC/SC name ("Virtual PCD 00 01" -> 1)."""
    parts = reader.split()
    if len(parts) < 2 or not parts[-1].isdigit():
        raise ValueError(f"reader {reader!r} is not a vpcd reader name like 'Virtual PCD 00 01'")
    return int(parts[-1])


class VirtualCard:
    """One card or tag that can be inserted into (presented to) a vpcd reader slot and removed.

    ``insert`` connects and answers vpcd from a background thread until ``remove``.
    """

    def __init__(
        self,
        uid: str,
        *,
        kind: Literal["card", "tag"] = "card",
        host: str = "127.0.0.1",
        port: int = VPCD_BASE_PORT,
    ) -> None:
        self.uid = bytes.fromhex(uid)
        if not 4 <= len(self.uid) <= 10:
            raise ValueError(f"uid {uid!r}: a contactless UID is 4 to 10 bytes")
        self.atr = ATR_TAG if kind == "tag" else ATR_CARD
        self.kind = kind
        self.host = host
        self.port = port
        self.apdus = 0
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def inserted(self) -> bool:
        return self._sock is not None

    def insert(self, timeout_s: float = 2.0) -> None:
        """Connect to vpcd: pcscd now sees a card in the reader. Raises OSError if vpcd is not
        listening (pcscd not running, or the vsmartcard-vpcd driver not installed)."""
        if self._sock is not None:
            return
        sock = socket.create_connection((self.host, self.port), timeout=timeout_s)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._thread = threading.Thread(
            target=self._serve, args=(sock,), name=f"vcard-{self.port}", daemon=True
        )
        self._thread.start()

    def remove(self) -> None:
        """Close the connection: pcscd sees the card removed."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def respond(self, message: bytes) -> bytes | None:
        """The card's answer to one vpcd message (None: control code with no answer)."""
        if len(message) == 1:
            return self.atr if message[0] == 4 else None
        self.apdus += 1
        if message == _GET_UID:
            return self.uid + _SW_OK
        return _SW_INS_NOT_SUPPORTED

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                head = _recv_exact(sock, 2)
                if head is None:
                    return
                (length,) = struct.unpack(">H", head)
                message = _recv_exact(sock, length) if length else b""
                if message is None:
                    return
                answer = self.respond(message)
                if answer is not None:
                    sock.sendall(struct.pack(">H", len(answer)) + answer)
        except OSError:
            return  # removed (socket closed under us) or vpcd went away

    def __enter__(self) -> VirtualCard:
        self.insert()
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf
