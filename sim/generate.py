"""`walkout sim generate`: run a scenario in a store and write a recorded session with ground truth.

The world (sim.world) decides what happens; this module turns it into what the sensors would
have recorded: shelf-controller bytes per serial port (true loads through the load-cell model,
the board's framing and the serial link's timing), gate reader taps, person tracks with the
errors of a vision system, and the ground truth. Same store, scenario and seed: same bytes.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edge.config import load_store_config_text, resolve_store
from edge.config.layout import PlateRef, StoreLayout, gondola_to_floor
from edge.config.models import Shelf, StoreConfig
from edge.session.model import (
    GroundTruth,
    PersonObs,
    Read,
    TrackFrame,
    TruthAction,
    TruthReceipt,
    TruthReceiptLine,
    TruthVisit,
)
from edge.session.writer import SessionWriter
from edge.shelf.protocol import BoardEncoder
from sim.loadcell import ShelfSensorModel, grams_to_counts, sample_plate_params
from sim.scenario import Scenario, load_scenario
from sim.shelf_load import ShelfRenderer
from sim.track_noise import TrackNoiseParams, TrackObserver, TruePerson
from sim.world import TAG_SLOT_S, TAP_S, World, WorldResult

if TYPE_CHECKING:
    from edge.vision.camera import CameraModel
    from sim.render.video import CameraOptions

CHUNK_FRAMES = 10  # board frames rendered per step: bounds memory, keeps numpy calls large
STATUS_PERIOD_S = 10.0
LINK_JITTER_S = (0.0005, 0.003)
NEIGHBOUR_GAP_M = 0.15

Progress = Callable[[str, float], None]  # (stage, fraction done)


@dataclass(frozen=True)
class GenerateResult:
    path: Path
    duration_s: float
    shoppers: int
    actions: int


def generate_session(
    scenario: str | Scenario,
    seed: int,
    out: Path,
    *,
    store: str | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    cameras: CameraOptions | None = None,
) -> GenerateResult:
    """Simulate a scenario and write the session directory `out`; with `cameras`, also render
    every camera of the store's rig into the session (docs/cameras.md)."""
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    source, config_text = resolve_store(store or sc.store)
    config = load_store_config_text(config_text, source=source)
    layout = StoreLayout(config)
    report = progress or (lambda stage, fraction: None)

    # A camera rig that cannot be loaded fails before anything is written.
    rig = _camera_rig(config, store or sc.store) if cameras is not None else {}
    report("planning", 0.0)
    world = World(layout, sc, seed)
    world.plan_all()
    result = world.execute()
    report("planning", 1.0)

    writer = SessionWriter(
        out,
        config_text=config_text,
        start_time_unix=sc.start_time_unix,
        session_id=f"sim-{config.store.id}-{sc.name}-{seed}",
        created_by=f"walkout-sim {version('walkout')} scenario={sc.name} seed={seed}",
        extra={
            "scenario": sc.name,
            "seed": seed,
            "store": store or sc.store,
            # Only with cameras: sessions without keep their exact bytes.
            **({"cameras": cameras.describe()} if cameras is not None else {}),
        },
        overwrite=overwrite,
    )
    with writer:
        _write_reads(writer, result, layout, sc, seed)
        _write_tracks(writer, result, sc, seed, report)
        _write_shelves(writer, layout, result, sc, seed, report)
        if cameras is not None:
            from sim.render.video import write_cameras  # OpenCV only when cameras are wanted

            write_cameras(writer, layout, rig, result, seed, cameras, report)
        writer.write_truth(_ground_truth(result, layout))
        path = writer.close(duration_s=round(result.end_t, 3))
    return GenerateResult(path, result.end_t, len(result.plans), len(result.actions))


def _camera_rig(config: StoreConfig, store: str) -> dict[str, CameraModel]:
    """The store's cameras from their calibration files (relative to the config file); a camera
    without one gets the simulated rig's (sim/render/rig.py)."""
    from edge.vision.rig import config_dir, load_rig
    from sim.render.rig import store_rig

    rig = load_rig(config, config_dir(store), require_all=False)
    generated = {c.camera_id: c for c in store_rig(config)}
    return {cam.id: rig.get(cam.id) or generated[cam.id] for cam in config.cameras}


# --- gate reads -------------------------------------------------------------------------------


