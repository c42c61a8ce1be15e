"""Recording a live run in the session format (docs/session-format.md), exactly what the core saw.

Every input is written with the session time the core was given, so replaying the recording
(`walkout edge replay`) feeds the core the same inputs in the same order and gives the same
receipts. Pushed planograms and price books are inputs too, recorded at the time the core took
them. Camera frames are not recorded yet (the format reserves camera-video streams).
"""

from __future__ import annotations

from pathlib import Path

from edge.config.models import StoreConfig
from edge.session.model import ConfigPush, PersonObs, Read, TrackFrame
from edge.session.writer import RawStreamWriter, SessionWriter

__all__ = ["Recorder"]


class Recorder:
    def __init__(
        self,
        out_dir: Path,
        *,
        config: StoreConfig,
        config_text: str,
        start_time_unix: float,
        session_id: str,
        created_by: str,
        overwrite: bool = False,
    ) -> None:
        self.writer = SessionWriter(
            out_dir,
            config_text=config_text,
            start_time_unix=start_time_unix,
            session_id=session_id,
            created_by=created_by,
            extra={"recorded_by": "walkout edge run"},
            overwrite=overwrite,
        )
        self._shelf: dict[str, RawStreamWriter] = {}
        for gondola in config.gondolas:
            for shelf in gondola.shelves:
                port = shelf.controller.port
                if port not in self._shelf:
                    self._shelf[port] = self.writer.shelf_stream(port, shelf.controller.protocol)
        self.last_t = 0.0

    def shelf(self, t: float, port: str, data: bytes) -> None:
        self._shelf[port].write(t, data)
        self.last_t = t

    def read(self, t: float, reader: str, kind: str, uid: str, event: str) -> None:
        self.writer.write_read(Read(t=t, reader=reader, kind=kind, uid=uid, event=event))  # type: ignore[arg-type]
        self.last_t = t

    def push(
        self, t: float, kind: str, version: int, effective_from_unix_ns: int, payload: bytes
    ) -> None:
        """A pushed planogram or price book the core takes at `t` (the pushes stream,
        docs/session-format.md)."""
        self.writer.write_push(ConfigPush(t, kind, version, effective_from_unix_ns, payload))
        self.last_t = t

    def tracks(self, frame: TrackFrame) -> None:
        self.writer.write_tracks(frame)
        self.last_t = frame.t

    def close(self, duration_s: float) -> Path:
        return self.writer.close(max(duration_s, self.last_t))


def canonical_frame(
    t: float, people: list[tuple[int, float, float, tuple[tuple[float, float, float], ...]]]
) -> TrackFrame:
    """A track frame rounded exactly as the session format stores it (1 mm), so the live core
    sees the same numbers a replay of the recording will."""

    def m3(v: float) -> float:
        return round(float(v), 3) + 0.0

    return TrackFrame(
        t=t,
        people=tuple(
            PersonObs(int(pid), m3(x), m3(y), tuple((m3(a), m3(b), m3(c)) for a, b, c in hands))
            for pid, x, y, hands in people
        ),
    )
