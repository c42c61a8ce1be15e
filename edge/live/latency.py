"""Per-stage latency of the live runtime, kept as bounded samples with percentiles.

Stages: ``queue`` (driver receipt -> core takes it), ``core`` (time the core spends on one
input), ``cart_line`` (shelf settled -> cart line emitted) and ``receipt`` (shopper's last
sighting at the exit -> receipt journaled with its outbox row, ready to publish).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

__all__ = ["LatencyStats"]

STAGES = ("queue", "core", "cart_line", "receipt")


class LatencyStats:
    def __init__(self, keep: int = 50_000) -> None:
        self._samples: dict[str, deque[float]] = {s: deque(maxlen=keep) for s in STAGES}
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self._samples[stage].append(seconds)

    def samples(self, stage: str) -> list[float]:
        with self._lock:
            return list(self._samples[stage])

    def summary(self) -> dict[str, Any]:
        out = {}
        for stage in STAGES:
            values = sorted(self.samples(stage))
            if not values:
                out[stage] = {"n": 0}
                continue

            def pct(p: float, values: list[float] = values) -> float:
                return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 2)

            out[stage] = {
                "n": len(values),
                "p50_ms": pct(0.5),
                "p99_ms": pct(0.99),
                "max_ms": round(values[-1] * 1000, 2),
            }
        return out
