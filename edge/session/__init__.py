"""Recorded sessions (format v1): one folder per session, for field recordings, simulator output
and imported third-party data alike. The format is specified in docs/session-format.md.

The reader, writer, errors and value types are imported here; `summarize` (needs rich and the
shelf protocol) and `import_plates` (needs numpy) load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edge.session.errors import PlatesImportError, SessionError
from edge.session.model import (
    FORMAT_NAME,
    FORMAT_VERSION,
    GroundTruth,
    Manifest,
    PersonObs,
    Read,
    StreamInfo,
    TrackFrame,
    TruthAction,
    TruthInfo,
    TruthReceipt,
    TruthReceiptLine,
    TruthVisit,
)
from edge.session.reader import Session, iter_wsr
from edge.session.writer import RawStreamWriter, SessionWriter

if TYPE_CHECKING:
    from edge.session.plates_import import import_plates
    from edge.session.summary import render_summary, summarize

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "GroundTruth",
    "Manifest",
    "PersonObs",
    "PlatesImportError",
    "RawStreamWriter",
    "Read",
    "Session",
    "SessionError",
    "SessionWriter",
    "StreamInfo",
    "TrackFrame",
    "TruthAction",
    "TruthInfo",
    "TruthReceipt",
    "TruthReceiptLine",
    "TruthVisit",
    "import_plates",
    "iter_wsr",
    "render_summary",
    "summarize",
]

_LAZY = {
    "import_plates": "edge.session.plates_import",
    "render_summary": "edge.session.summary",
    "summarize": "edge.session.summary",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'edge.session' has no attribute {name!r}")
