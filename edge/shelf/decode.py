"""Shelf bytes to calibrated plate samples: one :class:`ShelfDecoder` per serial port.

A serial port carries the walkout-lc1 frames of one or more shelf boards (several boards can
share an RS-485 line; the store config tells them apart by ``(port, board_id)``). The decoder
parses the bytes (:class:`edge.shelf.protocol.FrameParser`), maps each board to its shelf, and
turns every samples frame into a :class:`PlateBlock`: sample times and grams per plate.

Sample times come from the board's own tick counter, not from when the bytes arrived: the serial
link batches, queues and jitters, the board's ADC does not. ``t = anchor + tick / rate_hz`` where
the anchor maps the board's tick epoch onto the receive clock. The anchor is estimated from the
receive times alone (deterministic, no wall clock): every frame gives an upper bound
``t_recv - (tick + n_samples) / rate_hz`` (its last sample cannot have been taken after its last
byte arrived); transmission latency only ever makes that bound later, so the anchor is the
smallest bound seen so far. So that a board clock running a little slow against the host clock
does not leave the anchor behind for ever, the minimum is allowed to creep up by
``ANCHOR_CREEP_PPM`` of elapsed time (it snaps back down whenever a faster frame arrives).

Lost frames show as a seq gap and a tick jump (the times jump with the ticks: no samples are
invented). A board reboot (seq and tick restart, or a status frame with a smaller uptime)
starts a new tick epoch with a fresh anchor; sample times never go backwards across it.

Pure apart from the bytes it is fed: same bytes and receive times, same blocks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edge.config.layout import StoreLayout
from edge.shelf.protocol import FrameParser, ParserStats, SampleFrame, StatusFrame

__all__ = [
    "ANCHOR_CREEP_PPM",
    "DecoderStats",
    "PlateBlock",
    "ShelfDecoder",
    "StatusReport",
]

log = logging.getLogger(__name__)

ANCHOR_CREEP_PPM = 200.0
"""How fast (parts per million of elapsed receive time) the tick anchor may drift later between
low-latency frames: board crystals are within ~100 ppm of the host clock."""

_U32 = 0xFFFFFFFF
_HALF = 0x80000000


@dataclass(frozen=True, slots=True, eq=False)
class PlateBlock:
    """Calibrated readings of every plate of one shelf, from one samples frame.

    ``times`` (float64, shape ``(n,)``) are sample times in session seconds, strictly increasing
    within a board's stream; ``grams`` (float64, shape ``(n, n_plates)``) has one column per plate
    in config order (``StoreLayout.shelf_plate_refs``). ``t_recv`` is when the frame arrived.
    ``gap_samples`` counts samples missing just before this block (lost frames or board
    overrun); ``plate_status`` is the board's latest plate status codes (None before the first
    status frame).
    """

    gondola: int
    shelf: int
    times: npt.NDArray[np.float64]
    grams: npt.NDArray[np.float64]
    t_recv: float
    board_id: int = -1
    gap_samples: int = 0
    plate_status: tuple[int, ...] | None = None

    @property
    def n_samples(self) -> int:
        return int(self.grams.shape[0])

    @property
    def n_plates(self) -> int:
        return int(self.grams.shape[1])


@dataclass(frozen=True, slots=True)
class StatusReport:
    """A board status frame, mapped to its shelf. ``t`` is the receive time (status frames carry
    no tick); ``board_flags`` and ``plate_status`` are as in docs/shelf-protocol.md."""

    gondola: int
    shelf: int
    t: float
    board_flags: int
    plate_status: tuple[int, ...]
    board_id: int = -1
    uptime_ms: int = 0


@dataclass(slots=True)
class DecoderStats:
    """Counters of one :class:`ShelfDecoder` (the parser's own are in ``parser``)."""

    blocks: int = 0
    """PlateBlocks produced."""
    samples: int = 0
    """Sample rows produced (each covers every plate of its shelf)."""
    status_reports: int = 0
    unknown_board_frames: int = 0
    """Frames from a board id the config does not place on this port (ignored)."""
    unknown_boards: list[int] = field(default_factory=list)
    """Those board ids, in the order first seen (each reported once in the log)."""
    plate_count_mismatch: int = 0
    """Frames whose plate count differs from the config's plates for that shelf (ignored)."""
    seq_gaps: int = 0
    """Seq jumps forward on a board (frames lost on the line)."""
    frames_lost: int = 0
    tick_jumps: int = 0
    """Samples frames whose tick did not continue the previous one (lost frames or overrun)."""
    samples_lost: int = 0
    """Samples missing according to the tick jumps."""
    reboots: int = 0
    """Board restarts seen (seq or tick backwards, or the status uptime went back)."""
    time_clamps: int = 0
    """Blocks whose times had to be pushed forward to stay after the previous block (the
    anchor estimate moved back by more than a sample period: a very late frame earlier)."""
    parser: ParserStats = field(default_factory=ParserStats)


@dataclass(slots=True)
class _Board:
    gondola: int
    shelf: int
    board_id: int
    n_plates: int
    rate_hz: float
    offsets: npt.NDArray[np.float64]
    gpc: npt.NDArray[np.float64]
    last_seq: int | None = None
    last_tick: int | None = None  # raw u32 tick expected next (tick + n of the last frame)
    epoch_tick: int = 0  # unwrapped tick of `last_tick` within the current epoch
    epoch_offset: float = 0.0  # seconds added to this epoch's times (keeps them increasing)
    anchor: float | None = None
    anchor_t: float = 0.0  # receive time of the last anchor update
    last_time: float = -np.inf  # time of the last sample emitted
    last_uptime_ms: int | None = None
    plate_status: tuple[int, ...] | None = None
    steps: dict[int, npt.NDArray[np.float64]] = field(default_factory=dict)  # arange(n) / rate
    last_step: dict[int, float] = field(default_factory=dict)  # steps[n][-1] as a float


class ShelfDecoder:
    """Decodes one serial port: raw bytes in, :class:`PlateBlock` and :class:`StatusReport` out.

    ``layout`` is the store; ``port`` the controller port string exactly as in the config. Every
    shelf whose controller has this port is decoded, told apart by ``board_id``.
    """

    def __init__(self, layout: StoreLayout, port: str) -> None:
        self.port = port
        self.parser = FrameParser()
        self.stats = DecoderStats(parser=self.parser.stats)
        self._boards: dict[int, _Board] = {}
        for (g, s), shelf in sorted(layout.shelves.items()):
            ctl = shelf.controller
            if ctl.port != port:
                continue
            self._boards[ctl.board_id] = _Board(
                gondola=g,
                shelf=s,
                board_id=ctl.board_id,
                n_plates=len(shelf.plates),
                rate_hz=float(ctl.rate_hz),
                offsets=np.array([p.calibration.offset_counts for p in shelf.plates], np.float64),
                gpc=np.array([p.calibration.grams_per_count for p in shelf.plates], np.float64),
            )
        if not self._boards:
            raise ValueError(f"no shelf in the store config uses port {port!r}")

    @property
    def shelves(self) -> list[tuple[int, int]]:
        """(gondola, shelf) of every board on this port, by board id."""
        return [(b.gondola, b.shelf) for _, b in sorted(self._boards.items())]

    def feed(self, t_recv: float, data: bytes) -> list[PlateBlock | StatusReport]:
        """Bytes received at ``t_recv`` (session seconds); returns what they completed."""
        frames = self.parser.feed(data)
        if not frames:
            return []
        return self._decode(t_recv, frames)

    def flush(self, t_recv: float | None = None) -> list[PlateBlock | StatusReport]:
        """End of input: whatever the parser can still recover (see ``FrameParser.flush``)."""
        frames = self.parser.flush()
        if not frames:
            return []
        t = (
            t_recv
            if t_recv is not None
            else max((b.anchor_t for b in self._boards.values()), default=0.0)
        )
        return self._decode(t, frames)

    # --- internals ------------------------------------------------------------------------------

    def _decode(
        self, t_recv: float, frames: list[SampleFrame | StatusFrame]
    ) -> list[PlateBlock | StatusReport]:
        out: list[PlateBlock | StatusReport] = []
        for frame in frames:
            board = self._boards.get(frame.board_id)
            if board is None:
                self._unknown(frame.board_id)
                continue
            if isinstance(frame, SampleFrame):
                block = self._samples(board, t_recv, frame)
                if block is not None:
                    out.append(block)
            else:
                report = self._status(board, t_recv, frame)
                if report is not None:
                    out.append(report)
        return out

    def _unknown(self, board_id: int) -> None:
        self.stats.unknown_board_frames += 1
        if board_id not in self.stats.unknown_boards:
            self.stats.unknown_boards.append(board_id)
            log.warning(
                "port %s: frames from board %d, which the store config does not place on "
                "this port; ignored",
                self.port,
                board_id,
            )

    def _seq(self, board: _Board, seq: int) -> bool:
        """Track seq; return True if it went backwards (a reboot or a replayed frame)."""
        last = board.last_seq
        board.last_seq = seq
        if last is None:
            return False
        d = (seq - last - 1) & _U32
        if d == 0:
            return False
        if d < _HALF:
            self.stats.seq_gaps += 1
            self.stats.frames_lost += d
            return False
        return True

    def _reboot(self, board: _Board) -> None:
        """Start a new tick epoch: the next frame re-anchors; times continue after the last one."""
        self.stats.reboots += 1
        board.last_tick = None
        board.anchor = None

    def _samples(self, board: _Board, t_recv: float, frame: SampleFrame) -> PlateBlock | None:
        samples = frame.samples
        n, n_plates = samples.shape
        if n_plates != board.n_plates:
            self.stats.plate_count_mismatch += 1
            if self.stats.plate_count_mismatch == 1:
                log.warning(
                    "port %s board %d: frame has %d plates, the config %d; ignored",
                    self.port,
                    board.board_id,
                    n_plates,
                    board.n_plates,
                )
            return None
        went_back = self._seq(board, frame.seq)
        gap = 0
        if board.last_tick is not None:
            d = (frame.tick - board.last_tick) & _U32
            if went_back or d >= _HALF:
                # seq or tick went backwards: the board restarted (or replays old frames, which
                # we cannot place in time either): new epoch.
                self._reboot(board)
            elif d:
                self.stats.tick_jumps += 1
                self.stats.samples_lost += d
                gap = d
        elif went_back:
            self._reboot(board)
        if board.last_tick is None:
            # First frame of an epoch: continue after the last emitted time of the old epoch.
            board.epoch_tick = 0
            board.epoch_offset = 0.0
            board.last_tick = frame.tick
        else:
            board.epoch_tick += (frame.tick - board.last_tick) & _U32
        tick = board.epoch_tick
        board.last_tick = (frame.tick + n) & _U32
        rate = board.rate_hz
        bound = t_recv - (tick + n) / rate  # the anchor can be no later than this
        if board.anchor is None:
            board.anchor = bound
        else:
            creep = board.anchor + (t_recv - board.anchor_t) * ANCHOR_CREEP_PPM * 1e-6
            board.anchor = bound if bound < creep else creep  # min(creep, bound), inline
        board.anchor_t = t_recv
        steps = board.steps.get(n)
        if steps is None:
            steps = board.steps[n] = np.arange(n, dtype=np.float64) / rate
            board.last_step[n] = float(steps[-1])
        first = board.anchor + board.epoch_offset + tick / rate
        times = first + steps
        # `first` is times[0] (steps[0] is 0.0), and times[-1] is `first + steps[-1]` in the
        # same float64 arithmetic: scalars here, not numpy element reads, on this hot path.
        if first <= board.last_time:
            # Never go backwards: a new epoch starts after the old one's last sample; a late
            # anchor correction is absorbed into the epoch offset.
            shift = board.last_time + 1.0 / rate - first
            if board.last_time > -np.inf:
                board.epoch_offset += shift
                times = times + shift
                self.stats.time_clamps += 1
            board.last_time = float(times[-1])
        else:
            board.last_time = first + board.last_step[n]
        board.epoch_tick = tick + n
        grams = np.subtract(samples, board.offsets, dtype=np.float64)
        grams *= board.gpc
        self.stats.blocks += 1
        self.stats.samples += n
        return PlateBlock(
            gondola=board.gondola,
            shelf=board.shelf,
            times=times,
            grams=grams,
            t_recv=t_recv,
            board_id=board.board_id,
            gap_samples=gap,
            plate_status=board.plate_status,
        )

    def _status(self, board: _Board, t_recv: float, frame: StatusFrame) -> StatusReport | None:
        if frame.n_plates != board.n_plates:
            self.stats.plate_count_mismatch += 1
            return None
        went_back = self._seq(board, frame.seq)
        uptime_back = board.last_uptime_ms is not None and frame.uptime_ms < board.last_uptime_ms
        if (went_back or uptime_back) and board.last_tick is not None:
            self._reboot(board)
        board.last_uptime_ms = frame.uptime_ms
        board.plate_status = frame.plate_status
        self.stats.status_reports += 1
        return StatusReport(
            gondola=board.gondola,
            shelf=board.shelf,
            t=t_recv,
            board_flags=frame.board_flags,
            plate_status=frame.plate_status,
            board_id=board.board_id,
            uptime_ms=frame.uptime_ms,
        )
