"""Rendered overhead cameras: projection, ground truth, determinism, datasets, session video."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from edge.config import load_store_config
from edge.config.layout import StoreLayout
from edge.vision.camera import CameraModel
from sim.render.dataset import MIN_BOX_PX, render_labelled_frames
from sim.render.draw import HAND, PERSON, CameraRenderer
from sim.render.project import Projector
from sim.render.rig import store_rig
from sim.render.scene import Look, PersonPose, StaticScene, resting_hand
from sim.stores import PRESETS_DIR


@pytest.fixture(scope="module")
def small():
    config = load_store_config("small")
    layout = StoreLayout(config)
    return config, StaticScene.from_layout(layout), store_rig(config)


def _person(pid: int, x: float, y: float, heading: float = math.pi / 2, seed: int = 1):
    look = Look.sample(np.random.default_rng(seed))
    return PersonPose(
        pid,
        x,
        y,
        heading,
        look,
        resting_hand(x, y, heading, look, "left"),
        (x + 0.05, y + 0.45, 1.0),
    )


def test_projector_matches_camera_model(small):
    _config, _scene, cams = small
    rng = np.random.default_rng(0)
    pts = np.column_stack(
        [rng.uniform(0, 7, 200), rng.uniform(0, 5, 200), rng.uniform(0, 2.2, 200)]
    )
    for cam in cams:
        ours = Projector(cam).project(pts)
        theirs = cam.project(pts)
        assert np.allclose(ours, theirs, atol=1e-6, equal_nan=True)


def test_rendered_point_lands_where_project_says():
    """A small bright ball drawn by the renderer is centred on CameraModel.project's pixel."""
    config = load_store_config("small")
    scene = StaticScene.from_layout(StoreLayout(config))
    cam = CameraModel.looking_down(
        "cam-t", (2.0, 1.5, 3.4), dist_coeffs=(-0.12, 0.02, 0.0, 0.0, 0.0), yaw_deg=17.0
    )
    renderer = CameraRenderer(cam, scene)
    for target in [(2.0, 1.5, 1.0), (3.6, 0.9, 1.2), (0.8, 2.4, 0.6)]:
        sphere = renderer._sphere(np.array(target), 0.06, n=64)
        img = np.zeros((480, 640), np.uint8)
        import cv2

        from sim.render.project import SUBPIXEL_SHIFT, fixed_point

        cv2.fillPoly(img, [fixed_point(sphere)], 255, cv2.LINE_8, SUBPIXEL_SHIFT)
        ys, xs = np.nonzero(img)
        expected = cam.project(np.array([target]))[0]
        assert abs(xs.mean() - expected[0]) < 1.0
        assert abs(ys.mean() - expected[1]) < 1.0


def test_truth_boxes_contain_projected_head(small):
    _config, scene, cams = small
    renderer = CameraRenderer(cams[0], scene)
    people = [_person(1, 1.5, 2.4, seed=1), _person(2, 2.4, 1.8, seed=2)]
    out = renderer.render(people)
    persons = {o.person_id: o for o in out.objects if o.cls == PERSON}
    assert set(persons) == {1, 2}
    for p in people:
        head = np.array([[p.x, p.y, p.look.height - p.look.head_radius]])
        u, v = cams[0].project(head)[0]
        x1, y1, x2, y2 = persons[p.person_id].box
        assert x1 <= u <= x2 and y1 <= v <= y2
        assert 0.5 < persons[p.person_id].visible_fraction <= 1.0
    # The reaching right hand is in view and its box surrounds its projected centre.
    hands = [o for o in out.objects if o.cls == HAND and o.side == "right"]
    assert len(hands) == 2
    for o in hands:
        p = people[o.person_id - 1]
        u, v = cams[0].project(np.array([p.right_hand]))[0]
        assert o.box[0] <= u <= o.box[2] and o.box[1] <= v <= o.box[3]


