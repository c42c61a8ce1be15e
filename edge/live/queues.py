"""Bounded queues between driver threads and the core, with an explicit policy per kind.

- Weights, reads and tracks are never dropped: one FIFO, bounded; a full queue blocks the
  driver that puts (its device buffers meanwhile: the kernel's tty buffer, pcscd), and every
  such wait is counted. The core must keep up; if it cannot, the waits show it.
- Live video drops the oldest frame: each camera keeps only its newest ``depth`` frames, and
  every frame pushed out unseen is counted.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from typing import Any

from edge.drivers.base import LiveInput

__all__ = ["FrameSlots", "InputQueue"]


class InputQueue:
    def __init__(self, maxsize: int = 20_000) -> None:
        self._q: queue.Queue[LiveInput] = queue.Queue(maxsize=maxsize)
        self.maxsize = maxsize
        self.blocked_puts = 0
        self.high_water = 0

    def put(self, item: LiveInput) -> None:
        try:
            self._q.put_nowait(item)
        except queue.Full:
            self.blocked_puts += 1
            self._q.put(item)
        size = self._q.qsize()
        if size > self.high_water:
            self.high_water = size

    def get(self, timeout: float) -> LiveInput | None:
        try:
            return self._q.get(timeout=timeout)
        except queue.Empty:
            return None

    def get_nowait(self) -> LiveInput | None:
        try:
            return self._q.get_nowait()
        except queue.Empty:
            return None

    def qsize(self) -> int:
        return self._q.qsize()


class FrameSlots:
    """Newest frames per camera; putting into a full slot drops (and counts) the oldest."""

    def __init__(self, depth: int = 2) -> None:
        self.depth = depth
        self._frames: dict[str, deque[LiveInput]] = {}
        self._lock = threading.Lock()
        self.received: dict[str, int] = {}
        self.dropped: dict[str, int] = {}

    def put(self, item: LiveInput) -> None:
        with self._lock:
            slot = self._frames.setdefault(item.source, deque())
            if len(slot) >= self.depth:
                slot.popleft()
                self.dropped[item.source] = self.dropped.get(item.source, 0) + 1
            slot.append(item)
            self.received[item.source] = self.received.get(item.source, 0) + 1

    def take(self, camera: str) -> LiveInput | None:
        with self._lock:
            slot = self._frames.get(camera)
            return slot.popleft() if slot else None

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                cam: {"received": n, "dropped": self.dropped.get(cam, 0)}
                for cam, n in sorted(self.received.items())
            }
