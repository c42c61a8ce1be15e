"""PC/SC reader driver (pyscard): card and tag presence at a gate reader becomes reads.

The driver waits on ``SCardGetStatusChange`` for its reader. When a card appears it connects,
asks for the UID with the PC/SC pseudo-APDU ``FF CA 00 00 00`` and emits an "insert" read; when
the card leaves it emits "remove" with the same UID. A shopper's card or phone and an item tag
are told apart by the ATR: NFC storage tags carry the PC/SC part 3 registered-application
header ``80 4F 0C A0 00 00 03 06``. pcscd going away or the reader vanishing is a fault with
reconnect; a card pulled away before its UID could be read is a counted fault.
"""

from __future__ import annotations

from smartcard import scard

from edge.drivers.base import Backoff, Driver, DriverFault, Sink

__all__ = ["GET_UID", "PcscReaderDriver", "classify_atr"]

GET_UID = [0xFF, 0xCA, 0x00, 0x00, 0x00]
STORAGE_TAG_HEADER = bytes.fromhex("804F0CA000000306")
WAIT_MS = 200  # one poll: bounded so stop() is quick


def classify_atr(atr: bytes) -> str:
    """ "tag" for an NFC storage tag (PC/SC part 3 ATR), "card" for a card or phone."""
    return "tag" if STORAGE_TAG_HEADER in atr else "card"


def _err(code: int) -> str:
    return f"{scard.SCardGetErrorMessage(code).strip()} (0x{code & 0xFFFFFFFF:08X})"


class PcscReaderDriver(Driver):
    kind = "pcsc"

    def __init__(self, reader: str, sink: Sink, *, backoff: Backoff | None = None) -> None:
        super().__init__(reader, sink, backoff=backoff)
        self._context: int | None = None
        self._state = scard.SCARD_STATE_UNAWARE
        self._present_uid: str | None = None
        self._present_kind = "card"

    def connect(self) -> None:
        code, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if code != scard.SCARD_S_SUCCESS:
            raise DriverFault(f"PC/SC service not available for reader {self.name!r}: {_err(code)}")
        self._context = context
        code, readers = scard.SCardListReaders(context, [])
        if code != scard.SCARD_S_SUCCESS or self.name not in (readers or []):
            found = ", ".join(readers or []) if code == scard.SCARD_S_SUCCESS else _err(code)
            raise DriverFault(f"PC/SC reader {self.name!r} not found (readers: {found or 'none'})")
        self._state = scard.SCARD_STATE_UNAWARE

    def disconnect(self) -> None:
        if self._present_uid is not None:
            # The reader is gone: whatever lay on it is gone for us too.
            self.emit("read", (self._present_kind, self._present_uid, "remove"))
            self._present_uid = None
        context, self._context = self._context, None
        if context is not None:
            scard.SCardReleaseContext(context)

    def poll(self) -> None:
        assert self._context is not None
        code, states = scard.SCardGetStatusChange(
            self._context, WAIT_MS, [(self.name, self._state)]
        )
        if code == scard.SCARD_E_TIMEOUT:
            return
        if code != scard.SCARD_S_SUCCESS:
            raise DriverFault(
                f"PC/SC reader {self.name!r}: waiting for a card failed: {_err(code)}"
            )
        _, event_state, atr = states[0]
        self._state = event_state & ~scard.SCARD_STATE_CHANGED
        if event_state & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
            raise DriverFault(f"PC/SC reader {self.name!r} vanished")
        present = bool(event_state & scard.SCARD_STATE_PRESENT) and not (
            event_state & scard.SCARD_STATE_MUTE
        )
        if present and self._present_uid is None:
            uid = self._read_uid()
            if uid is not None:
                self._present_uid = uid
                self._present_kind = classify_atr(bytes(atr or []))
                self.emit("read", (self._present_kind, uid, "insert"))
        elif not present and self._present_uid is not None:
            uid, self._present_uid = self._present_uid, None
            self.emit("read", (self._present_kind, uid, "remove"))

    def _read_uid(self) -> str | None:
        assert self._context is not None
        code, card, _protocol = scard.SCardConnect(
            self._context,
            self.name,
            scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        if code != scard.SCARD_S_SUCCESS:
            self.fault(
                "uid unreadable", f"reader {self.name!r}: card left before UID: {_err(code)}"
            )
            return None
        try:
            code, response = scard.SCardTransmit(card, _protocol, GET_UID)
            if code != scard.SCARD_S_SUCCESS:
                self.fault("uid unreadable", f"reader {self.name!r}: get UID failed: {_err(code)}")
                return None
            if len(response) < 2 or response[-2:] != [0x90, 0x00] or len(response) == 2:
                sw = bytes(response[-2:]).hex().upper()
                self.fault("uid unreadable", f"reader {self.name!r}: get UID refused, SW {sw}")
                return None
            return bytes(response[:-2]).hex().upper()
        finally:
            scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