def test_gondola_hides_person_behind_it(small):
    """Seen from a camera on one side, a person right behind the gondola is mostly hidden, and
    the truth says so; the same person on open floor is visible."""
    config, scene, _cams = small
    g = config.gondolas[0]  # front faces -y at y = 3.0, back at y = 3.5, top at 1.7 m
    cam = CameraModel.looking_down(
        "c", (3.5, 1.9, 3.4), dist_coeffs=(-0.12, 0.02, 0, 0, 0), yaw_deg=90.0
    )
    renderer = CameraRenderer(cam, scene)
    x = g.origin_m[0] + 1.8
    vis = {}
    for y in (3.8, 0.6):
        p = _person(1, x, y, seed=3)
        p.look = replace(p.look, height=1.6)
        head = np.array([[x, y, 1.5]])
        assert cam.sees(head)[0], "the head must be in view for this test to mean anything"
        out = renderer.render([p])
        body = [o for o in out.objects if o.cls == PERSON]
        vis[y] = body[0].visible_fraction if body else 0.0
    assert vis[0.6] > 0.7  # its own arms cover some of the torso
    assert vis[3.8] < 0.5, vis


def test_effects_are_seeded_and_local():
    from sim.render.effects import Lighting, LightingSpec, NoiseBank, motion_blur

    spec = LightingSpec(steps_per_min=6.0)
    a, b = Lighting(spec, 1, 0, 600.0), Lighting(spec, 1, 0, 600.0)
    gains = np.array([a.gain(t) for t in np.arange(0, 600, 0.5)])
    assert np.array_equal(gains, np.array([b.gain(t) for t in np.arange(0, 600, 0.5)]))
    assert gains.min() < 0.9 and gains.max() > 1.1  # drift and steps move the light
    assert a.steps and not np.array_equal(gains, [Lighting(spec, 1, 1, 600.0).gain(t)
                                                  for t in np.arange(0, 600, 0.5)])  # fmt: skip
    img = np.full((60, 80, 3), 100, np.uint8)
    img[20:40, 30:50] = 250  # a bright "person"
    mask = np.zeros((60, 80), bool)
    mask[20:40, 30:50] = True
    blurred = motion_blur(img, [((30, 20, 49, 39), (8.0, 0.0))], mask)
    changed = np.argwhere((blurred != img).any(axis=2))
    assert len(changed) and changed[:, 1].min() >= 30 - 5 and changed[:, 1].max() <= 49 + 5
    assert (blurred[:, :20] == img[:, :20]).all()
    noisy = NoiseBank((60, 80), 3.0, 5).apply(img, np.random.default_rng(0))
    assert 1.5 < np.std(noisy[:10, :10].astype(float)) < 4.5


def _overlapping_person_pairs(frames) -> int:
    pairs = 0
    for f in frames:
        people = f.boxes[f.boxes[:, 0] == 0, 1:]
        for i in range(len(people)):
            for j in range(i + 1, len(people)):
                a, b = people[i], people[j]
                w = min(a[2], b[2]) - max(a[0], b[0])
                h = min(a[3], b[3]) - max(a[1], b[1])
                pairs += bool(w > 0 and h > 0)
    return pairs


def test_crowded_frames_put_people_side_by_side_and_crowd_zero_changes_nothing():
    spread = list(render_labelled_frames("medium", 30, seed=11, image_size=(320, 240)))
    zero = list(render_labelled_frames("medium", 30, seed=11, image_size=(320, 240), crowd=0.0))
    crowded = list(render_labelled_frames("medium", 30, seed=11, image_size=(320, 240), crowd=0.6))
    # crowd=0 are the frames of earlier versions, draw for draw (the shipped model's data).
    assert all(np.array_equal(a.image, b.image) for a, b in zip(spread, zero, strict=True))
    # People placed beside each other: their person boxes touch far more often.
    assert _overlapping_person_pairs(crowded) >= 2 * max(1, _overlapping_person_pairs(spread))
    assert all(f.boxes.shape[1] == 5 for f in crowded)
    with pytest.raises(ValueError, match="crowd must be in"):
        next(iter(render_labelled_frames("small", 1, seed=1, crowd=1.2)))