def _write_reads(
    writer: SessionWriter, result: WorldResult, layout: StoreLayout, sc: Scenario, seed: int
) -> None:
    reads = []
    for plan in result.plans:
        for tap in plan.taps:
            reads.append(Read(t=tap.t, reader=tap.reader, kind="card", uid=tap.uid, event="insert"))
            reads.append(
                Read(t=tap.t + TAP_S, reader=tap.reader, kind="card", uid=tap.uid, event="remove")
            )
    reads += _tag_reads(result, layout, sc.shopper.exit_tag_read_probability, seed)
    for read in sorted(reads, key=lambda r: (r.t, r.reader, r.event)):
        writer.write_read(read)


def _tag_reads(
    result: WorldResult, layout: StoreLayout, probability: float, seed: int
) -> list[Read]:
    """Item tags of the tagged units each shopper really carries out, read one after another
    by the exit reader while the shopper pauses there (each with ``probability``)."""
    if probability <= 0:
        return []
    carried: dict[int, list[str]] = {}  # person -> product ids of the units held, in order
    for a in sorted(result.actions, key=lambda a: (a.t_start, a.person_id)):
        held = carried.setdefault(a.person_id, [])
        if a.kind == "pick":
            held.extend([a.product_id] * a.quantity)
        elif a.kind == "put":
            for _ in range(a.quantity):
                if a.product_id in held:
                    held.remove(a.product_id)
        elif a.kind == "handoff" and a.to_person is not None:
            for _ in range(a.quantity):
                if a.product_id in held:
                    held.remove(a.product_id)
                    carried.setdefault(a.to_person, []).append(a.product_id)
    rng = np.random.default_rng([seed, 31])
    reads: list[Read] = []
    for plan in result.plans:
        if plan.tag_reads_at is None:
            continue
        reader, t = plan.tag_reads_at
        for k, pid in enumerate(sorted(carried.get(plan.person_id, []))):
            prefix = layout.products[pid].rfid_tag_prefix
            if not prefix or rng.random() >= probability:
                continue
            # A tag id is its product's prefix and a serial unique in the session.
            uid = f"{prefix}{plan.person_id:04d}{k:02d}"
            reads.append(Read(t=t, reader=reader, kind="tag", uid=uid, event="insert"))
            reads.append(Read(t=t + TAP_S, reader=reader, kind="tag", uid=uid, event="remove"))
            t += TAG_SLOT_S
    return reads


# --- person tracks ----------------------------------------------------------------------------


def _write_tracks(
    writer: SessionWriter, result: WorldResult, sc: Scenario, seed: int, report: Progress
) -> None:
    rate = sc.tracks.rate_hz
    times = np.arange(0.0, result.end_t, 1.0 / rate)
    n = len(times)
    # Per frame: the people present, their body positions and their extended hands.
    present: list[list[tuple[int, float, float]]] = [[] for _ in range(n)]
    hands: dict[tuple[int, int], list[tuple[float, float, float]]] = {}
    for plan in result.plans:
        i0 = int(np.searchsorted(times, plan.arrive_t))
        i1 = int(np.searchsorted(times, plan.exit_t, side="right"))
        if i1 <= i0:
            continue
        xy = plan.timeline.positions(times[i0:i1])
        for k, i in enumerate(range(i0, i1)):
            present[i].append((plan.person_id, float(xy[k, 0]), float(xy[k, 1])))
        for reach in plan.timeline.reaches:
            j0 = int(np.searchsorted(times, reach.t_out))
            j1 = int(np.searchsorted(times, reach.t_done, side="right"))
            for j in range(max(j0, i0), min(j1, i1)):
                body = (float(xy[j - i0, 0]), float(xy[j - i0, 1]))
                hand = reach.hand_at(float(times[j]), body)
                if hand is not None:
                    hands.setdefault((j, plan.person_id), []).append(hand)
    params = {
        "perfect": TrackNoiseParams.perfect(),
        "no-swaps": replace(TrackNoiseParams(), swap_prob=0.0),
        "realistic": TrackNoiseParams(),
    }[sc.tracks.noise]
    observer = TrackObserver(params, np.random.default_rng([seed, 10]))
    for i in range(n):
        t = float(times[i])
        people = [TruePerson(pid, x, y, tuple(hands.get((i, pid), ()))) for pid, x, y in present[i]]
        writer.write_true_positions(
            TrackFrame(t=t, people=tuple(PersonObs(p.person_id, p.x, p.y, p.hands) for p in people))
        )
        observed = observer.observe(t, people)
        writer.write_tracks(
            TrackFrame(
                t=t, people=tuple(PersonObs(o.track_id, o.x, o.y, o.hands) for o in observed)
            )
        )
        if i % 500 == 0:
            report("tracks", i / n)
    report("tracks", 1.0)


# --- shelves ----------------------------------------------------------------------------------


