"""Start and stop a foreground pcscd (with vsmartcard-vpcd's virtual readers) by pid.

For tests and `walkout sim live --pcscd` on a machine without a pcscd service: the daemon is
our child, started in the foreground, stopped with SIGTERM (then SIGKILL) by its pid.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["PcscdError", "list_readers", "running_pcscd", "start_pcscd", "stop_pcscd"]

VPCD_READERS = ("Virtual PCD 00 00", "Virtual PCD 00 01")


class PcscdError(RuntimeError):
    pass


def list_readers() -> list[str]:
    """Reader names pcscd offers now ([] when pcscd is not running)."""
    from smartcard import scard

    code, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if code != scard.SCARD_S_SUCCESS:
        return []
    try:
        code, readers = scard.SCardListReaders(context, [])
        return list(readers or []) if code == scard.SCARD_S_SUCCESS else []
    finally:
        scard.SCardReleaseContext(context)


def start_pcscd(
    wait_for: tuple[str, ...] = VPCD_READERS, timeout_s: float = 10.0
) -> subprocess.Popen[bytes]:
    """Start ``pcscd --foreground`` and wait until ``wait_for`` readers are listed."""
    exe = shutil.which("pcscd") or (
        "/usr/sbin/pcscd" if os.path.exists("/usr/sbin/pcscd") else None
    )
    if exe is None:
        raise PcscdError("pcscd is not installed (Debian: apt-get install pcscd vsmartcard-vpcd)")
    proc = subprocess.Popen(
        [exe, "--foreground"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PcscdError(
                f"pcscd exited at once with status {proc.returncode} (another pcscd running?)"
            )
        if set(wait_for) <= set(list_readers()):
            return proc
        time.sleep(0.1)
    stop_pcscd(proc)
    raise PcscdError(f"pcscd started but readers {list(wait_for)} did not appear in {timeout_s} s")


def stop_pcscd(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def running_pcscd() -> Iterator[subprocess.Popen[bytes]]:
    proc = start_pcscd()
    try:
        yield proc
    finally:
        stop_pcscd(proc)