def test_dataset_is_deterministic_and_boxes_in_range():
    square = next(iter(render_labelled_frames("small", 1, seed=5, image_size=(320, 320))))
    assert square.image.shape == (320, 320, 3)
    a = list(render_labelled_frames("small", 12, seed=5, image_size=(320, 240)))
    b = list(render_labelled_frames("small", 12, seed=5, image_size=(320, 240)))
    c = list(render_labelled_frames("small", 12, seed=6, image_size=(320, 240)))
    assert len(a) == 12
    for fa, fb in zip(a, b, strict=True):
        assert np.array_equal(fa.image, fb.image)
        assert np.array_equal(fa.boxes, fb.boxes)
        assert fa.camera_id == fb.camera_id and fa.t == fb.t
    assert any(not np.array_equal(fa.image, fc.image) for fa, fc in zip(a, c, strict=True))
    total = np.concatenate([f.boxes for f in a])
    assert {0.0, 1.0} <= set(total[:, 0].tolist())
    for f in a:
        assert f.image.shape == (240, 320, 3) and f.image.dtype == np.uint8
        assert f.boxes.dtype == np.float32 and f.boxes.shape[1] == 5
        x1, y1, x2, y2 = f.boxes[:, 1], f.boxes[:, 2], f.boxes[:, 3], f.boxes[:, 4]
        assert (x1 >= 0).all() and (y1 >= 0).all() and (x2 <= 320).all() and (y2 <= 240).all()
        assert (x2 - x1 >= MIN_BOX_PX).all() and (y2 - y1 >= MIN_BOX_PX).all()


# --- rig and calibration files -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["small", "medium", "large"])
def test_preset_calibration_files_are_current_and_cover_the_floor(name):
    from edge.vision.rig import config_dir, load_rig
    from sim.stores import PRESETS_DIR, render_calibrations

    for rel, text in render_calibrations(name).items():
        assert (PRESETS_DIR / rel).read_text() == text, (
            f"{rel} is stale: run `python -m sim.stores --write`"
        )
    config = load_store_config(name)
    rig = load_rig(config, config_dir(name))
    assert list(rig) == [c.id for c in config.cameras]
    scene = StaticScene.from_layout(StoreLayout(config))
    xs = np.arange(0.25, config.floor.width_m, 0.5)
    ys = np.arange(0.25, config.floor.depth_m, 0.5)
    heads = np.array([(x, y, 1.7) for x in xs for y in ys if scene.free((x, y), 0.2)])
    seen = sum(cam.sees(heads).astype(int) for cam in rig.values())
    assert (seen >= 1).mean() > 0.95  # heads of people anywhere on the free floor
    fronts = np.array(
        [(g.front_xy[0], g.front_xy[1], g.height_m + 0.1)
         for g in StoreLayout(config).plate_geometry.values()]
    )  # fmt: skip
    assert (sum(cam.sees(fronts).astype(int) for cam in rig.values()) >= 1).mean() > 0.98


def test_load_rig_errors_name_the_file(tmp_path):
    from edge.vision.rig import RigError, load_rig

    config = load_store_config("small")
    with pytest.raises(RigError, match=r"cameras\[0\] \(cam-1\).*calibration/small/cam-1.yaml"):
        load_rig(config, tmp_path)
    (tmp_path / "calibration" / "small").mkdir(parents=True)
    (tmp_path / "calibration" / "small" / "cam-1.yaml").write_text("version: 1\nimage_size: [")
    with pytest.raises(RigError, match=r"cam-1\.yaml: not valid YAML"):
        load_rig(config, tmp_path)
    other = CameraModel.looking_down("cam-9", (1.0, 1.0, 3.0))
    other.save(tmp_path / "calibration" / "small" / "cam-1.yaml")
    with pytest.raises(RigError, match="camera_id is 'cam-9'"):
        load_rig(config, tmp_path)


