"""The vote floor (engine/judge/face_floor.py): faces below it are tracked and reported but do
not vote; a stream that only had such faces ends "no decision: faces too small or soft" (exit
4), never "real". On real FF++ footage, downscaled so the faces are ~30 px, and as shipped."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import pytest

from engine.backends.model_traits import KEY_MIN_FACE_PX, ModelTraits, read_min_face
from engine.config.build import pipeline_config
from engine.config.load import parse_screen_file
from engine.judge.face_floor import DEFAULT_MIN_FACE_PX, TOO_SMALL, vote_floor
from engine.judge.records import StreamSummary
from engine.judge.stream_vote import StreamJudge
from engine.judge.vote import VoteConfig
from engine.live.board import LiveBoard
from engine.pipeline import Pipeline, PipelineConfig
from engine.pipeline.config import StreamOverrides
from engine.pipeline.runner import open_sources
from engine.preprocess import InputContract
from tests.faults.cli import read_events, read_summary, run_cli
from tests.shared_data import shared_path
from tests.shipped import shipped_model

VOTE = VoteConfig(rule="mean", threshold=0.5, window=0, min_frames=2, hysteresis=0.0)
FRAMES = 100  # 4 s of the clip: enough for a verdict on the original


def downscaled(src: Path, dst: Path, scale: float, frames: int = FRAMES) -> Path:
    """The first ``frames`` frames of ``src`` shrunk by ``scale`` (mp4v: OpenCV cannot write
    H.264 here)."""
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    out = None
    for _ in range(frames):
        ok, frame = cap.read()
        if not ok:
            break
        small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if out is None:
            out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                  (small.shape[1], small.shape[0]))
        out.write(small)
    cap.release()
    assert out is not None, src
    out.release()
    return dst


@pytest.fixture(scope="module")
def clip() -> Path:
    # FF++ real 519: one frontal face of ~100 px in a 640x480 frame.
    return shared_path("videos", "ffpp-c23", "real", "519.mp4")


@pytest.fixture(scope="module")
def small_clip(clip, tmp_path_factory) -> Path:
    return downscaled(clip, tmp_path_factory.mktemp("small") / "519_small.mp4", 0.3)


def with_floor(model: Path, dst: Path, px: float) -> Path:
    """A copy of ``model`` whose metadata carries a vote floor (same weights)."""
    import onnx

    proto = onnx.load(str(model))
    proto.metadata_props.add(key=KEY_MIN_FACE_PX, value=json.dumps(px))
    onnx.save(proto, str(dst))
    return dst


# ----------------------------------------------------------------------- the judge alone
def feed(judge: StreamJudge, track: int, probs, side: float, start: int = 0) -> None:
    for i, p in enumerate(probs):
        judge.expect(start + i, (start + i) / 25)
        judge.crop(track, start + i, (start + i) / 25, p, 1.0, None, side)


def test_small_faces_are_reported_but_do_not_vote() -> None:
    judge = StreamJudge("s", VOTE, "any-track", min_face=44)
    judge.status(1, confirmed=True, hits=3)
    feed(judge, 1, [0.1, 0.1, 0.1], side=30)
    assert judge.verdict == "uncertain" and judge.reason() == TOO_SMALL
    final = judge.finish()
    track, stream = final[0], final[-1]
    assert track.track == 1 and track.extra["below_floor"] == 3 and track.verdict == "uncertain"
    assert stream.extra["reason"] == TOO_SMALL and stream.extra["vote_min_face"] == 44


def test_one_face_above_the_floor_decides() -> None:
    judge = StreamJudge("s", VOTE, "any-track", min_face=44)
    for track in (1, 2):
        judge.status(track, confirmed=True, hits=3)
    feed(judge, 1, [0.9, 0.9, 0.9], side=30)  # a small face scored fake: not a vote
    feed(judge, 2, [0.1, 0.1], side=60, start=3)
    assert judge.verdict == "real" and judge.below_floor == 3


def test_a_face_too_small_to_confirm_is_the_same_reason() -> None:
    judge = StreamJudge("s", VOTE, "any-track", min_face=44)
    judge.status(1, confirmed=False, hits=5, reject="face too small")
    feed(judge, 1, [0.2, 0.2], side=30)
    judge.status(2, confirmed=False, hits=1, reject="low detector score")
    assert judge.finish()[-1].extra["reason"] == TOO_SMALL


def test_without_a_floor_nothing_changes() -> None:
    judge = StreamJudge("s", VOTE, "any-track")
    judge.status(1, confirmed=True, hits=3)
    feed(judge, 1, [0.1, 0.1], side=10)
    assert judge.verdict == "real" and judge.below_floor == 0


# --------------------------------------------------------------- where the floor comes from
def test_the_option_wins_then_the_model_then_the_default() -> None:
    assert vote_floor(None, None) == DEFAULT_MIN_FACE_PX == 44.0
    assert vote_floor(None, 80.0) == 80.0 and vote_floor(0.0, 80.0) == 0.0
    contract = InputContract()
    traits = ModelTraits(uses_spectrum=False, flip_in_graph=True, min_face_px=60.0)
    assert PipelineConfig().resolve(contract).vote_min_face == 44.0
    assert PipelineConfig().resolve(contract, traits).vote_min_face == 60.0
    assert PipelineConfig(vote_min_face=20).resolve(contract, traits).vote_min_face == 20.0


def test_metadata_values_are_checked() -> None:
    assert read_min_face({}) is None
    assert read_min_face({KEY_MIN_FACE_PX: "52"}) == 52.0
    for bad in ('"52"', "true", "-1", "NaN"):
        with pytest.raises(ValueError):
            read_min_face({KEY_MIN_FACE_PX: bad})


def test_config_file_sets_the_floor_per_stream(tmp_path) -> None:
    text = ("defaults:\n  vote_min_face: 30\nstreams:\n  lobby:\n    source: a.mp4\n"
            "    vote_min_face: 120\n  yard:\n    source: b.mp4\n")
    config = pipeline_config(parse_screen_file(text, tmp_path / "screen.yaml").file)
    assert config.vote_min_face == 30
    assert config.for_stream("lobby").vote_min_face == 120
    assert config.for_stream("yard").vote_min_face == 30


def test_the_live_board_says_why_there_is_no_verdict() -> None:
    board = LiveBoard(crops=False)
    board.open(["cam"])
    board.on_tick([StreamSummary("cam", processed=5, reason=TOO_SMALL)])
    (stream,) = board.snapshot()["streams"]
    assert stream["verdict"] == "uncertain" and stream["reason"] == TOO_SMALL


# ------------------------------------------------------------------ real footage, the CLI
def test_faces_of_30_px_end_no_decision_with_the_reason(small_clip, tmp_path) -> None:
    events, summary = tmp_path / "e.jsonl", tmp_path / "s.csv"
    run = run_cli(str(small_clip), "--model", str(shipped_model()), "--events", str(events),
                  "--summary", str(summary))
    assert run.returncode == 4, run.stderr
    assert "519_small.mp4: no decision: faces too small or soft" in run.stdout
    (row,) = read_summary(summary)
    assert row["outcome"] == "no_decision" and row["reason"] == TOO_SMALL
    assert int(row["below_floor"]) > 0 and float(row["vote_min_face"]) == DEFAULT_MIN_FACE_PX
    final = read_events(events)[-1]
    assert final["track"] is None and final["final"] and final["reason"] == TOO_SMALL
    # The faces were found and classified: tracked and reported, only not voted.
    assert int(row["tracks"]) >= 1 and int(row["classified"]) > 0


def test_faces_below_the_floor_are_classified_at_the_settled_rate(small_clip) -> None:
    """The budget spends no full rate on faces that cannot vote: the same outcome with fewer
    crops than with the budget off (every frame)."""
    runs = {}
    for hz in ("5", "0"):
        run = run_cli(str(small_clip), "--model", str(shipped_model()), "--settled-hz", hz,
                      "--json", "--quiet")
        assert run.returncode == 4, run.stderr
        (runs[hz],) = json.loads(run.stdout)["streams"]
    assert runs["5"]["reason"] == runs["0"]["reason"] == TOO_SMALL
    # 100 frames at 25 fps = 4 s: at 5 Hz about 20 crops a track, against up to 100.
    assert 0 < runs["5"]["classified"] <= runs["0"]["classified"] / 3


def test_without_the_floor_the_same_faces_would_be_judged(small_clip) -> None:
    """The override: with the floor and the confirmation size at 0 (and a detector that looks
    for 20 px faces) the 30 px faces vote, and the stream gets a verdict on them."""
    run = run_cli(str(small_clip), "--model", str(shipped_model()), "--vote-min-face", "0",
                  "--confirm-min-side", "0", "--min-face", "20", "--json", "--quiet")
    assert run.returncode in (0, 3), run.stderr
    (s,) = json.loads(run.stdout)["streams"]
    assert s["below_floor"] == 0 and s["vote_min_face"] == 0 and s["verdict"] in ("real", "fake")


def test_a_model_with_the_key_uses_its_floor(clip, tmp_path) -> None:
    model = with_floor(shipped_model(), tmp_path / "classifier.onnx", 150.0)
    run = run_cli(str(clip), "--model", str(model), "--max-frames", str(FRAMES), "--json",
                  "--quiet")
    assert run.returncode == 4, run.stderr
    (s,) = json.loads(run.stdout)["streams"]
    assert s["reason"] == TOO_SMALL and s["vote_min_face"] == 150.0
    # ... and the option overrides the model's value.
    run = run_cli(str(clip), "--model", str(model), "--max-frames", str(FRAMES), "--json",
                  "--quiet", "--vote-min-face", "44")
    assert run.returncode in (0, 3), run.stderr
    assert json.loads(run.stdout)["streams"][0]["below_floor"] == 0


# ------------------------------------------------------------- FF++ stays decided (pipeline)
def test_every_ffpp_clip_stays_decided(stack) -> None:
    """The FF++ c23 faces (91-264 px) are all above v9's floor: all six clips decide on their
    confirmed faces (one per-stream override shows the same footage can still abstain)."""
    root = shared_path("videos", "ffpp-c23")
    clips = sorted(root.glob("*/*.mp4"))
    assert len(clips) == 6
    backend, feature, detector = stack
    sources = open_sources([str(c) for c in clips])
    sources[0].name = "raised"
    extra = open_sources([str(clips[0])])
    config = PipelineConfig(max_frames=FRAMES, streams={
        "raised": StreamOverrides(vote_min_face=400.0)})
    summary = Pipeline([*sources[1:], *extra, sources[0]], config, detector, backend,
                       feature).run()
    assert not summary.error
    *ffpp, raised = summary.streams
    for s in ffpp:
        assert s.outcome in ("real", "fake") and s.vote_min_face == DEFAULT_MIN_FACE_PX, s
        # (a stray small detection may fall below the floor: it never decided anything)
        assert s.tracks_decided >= 1, s.track_verdicts
    assert raised.outcome == "no_decision" and raised.reason == TOO_SMALL
    assert raised.vote_min_face == 400.0 and raised.below_floor == raised.classified > 0
    assert math.isnan(raised.p_fake)
