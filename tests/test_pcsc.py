"""PC/SC gate readers against the real stack: pcscd in the foreground with vsmartcard-vpcd's
virtual readers, our virtual card (sim/live/vcard.py) and the pyscard driver.

Each test starts pcscd itself (by pid) and stops it after; nothing else on the machine uses
pcscd. Skipped, with the reason, where pcscd or vpcd is not installed.
"""

from __future__ import annotations

import os
import queue
import shutil
import time

import pytest

from edge.drivers.base import Backoff, LiveInput
from edge.drivers.pcsc_reader import PcscReaderDriver, classify_atr
from sim.live.pcscd import list_readers, start_pcscd, stop_pcscd
from sim.live.vcard import ATR_CARD, ATR_TAG, VirtualCard, reader_slot

HAVE_STACK = bool(shutil.which("pcscd") or os.path.exists("/usr/sbin/pcscd")) and os.path.exists(
    "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
)
needs_pcscd = pytest.mark.skipif(not HAVE_STACK, reason="pcscd and vsmartcard-vpcd not installed")

ENTRY, EXIT = "Virtual PCD 00 00", "Virtual PCD 00 01"


@pytest.fixture
def pcscd():
    if list_readers():
        pytest.fail("another pcscd is already running: the PC/SC tests need their own")
    proc = start_pcscd()
    yield proc
    stop_pcscd(proc)


def _next(q: queue.Queue[LiveInput], timeout: float = 5.0) -> LiveInput:
    return q.get(timeout=timeout)


# --- the virtual card on its own (pure) --------------------------------------------------------


def test_virtual_card_answers_uid_and_atr() -> None:
    card = VirtualCard("04A1B2C3D4E5F6")
    assert card.respond(b"\x04") == ATR_CARD
    assert card.respond(b"\x01") is None  # power on: no answer
    assert card.respond(bytes.fromhex("FFCA000000")) == bytes.fromhex("04A1B2C3D4E5F69000")
    assert card.respond(bytes.fromhex("00A4040007A0000000041010")) == b"\x6d\x00"
    # ATR check byte: XOR of every byte after TS is zero for a correct ATR.
    for atr in (ATR_CARD, ATR_TAG):
        x = 0
        for b in atr[1:]:
            x ^= b
        assert x == 0


def test_atr_tells_tags_from_cards() -> None:
    assert classify_atr(ATR_TAG) == "tag"
    assert classify_atr(ATR_CARD) == "card"
    assert VirtualCard("04112233", kind="tag").respond(b"\x04") == ATR_TAG


def test_bad_uid_and_reader_names_are_refused() -> None:
    with pytest.raises(ValueError, match="4 to 10 bytes"):
        VirtualCard("04")
    assert reader_slot("Virtual PCD 00 01") == 1
    with pytest.raises(ValueError, match="not a vpcd reader"):
        reader_slot("ACS ACR122U")


def test_card_without_vpcd_is_a_clear_oserror() -> None:
    # A port nothing listens on: inserting fails loudly instead of hanging.
    with pytest.raises(OSError):
        VirtualCard("04A1B2C3", port=1).insert(timeout_s=0.5)


# --- through pcscd ------------------------------------------------------------------------------


@needs_pcscd
def test_tap_becomes_insert_and_remove_reads(pcscd) -> None:
    q: queue.Queue[LiveInput] = queue.Queue()
    driver = PcscReaderDriver(ENTRY, q.put, backoff=Backoff(0.2, 1.0))
    driver.start()
    try:
        card = VirtualCard("04A1B2C3D4E5F6", port=35963 + reader_slot(ENTRY))
        started = time.monotonic()
        card.insert()
        read = _next(q)
        assert (read.kind, read.source, read.payload) == (
            "read",
            ENTRY,
            ("card", "04A1B2C3D4E5F6", "insert"),
        )
        assert read.t_mono - started < 2.0
        assert card.apdus >= 1  # the UID came from our card over the wire
        card.remove()
        assert _next(q).payload == ("card", "04A1B2C3D4E5F6", "remove")
        # An item tag at the exit reader is a "tag" read.
        exit_driver = PcscReaderDriver(EXIT, q.put)
        exit_driver.start()
        try:
            with VirtualCard("0411223344556677", kind="tag", port=35963 + reader_slot(EXIT)):
                assert _next(q).payload == ("tag", "0411223344556677", "insert")
            assert _next(q).payload == ("tag", "0411223344556677", "remove")
        finally:
            exit_driver.stop()
        assert driver.health.faults == 0 and driver.health.items == 2
    finally:
        driver.stop()
    assert driver.health.state == "stopped"


@needs_pcscd
def test_unknown_reader_is_a_fault_naming_it(pcscd) -> None:
    q: queue.Queue[LiveInput] = queue.Queue()
    driver = PcscReaderDriver("No Such Reader 00", q.put, backoff=Backoff(0.1, 0.2))
    driver.start()
    try:
        deadline = time.monotonic() + 5
        while driver.health.faults < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        driver.stop()
    assert driver.health.faults >= 2  # retried with back-off, not given up
    assert "No Such Reader 00" in (driver.health.last_error or "")
    assert "Virtual PCD 00 00" in (driver.health.last_error or "")  # lists what is there
    assert q.empty()


@needs_pcscd
def test_reader_vanishing_and_coming_back(pcscd) -> None:
    """pcscd dies (the readers vanish), a card lying on the reader counts as removed; when
    pcscd is back the driver reconnects by itself and reads the next tap."""
    q: queue.Queue[LiveInput] = queue.Queue()
    driver = PcscReaderDriver(ENTRY, q.put, backoff=Backoff(0.2, 0.5))
    driver.start()
    card = VirtualCard("04C0FFEE000001")
    try:
        card.insert()
        assert _next(q).payload == ("card", "04C0FFEE000001", "insert")
        stop_pcscd(pcscd)
        assert _next(q).payload == ("card", "04C0FFEE000001", "remove")
        card.remove()
        deadline = time.monotonic() + 5
        while driver.health.state != "reconnecting" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert driver.health.state == "reconnecting"
        assert driver.health.faults >= 1
        proc = start_pcscd()
        try:
            deadline = time.monotonic() + 10
            while driver.health.connects < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert driver.health.connects >= 2
            with VirtualCard("04C0FFEE000002"):
                assert _next(q).payload == ("card", "04C0FFEE000002", "insert")
        finally:
            driver.stop()
            stop_pcscd(proc)
    finally:
        card.remove()
        driver.stop()