def test_resized_camera_sees_the_same_point():
    from edge.vision.rig import resized

    cam = CameraModel.looking_down("c", (2.0, 2.0, 3.4), dist_coeffs=(-0.12, 0.02, 0, 0, 0))
    half = resized(cam, (320, 240))
    pts = np.array([[2.5, 1.2, 1.0], [0.5, 3.0, 0.0]])
    uv, uv_half = cam.project(pts), half.project(pts)
    assert np.allclose((uv + 0.5) / 2 - 0.5, uv_half, atol=1e-6)
    # Another aspect ratio: square pixels, the extra rows above and below.
    square = resized(cam, (640, 640))
    assert square.camera_matrix[0, 0] == square.camera_matrix[1, 1]
    assert np.allclose(square.project(pts), cam.project(pts) + np.array([0.0, 80.0]), atol=1e-6)


# --- sessions with cameras ---------------------------------------------------------------------


def _camera_session(out, seed=3, drop=0.1):
    from sim.generate import generate_session
    from sim.render.video import CameraOptions

    options = CameraOptions(fps=5.0, image_size=(160, 120), drop_rate=drop)
    return generate_session("one-shopper", seed, out, store="small", cameras=options)


@pytest.fixture(scope="module")
def camera_session(tmp_path_factory):
    out = tmp_path_factory.mktemp("cams") / "s"
    _camera_session(out)
    return out


def test_session_cameras_written_and_read_back(camera_session):
    from edge.session.reader import Session

    s = Session.open(camera_session)
    assert [c.name for c in s.camera_streams] == ["cameras/cam-1", "cameras/cam-2"]
    checked = s.verify()
    assert "cameras/cam-1.avi" in checked and "cameras/cam-1.frames.csv" in checked
    assert "truth/cameras/cam-2.boxes.jsonl" in checked
    duration = s.manifest.duration_s
    for cam_id in ("cam-1", "cam-2"):
        info = s.camera_stream(cam_id)
        frames = s.camera_frames(cam_id)
        assert len(frames) == info.records > 0.8 * duration * 5
        phase = frames[0][1] - frames[0][0] / 5.0
        assert 0 <= phase < 0.2
        for index, t in frames:  # timestamps are the frame clock, with gaps where dropped
            assert t == pytest.approx(phase + index / 5.0, abs=1e-4)
        read = list(s.iter_camera(cam_id))
        assert len(read) == len(frames)
        assert [t for t, _ in read] == [t for _, t in frames]
        assert all(img.shape == (120, 160, 3) and img.dtype == np.uint8 for _, img in read)
        truth = list(s.iter_camera_truth(cam_id))
        assert [f.frame_index for f in truth] == [i for i, _ in frames]
        model = s.camera_model(cam_id)
        assert model is not None and model.image_size == (160, 120)
    # The shopper is seen: person boxes in both cameras, inside the image.
    for cam_id in ("cam-1", "cam-2"):
        boxes = [b for f in s.iter_camera_truth(cam_id) for b in f.boxes if b.cls == "person"]
        assert boxes and all(b.person_id == 1 for b in boxes)
        assert all(0 <= b.box[0] < b.box[2] <= 160 and 0 <= b.box[1] < b.box[3] <= 120
                   for b in boxes)  # fmt: skip


def test_dropped_frames_are_gaps_in_frames_csv(camera_session):
    from edge.session.reader import Session

    s = Session.open(camera_session)
    frames = s.camera_frames("cam-1")
    indices = [i for i, _ in frames]
    missing = (indices[-1] + 1) - len(indices)
    assert missing > 0  # 10% drop rate over ~250 frames
    assert set(range(indices[-1] + 1)) - set(indices)  # gaps, not a shorter clock
    text = (camera_session / "cameras" / "cam-1.frames.csv").read_text()
    assert text.splitlines()[0] == f"{indices[0]},{frames[0][1]}"


