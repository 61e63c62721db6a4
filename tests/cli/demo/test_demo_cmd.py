"""`deepscreen demo` end to end, and the per-segment scoring behind its table."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deepscreen_cli.demo.clip import DemoClip, plan_segments
from deepscreen_cli.demo.run import NO_FACE, score_segments, verdict_at
from engine.judge.vote import VerdictEvent

REPO = Path(__file__).resolve().parents[3]
SHIPPED_MODEL = REPO / "engine" / "models" / "classifier.onnx"


def _clip(fps: float = 10.0, seconds: float = 1.0) -> DemoClip:
    segs = plan_segments(fps, seconds)
    return DemoClip(Path("x.mp4"), Path("x.json"), Path("x.png"), fps, (640, 480), segs)


def test_score_segments_assigns_frames_and_votes_per_segment() -> None:
    clip = _clip()  # 4 segments of 10 frames
    frames: dict[int, list[float]] = {}
    for i in range(0, 10):
        frames[i] = [0.1]  # real-looking
    for i in range(10, 20):
        frames[i] = [0.2, 0.95] if i % 2 else []  # two faces: the most suspicious one counts
    for i in range(20, 30):
        frames[i] = []  # no face at all
    # segment 4 not processed at all
    res = score_segments(clip, frames, rule="mean", threshold=0.5)
    assert [r.segment.name for r in res] == [s.name for s in clip.segments]
    assert (res[0].frames, res[0].scored_frames, res[0].verdict) == (10, 10, "real")
    assert res[0].mean_p_fake == pytest.approx(0.1)
    assert (res[1].frames, res[1].scored_frames, res[1].verdict) == (10, 5, "fake")
    assert res[1].mean_p_fake == pytest.approx(0.95)
    assert res[0].correct is True and res[1].correct is True
    assert res[2].verdict == NO_FACE and res[2].frames == 10 and math.isnan(res[2].mean_p_fake)
    assert res[2].correct is None
    assert res[3].frames == 0 and res[3].verdict == NO_FACE


def test_score_segments_uses_the_voting_rule() -> None:
    clip = _clip()
    # 4 of 10 frames fake-looking: both the mean and a majority vote say real; with 6 of 10,
    # the majority says fake.
    frames = {i: [0.9 if i < 4 else 0.2] for i in range(10)}
    assert score_segments(clip, frames, "mean", 0.5)[0].verdict == "real"
    assert score_segments(clip, frames, "majority", 0.5)[0].verdict == "real"
    frames = {i: [0.9 if i < 6 else 0.3] for i in range(10)}
    assert score_segments(clip, frames, "majority", 0.5)[0].verdict == "fake"


def _event(t: float, verdict: str) -> VerdictEvent:
    return VerdictEvent(stream="demo", track=None, t=t, verdict=verdict, p_fake=0.5, frames=8,
                        rule="mean")


def test_live_verdict_is_the_stream_verdict_in_force_at_each_segment_end() -> None:
    clip = _clip()  # segments end on frames 9, 19, 29, 39 = 0.9, 1.9, 2.9, 3.9 s
    timeline = [_event(0.7, "real"), _event(1.5, "fake"), _event(1.9, "real"),
                _event(3.95, "fake")]
    assert verdict_at(timeline, 0.5) == "uncertain"
    assert verdict_at(timeline, 1.9) == "real"  # an event at exactly t counts
    frames = {i: [0.1] for i in range(40)}
    res = score_segments(clip, frames, "mean", 0.5, timeline)
    assert [r.live_verdict for r in res] == ["real", "real", "real", "real"]
    res = score_segments(clip, frames, "mean", 0.5, timeline[:2])
    assert [r.live_verdict for r in res] == ["real", "fake", "fake", "fake"]
    assert score_segments(clip, frames, "mean", 0.5)[0].live_verdict == "uncertain"


def _run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deepscreen_cli.app", "demo", *args],
        capture_output=True, text=True, timeout=timeout, cwd=REPO,
        env={**os.environ, "COLUMNS": "200"},  # rich would otherwise truncate at 80 columns
    )


def test_demo_with_a_missing_model_fails_with_one_line(tmp_path) -> None:
    pytest.importorskip("engine.pipeline.scheduler", reason="streaming pipeline not present yet")
    out = _run("--out", str(tmp_path), "--model", str(tmp_path / "nope.onnx"))
    assert out.returncode in (1, 2), out.stderr
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().startswith("error:")


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path) -> None:
    pytest.importorskip("engine.pipeline.scheduler", reason="streaming pipeline not present yet")
    if not SHIPPED_MODEL.exists():
        pytest.skip(f"no shipped classifier yet: {SHIPPED_MODEL}")
    out = _run("--out", str(tmp_path), "--seconds", "1", "--no-annotate")
    assert out.returncode == 0, out.stdout + out.stderr
    for name in ("hopper", "hopper-swapped", "astronaut", "astronaut-swapped"):
        assert name in out.stdout
    report = json.loads((tmp_path / "demo_report.json").read_text())
    segs = report["segments"]
    assert [s["truth"] for s in segs] == ["real", "fake", "real", "fake"]
    # Every frame of the clip went through the engine, and every segment had its face scored.
    assert sum(s["processed_frames"] for s in segs) == segs[-1]["end_frame"]
    for s in segs:
        assert s["scored_frames"] >= s["processed_frames"] // 2, s
        assert 0.0 <= s["mean_p_fake"] <= 1.0
        assert s["verdict"] in ("real", "fake")
        assert s["live_verdict"] in ("uncertain", "real", "fake")
    run = report["run"]
    assert run["error"] in ("", None)
    stream = run["streams"][0]
    assert stream["read"] == stream["processed"] + stream["dropped"]
    for name in ("demo_clip.mp4", "demo_segments.json", "demo_events.jsonl", "demo_summary.csv"):
        assert (tmp_path / name).stat().st_size > 0
    assert str(tmp_path / "demo_clip.mp4") in out.stdout.replace("\n", "")
