"""Prometheus metrics of a live edge, in a registry of its own.

The counters are kept where things happen (the shelf decoder and parser, the core, the visit
manager, the drivers, the frame slots, the vision thread, the link, the journal's outbox) and
exported at scrape time by one collector, so the deterministic core never calls into
prometheus_client and a scrape never blocks the pipeline for long. Names follow the Prometheus
conventions: `walkout_` prefix, counters end in `_total`, units in the name (`_seconds`).
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
)
from prometheus_client.registry import Collector

DETECTOR_BUCKETS_S = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


class LatencyHistogram:
    """A thread-safe fixed-bucket histogram (seconds), exported as a Prometheus histogram."""

    def __init__(self, buckets: Sequence[float] = DETECTOR_BUCKETS_S) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * (len(self.buckets) + 1)
        self.total = 0.0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        with self._lock:
            self.counts[bisect.bisect_left(self.buckets, seconds)] += 1
            self.total += seconds

    def snapshot(self) -> tuple[list[tuple[str, float]], float]:
        with self._lock:
            cumulative, out = 0, []
            for bound, n in zip((*self.buckets, float("inf")), self.counts, strict=True):
                cumulative += n
                out.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            return out, self.total


class EdgeCollector(Collector):
    """Reads a `LiveRuntime`'s state at scrape time and yields typed metric families."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Any]:
        rt = self.runtime
        status = rt.last_status  # the core thread's latest snapshot (at most ~1 s old)
        store = status.get("store_id", "")

        info = InfoMetricFamily("walkout_edge", "Store and software of this edge.")
        info.add_metric([], {"store": store, "model": _model_version(rt)})
        yield info

        frames = CounterMetricFamily(
            "walkout_shelf_frames_total", "Frames accepted from shelf controllers.", labels=["port"]
        )
        crc = CounterMetricFamily(
            "walkout_shelf_crc_errors_total", "Frames with a bad CRC.", labels=["port"]
        )
        lost = CounterMetricFamily(
            "walkout_shelf_frames_lost_total", "Frames missing by sequence number.", labels=["port"]
        )
        garbage = CounterMetricFamily(
            "walkout_shelf_bytes_discarded_total", "Bytes skipped as garbage.", labels=["port"]
        )
        for port, ps in status.get("shelf_ports", {}).items():
            frames.add_metric([port], ps["frames_ok"])
            crc.add_metric([port], ps["crc_errors"])
            lost.add_metric([port], ps["frames_lost"])
            garbage.add_metric([port], ps["bytes_discarded"])
        yield from (frames, crc, lost, garbage)

        plates = GaugeMetricFamily(
            "walkout_plate_faults", "Plates with an active fault, by kind.", labels=["kind"]
        )
        by_kind: dict[str, int] = {}
        for kind in status.get("plate_faults", {}).values():
            by_kind[kind] = by_kind.get(kind, 0) + 1
        for kind in ("stuck", "dead", "saturated", "noisy", "drifting"):
            plates.add_metric([kind], by_kind.get(kind, 0))
        yield plates

        cs = status.get("core", {})
        for name, key, text in (
            ("walkout_shelf_events_total", "shelf_events", "Shelf events detected."),
            ("walkout_cart_lines_total", "cart_lines", "Cart lines added or removed."),
            ("walkout_unattributed_events_total", "unattributed_events", "Events nobody took."),
            ("walkout_receipts_total", "receipts", "Receipts settled."),
            ("walkout_reviews_total", "reviews", "Receipts flagged for review."),
            ("walkout_sensor_faults_total", "faults", "Plate faults raised by the detector."),
        ):
            yield CounterMetricFamily(name, text, value=cs.get(key, 0))
        yield GaugeMetricFamily(
            "walkout_open_visits",
            "Visits in the store now.",
            value=len(status.get("open_visits", [])),
        )
        yield GaugeMetricFamily(
            "walkout_review_queue",
            "Open visits with a review flag.",
            value=status.get("review_queue", 0),
        )

        drv_faults = CounterMetricFamily(
            "walkout_driver_faults_total", "Device faults per driver.", labels=["kind", "name"]
        )
        connected = GaugeMetricFamily(
            "walkout_driver_connected", "1 if the device is connected.", labels=["kind", "name"]
        )
        age = GaugeMetricFamily(
            "walkout_driver_data_age_seconds",
            "Seconds since the device last delivered data.",
            labels=["kind", "name"],
        )
        for d in status.get("drivers", []):
            labels = [d["kind"], d["name"]]
            drv_faults.add_metric(labels, d["faults"])
            connected.add_metric(labels, 1 if d["state"] == "connected" else 0)
            if d.get("data_age_s") is not None:
                age.add_metric(labels, d["data_age_s"])
        yield from (drv_faults, connected, age)

        cam_frames = CounterMetricFamily(
            "walkout_camera_frames_total", "Frames received per camera.", labels=["camera"]
        )
        cam_dropped = CounterMetricFamily(
            "walkout_camera_dropped_frames_total",
            "Frames dropped unprocessed (drop-oldest).",
            labels=["camera"],
        )
        for cam, st in sorted(status.get("frames", {}).items()):
            cam_frames.add_metric([cam], st["received"])
            cam_dropped.add_metric([cam], st["dropped"])
        yield from (cam_frames, cam_dropped)

        vision = rt.vision
        if vision is not None:
            buckets, total = vision.latency.snapshot()
            hist = HistogramMetricFamily(
                "walkout_detector_latency_seconds", "Detector time per tick (all cameras)."
            )
            hist.add_metric([], buckets, total)
            yield hist

        outbox = status.get("outbox") or {}
        yield GaugeMetricFamily(
            "walkout_outbox_backlog",
            "Events not yet acknowledged by the cloud.",
            value=outbox.get("backlog") or 0,
        )
        yield GaugeMetricFamily(
            "walkout_outbox_oldest_age_seconds",
            "Age of the oldest unacknowledged event (0 when none).",
            value=outbox.get("oldest_age_s") or 0.0,
        )
        link = status.get("link")
        yield GaugeMetricFamily(
            "walkout_mqtt_connected",
            "1 if the cloud link is connected and subscribed to acks.",
            value=1 if link and link.get("ready") else 0,
        )
        yield GaugeMetricFamily(
            "walkout_price_book_version",
            "Price book version in force.",
            value=float(getattr(rt, "price_book_version", 0)),
        )


def _model_version(rt: Any) -> str:
    vision = getattr(rt, "vision", None)
    if vision is None:
        return ""
    return str(vision.detector.manifest.sha256[:12])


def make_registry(runtime: Any) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EdgeCollector(runtime))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