@dataclass
class _Board:
    """One shelf's load-cell board during generation."""

    key: tuple[int, int]
    shelf: Shelf
    renderer: ShelfRenderer
    sensor: ShelfSensorModel
    encoder: BoardEncoder
    offsets: np.ndarray
    spans: np.ndarray
    phase_s: float
    disturb: tuple[np.ndarray, np.ndarray, np.ndarray]  # starts, ends, levels
    next_sample: int = 0
    next_status_t: float = 0.0


def _neighbour_gondolas(layout: StoreLayout) -> dict[int, set[int]]:
    """Gondolas whose footprints (almost) touch: back-to-back units share vibrations."""
    boxes = {}
    for g in layout.config.gondolas:
        pts = [gondola_to_floor(g, u, v) for u in (0, g.length_m) for v in (0, g.depth_m)]
        boxes[g.id] = (
            min(p[0] for p in pts),
            min(p[1] for p in pts),
            max(p[0] for p in pts),
            max(p[1] for p in pts),
        )
    result: dict[int, set[int]] = {gid: set() for gid in boxes}
    for a, (ax0, ay0, ax1, ay1) in boxes.items():
        for b, (bx0, by0, bx1, by1) in boxes.items():
            if a != b and not (
                ax1 + NEIGHBOUR_GAP_M < bx0
                or bx1 + NEIGHBOUR_GAP_M < ax0
                or ay1 + NEIGHBOUR_GAP_M < by0
                or by1 + NEIGHBOUR_GAP_M < ay0
            ):
                result[a].add(b)
    return result