def test_camera_session_is_byte_identical_per_seed(camera_session, tmp_path):
    from edge.session.reader import Session

    _camera_session(tmp_path / "again")
    a, b = Session.open(camera_session), Session.open(tmp_path / "again")
    for cam_id in ("cam-1", "cam-2"):
        assert a.camera_stream(cam_id).sha256 == b.camera_stream(cam_id).sha256
    assert (camera_session / "manifest.json").read_bytes() == (
        tmp_path / "again" / "manifest.json"
    ).read_bytes()


def test_truncated_or_corrupt_video_is_named(camera_session, tmp_path):
    import hashlib
    import json
    import shutil

    from edge.session.errors import SessionError
    from edge.session.reader import Session

    copy = tmp_path / "copy"
    shutil.copytree(camera_session, copy)
    avi = copy / "cameras" / "cam-1.avi"
    data = avi.read_bytes()
    avi.write_bytes(data[: len(data) // 2])
    with pytest.raises(SessionError, match=r"cam-1\.avi: truncated"):
        Session.open(copy)
    # Same size, different bytes: verify names it.
    avi.write_bytes(data[:5000] + bytes(len(data) - 5000))
    with pytest.raises(SessionError, match=r"cam-1\.avi: sha256 mismatch"):
        Session.open(copy).verify()
    # A truncated video whose manifest was rewritten to match: reading names the file.
    short = data[: len(data) // 2]
    avi.write_bytes(short)
    manifest = json.loads((copy / "manifest.json").read_text())
    for stream in manifest["streams"]:
        if stream["path"] == "cameras/cam-1.avi":
            stream["bytes"], stream["sha256"] = len(short), hashlib.sha256(short).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SessionError, match=r"cam-1\.avi: video ends or cannot be decoded"):
        list(Session.open(copy).iter_camera("cam-1"))


def test_camera_stream_writer_refuses_bad_frames(tmp_path):
    from edge.session.writer import SessionWriter
    from sim.stores import render_preset

    with SessionWriter(
        tmp_path / "s", config_text=render_preset("small"), start_time_unix=0.0,
        session_id="t", created_by="test",
    ) as writer:  # fmt: skip
        stream = writer.camera_stream("cam-1", fps=15.0, image_size=(32, 24))
        stream.write(0, 0.0, np.zeros((24, 32, 3), np.uint8))
        with pytest.raises(ValueError, match="frame_index 0 is not after"):
            stream.write(0, 0.1, np.zeros((24, 32, 3), np.uint8))
        with pytest.raises(ValueError, match=r"must be \(24, 32, 3\) uint8"):
            stream.write(1, 0.1, np.zeros((24, 32), np.uint8))
        with pytest.raises(ValueError, match="already has a stream"):
            writer.camera_stream("cam-1", fps=15.0, image_size=(32, 24))
        stream.write(2, 0.2, np.full((24, 32, 3), 200, np.uint8))
        writer.close(duration_s=1.0)
    from edge.session.reader import Session

    s = Session.open(tmp_path / "s")
    assert s.camera_frames("cam-1") == [(0, 0.0), (2, 0.2)]
    frames = list(s.iter_camera("cam-1"))
    assert abs(int(frames[1][1].mean()) - 200) <= 3
    assert s.camera_model("cam-1") is None


def test_sim_generate_cameras_cli(tmp_path):
    import shutil

    from typer.testing import CliRunner

    from edge.cli.sim_cmd import app
    from edge.session.reader import Session

    runner = CliRunner()
    base = ["generate", "--scenario", "one-shopper", "--store", "small", "-q"]
    bad = runner.invoke(app, [*base, "--out", str(tmp_path / "a"), "--cameras",
                              "--camera-size", "64by48"])  # fmt: skip
    assert bad.exit_code == 1 and "--camera-size '64by48'" in bad.output
    # A store whose calibration files are missing: refused before anything is written.
    shutil.copy(Path(PRESETS_DIR) / "small.yaml", tmp_path / "store.yaml")
    missing = runner.invoke(
        app, [*base[:3], "--store", str(tmp_path / "store.yaml"), "--out", str(tmp_path / "b"),
              "--cameras"],
    )  # fmt: skip
    assert missing.exit_code == 1
    assert "calibration/small/cam-1.yaml" in missing.output and "cannot read" in missing.output
    assert not (tmp_path / "b").exists()
    ok = runner.invoke(app, [*base, "--out", str(tmp_path / "c"), "--cameras", "--camera-size",
                             "96x72", "--camera-fps", "2", "--camera-drop", "0"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    s = Session.open(tmp_path / "c")
    frames = s.camera_frames("cam-2")
    assert [i for i, _ in frames] == list(range(len(frames)))  # no drops asked, none made
    assert s.camera_stream("cam-2").extra["width"] == 96
    assert s.manifest.extra["cameras"]["image_size"] == [96, 72]


def _reaching(x: float, hand: tuple[float, float, float], carrying: bool = False) -> PersonPose:
    """A shopper 0.45 m in front of the small store's gondola (front y = 3.0) reaching `hand`."""
    look = replace(Look.sample(np.random.default_rng(5)), height=1.7)
    y = 2.55
    return PersonPose(
        1,
        x,
        y,
        math.pi / 2,
        look,
        resting_hand(x, y, math.pi / 2, look, "left"),
        hand,
        carrying={"right": (30, 200, 30)} if carrying else {},
    )


def _right_hand_visibility(scene: StaticScene, cam: CameraModel, person: PersonPose) -> float:
    out = CameraRenderer(cam, scene).render([person])
    hands = [o for o in out.objects if o.cls == HAND and o.side == "right"]
    return hands[0].visible_fraction if hands else 0.0


def test_hand_in_an_open_shelf_is_seen_from_the_aisle_but_not_through_the_gondola(small):
    """A hand 6 cm inside the 0.95 m shelf (where the simulator puts a picking hand) is seen by
    a camera over the aisle, 0.56 m out: the shelf is open between its boards. The picture's
    gondola is closed at the front, and testing the hand against that hid it. A camera behind
    the gondola still cannot see it."""
    _config, scene, _cams = small
    hand = (3.5, 3.06, 1.01)
    person = _reaching(3.5, hand)
    aisle = CameraModel.looking_down("a", (3.5, 2.5, 3.4), yaw_deg=90.0)
    behind = CameraModel.looking_down("b", (3.5, 4.4, 3.4), yaw_deg=90.0)
    assert aisle.sees(np.array([hand]))[0] and behind.sees(np.array([hand]))[0]
    # 0.29 with the closed front; the top of the hand is under the 1.35 m board.
    assert _right_hand_visibility(scene, aisle, person) > 0.6
    assert _right_hand_visibility(scene, behind, person) < 0.05


def test_board_above_hides_a_hand_from_a_camera_straight_above_the_front(small):
    """Looking straight down on the shelf front, the board of the 1.35 m shelf covers a hand in
    the 0.95 m shelf, and nothing covers one in the top shelf (1.35 m, open above)."""
    _config, scene, _cams = small
    above = CameraModel.looking_down("c", (3.5, 3.05, 3.4), yaw_deg=90.0)
    low = _reaching(3.5, (3.5, 3.06, 1.01))
    top = _reaching(3.5, (3.5, 3.06, 1.41))
    assert _right_hand_visibility(scene, above, low) < 0.05
    assert _right_hand_visibility(scene, above, top) > 0.8


def test_carried_product_hangs_below_the_hand_that_holds_it(small):
    """Seen from above, the product in a hand is under the hand, not drawn over it."""
    _config, scene, _cams = small
    cam = CameraModel.looking_down("d", (3.5, 2.2, 3.4), yaw_deg=90.0)
    person = _reaching(3.5, (3.7, 2.75, 1.0), carrying=True)
    assert _right_hand_visibility(scene, cam, person) > 0.8