def _disturbance_intervals(
    key: tuple[int, int],
    handling: list[tuple[float, float, PlateRef]],
    neighbours: dict[int, set[int]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """When hands work near this shelf, and how strongly that shakes it (0..1)."""
    g, s = key
    rows = []
    for t0, t1, ref in handling:
        if ref.gondola == g and ref.shelf == s:
            level = 0.6  # a hand on another plate of the same shelf
        elif ref.gondola == g:
            level = 1.0  # the gondola frame carries the shock
        elif ref.gondola in neighbours[g]:
            level = 0.4
        else:
            continue
        rows.append((t0 - 0.3, t1 + 0.5, level))
    if not rows:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    arr = np.asarray(rows)
    return arr[:, 0], arr[:, 1], arr[:, 2]


def _write_shelves(
    writer: SessionWriter,
    layout: StoreLayout,
    result: WorldResult,
    sc: Scenario,
    seed: int,
    report: Progress,
) -> None:
    rng = np.random.default_rng([seed, 20])
    neighbours = _neighbour_gondolas(layout)
    all_refs = sorted(layout.plates)
    stuck = set()
    if sc.sensors.stuck_plates:
        picks = rng.choice(
            len(all_refs), size=min(sc.sensors.stuck_plates, len(all_refs)), replace=False
        )
        stuck = {all_refs[int(i)] for i in picks}
    ports: dict[str, list[_Board]] = {}
    for (g, s), shelf in sorted(layout.shelves.items()):
        refs = layout.shelf_plate_refs(g, s)
        params = sample_plate_params(np.random.default_rng([seed, 21, g, s]), len(refs))
        params = [
            replace(p, stuck=True) if ref in stuck else p
            for p, ref in zip(params, refs, strict=True)
        ]
        board = _Board(
            key=(g, s),
            shelf=shelf,
            renderer=result.stock.shelves[(g, s)].renderer(),
            sensor=ShelfSensorModel(
                params, shelf.controller.rate_hz, np.random.default_rng([seed, 22, g, s])
            ),
            encoder=BoardEncoder(shelf.controller.board_id, len(refs)),
            offsets=np.array([p.calibration.offset_counts for p in shelf.plates], dtype=np.float64),
            spans=np.array([p.calibration.grams_per_count for p in shelf.plates], dtype=np.float64),
            phase_s=float(rng.uniform(0, 1.0 / shelf.controller.rate_hz)),
            disturb=_disturbance_intervals((g, s), result.handling, neighbours),
            next_status_t=float(rng.uniform(0, STATUS_PERIOD_S)),
        )
        ports.setdefault(shelf.controller.port, []).append(board)

    total_ports = len(ports)
    for port_index, (port, boards) in enumerate(sorted(ports.items())):
        stream = writer.shelf_stream(port, boards[0].shelf.controller.protocol)
        baud = boards[0].shelf.controller.baud
        link_rng = np.random.default_rng([seed, 23, port_index])
        pending: list[tuple[float, int, bytes]] = []
        last_t = 0.0
        order = 0
        step_s = max(
            CHUNK_FRAMES * b.shelf.controller.samples_per_frame / b.shelf.controller.rate_hz
            for b in boards
        )
        t = 0.0
        while t < result.end_t:
            t_next = min(t + step_s, result.end_t)
            for board in boards:
                for t_recv, frame in _board_frames(board, t_next, baud, link_rng):
                    order += 1
                    heapq.heappush(pending, (t_recv, order, frame))
            # Frames of all boards share one bus: emit in arrival order, one after the other.
            while pending and pending[0][0] <= t_next - 0.05:
                t_recv, _, frame = heapq.heappop(pending)
                last_t = max(t_recv, last_t + len(frame) * 10 / baud)
                stream.write(round(last_t, 6), frame)
            t = t_next
            report("shelves", (port_index + t / result.end_t) / total_ports)
        while pending:
            t_recv, _, frame = heapq.heappop(pending)
            last_t = max(t_recv, last_t + len(frame) * 10 / baud)
            stream.write(round(last_t, 6), frame)
    report("shelves", 1.0)


def _board_frames(
    board: _Board, until_t: float, baud: int, link_rng: np.random.Generator
) -> list[tuple[float, bytes]]:
    """Frames the board finishes before `until_t`, with the time each is fully received."""
    ctl = board.shelf.controller
    spf = ctl.samples_per_frame
    first = board.next_sample
    last = math.floor((until_t - board.phase_s) * ctl.rate_hz)  # exclusive sample index
    n_frames = max(0, (last - first) // spf)
    if n_frames == 0:
        return []
    n = n_frames * spf
    times = board.phase_s + (first + np.arange(n)) / ctl.rate_hz
    true_g = board.renderer.render(times)
    starts, ends, levels = board.disturb
    disturbance = np.zeros(n)
    if len(starts):
        active = (starts <= times[-1]) & (ends >= times[0])
        for a, b, lvl in zip(starts[active], ends[active], levels[active], strict=True):
            disturbance[(times >= a) & (times <= b)] += lvl
    observed = board.sensor.observe(true_g, disturbance)
    counts = grams_to_counts(observed, board.offsets, board.spans)
    frames = []
    for k in range(n_frames):
        block = counts[k * spf : (k + 1) * spf]
        t_done = float(times[(k + 1) * spf - 1])
        if t_done >= board.next_status_t:
            status = board.encoder.status(
                uptime_ms=int(t_done * 1000), board_flags=0, plate_status=(0,) * block.shape[1]
            )
            frames.append(
                (t_done + len(status) * 10 / baud + float(link_rng.uniform(*LINK_JITTER_S)), status)
            )
            board.next_status_t += STATUS_PERIOD_S
        data = board.encoder.samples(block)
        frames.append(
            (t_done + len(data) * 10 / baud + float(link_rng.uniform(*LINK_JITTER_S)), data)
        )
    board.next_sample = first + n
    return frames


# --- ground truth -----------------------------------------------------------------------------


def _ground_truth(result: WorldResult, layout: StoreLayout) -> GroundTruth:
    by_person = {p.person_id: p for p in result.plans}
    visits = []
    for plan in sorted(result.plans, key=lambda p: p.person_id):
        group_of = by_person[plan.payer].visit_id if plan.payer != plan.person_id else None
        visits.append(
            TruthVisit(
                visit_id=plan.visit_id,
                person_id=plan.person_id,
                card_uid=plan.card_uid,
                account=f"acct-{plan.card_uid[:8].lower()}" if plan.card_uid else None,
                group_of=group_of,
                entry_t=round(plan.arrive_t, 4),
                exit_t=round(plan.exit_t, 4),
            )
        )
    actions = [
        TruthAction(
            t_start=round(a.t_start, 4),
            t_end=round(a.t_end, 4),
            t_settled=round(a.t_settled, 4),
            visit_id=by_person[a.person_id].visit_id,
            person_id=a.person_id,
            kind=a.kind,
            product_id=a.product_id,
            quantity=a.quantity,
            plates=tuple(a.plates),
            hand=a.hand,
            to_visit_id=by_person[a.to_person].visit_id if a.to_person is not None else None,
        )
        for a in result.actions
    ]
    receipts = []
    for payer, cart in sorted(result.receipts.items()):
        lines = tuple(
            TruthReceiptLine(product_id=pid, quantity=q) for pid, q in sorted(cart.items()) if q > 0
        )
        receipts.append(TruthReceipt(visit_id=by_person[payer].visit_id, lines=lines))
    return GroundTruth(visits=tuple(visits), actions=tuple(actions), receipts=tuple(receipts))
