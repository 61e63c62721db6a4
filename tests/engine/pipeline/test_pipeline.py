"""The scheduler end to end on real inputs: accounting, no-face sources, odd and gray frames,
cross-stream batching, metrics scraped while it runs."""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import cv2
import numpy as np
import pytest
from skimage import data

from engine.errors import UsageError
from engine.memory import heap_supported
from engine.metrics import MetricsServer
from engine.pipeline import Pipeline, PipelineConfig, PipelineMetrics, run_pipeline
from engine.pipeline.runner import open_sources
from engine.sinks import JsonlEventSink
from tests.shared_data import shared_path


def run(specs, stack, config=None, sinks=(), metrics=None, stop=None):
    backend, feature, detector = stack
    sources = open_sources([str(s) for s in specs])
    pipe = Pipeline(sources, config or PipelineConfig(), detector, backend, feature, sinks,
                    metrics, stop)
    return pipe, pipe.run()


def assert_accounting(summary) -> None:
    for s in summary.streams:
        assert s.read == s.processed + s.dropped, s
        assert s.dropped == s.dropped_source + s.dropped_pipeline


def test_no_face_source_is_no_decision(tmp_path, stack) -> None:
    for i, img in enumerate((data.coffee(), data.rocket(), data.chelsea())):
        cv2.imwrite(str(tmp_path / f"{i:02d}.png"), img[:, :, ::-1])
    events = tmp_path / "events.jsonl"
    _, summary = run([tmp_path], stack, PipelineConfig(detect_every=1),
                     sinks=[JsonlEventSink(events)])
    (s,) = summary.streams
    assert s.processed == 3 and s.detections == 0 and s.classified == 0
    assert s.verdict == "uncertain" and s.outcome == "no_decision"
    assert summary.exit_code == 4 and not summary.error
    assert_accounting(summary)
    (final,) = [json.loads(x) for x in events.read_text().splitlines()]
    assert final["track"] is None and final["verdict"] == "uncertain" and final["final"]


def test_odd_size_and_grayscale_frames(tmp_path, stack) -> None:
    face = data.astronaut()[:, :, ::-1]
    gray = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)
    frames = [gray[:301, :257], face[:299, 3:260], gray[1:300, :255], gray]
    for i, img in enumerate(frames * 3):
        cv2.imwrite(str(tmp_path / f"{i:02d}.png"), img)
    config = PipelineConfig(detect_every=2, min_frames=4, window=8)
    _, summary = run([tmp_path], stack, config)
    (s,) = summary.streams
    assert not summary.error
    assert s.processed == 12 and s.detections >= 6 and s.classified >= 6
    assert s.verdict in ("real", "fake") and summary.exit_code in (0, 3)
    assert_accounting(summary)


def test_two_streams_share_batches_and_account_every_frame(stack) -> None:
    real = shared_path("videos", "ffpp-c23", "real", "519.mp4")
    fake = shared_path("videos", "ffpp-c23", "fake-deepfakes", "519_515.mp4")
    config = PipelineConfig(detect_every=5, max_frames=30, max_batch=8, max_wait_ms=1000)
    pipe, summary = run([real, fake], stack, config)
    assert not summary.error
    assert [s.stream for s in summary.streams] == ["519.mp4", "519_515.mp4"]
    for s in summary.streams:
        # Every frame's face is classified or counted as skipped by the budget (a settled
        # track is classified 5 times a second by default).
        assert s.processed == 30 and s.frames >= config.min_frames
        assert s.classified + s.skipped_settled + s.skipped_budget >= 30
        assert s.verdict in ("real", "fake")
    assert_accounting(summary)
    # With a long max wait, batches fill up with crops of both streams.
    assert summary.batches.max_size == 8 and summary.batches.mean_size > 4
    for stage in ("detect", "track", "crop", "spectral", "preprocess", "classify", "vote"):
        assert summary.stages[stage].count > 0
    # Every detector run is timed: whole frame ("detect") or around the tracks.
    runs = summary.stages["detect"].count + summary.stages["detect_regions"].count
    assert runs == sum(s.detector_runs for s in summary.streams)


def test_stop_event_ends_the_run_with_final_verdicts(tmp_path, stack) -> None:
    clip = shared_path("videos", "ffpp-c23", "real", "519.mp4")
    backend, feature, detector = stack
    stop = threading.Event()
    events = tmp_path / "e.jsonl"
    sources = open_sources([str(clip)], realtime=True)
    pipe = Pipeline(sources, PipelineConfig(), detector, backend, feature,
                    [JsonlEventSink(events)], None, stop)
    timer = threading.Timer(2.0, stop.set)
    timer.start()
    t0 = time.monotonic()
    summary = pipe.run()
    timer.cancel()
    assert time.monotonic() - t0 < 15
    (s,) = summary.streams
    assert summary.interrupted and 0 < s.processed < 751
    assert_accounting(summary)
    lines = [json.loads(x) for x in events.read_text().splitlines()]
    assert lines[-1]["track"] is None and lines[-1]["final"] is True
    assert lines[-1]["verdict"] == s.verdict


def value(exposition: str, series: str) -> float:
    """The sample value of one series in a Prometheus exposition (0 when absent)."""
    for line in exposition.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_scraped_while_running(stack) -> None:
    clip = shared_path("videos", "ffpp-c23", "real", "519.mp4")
    backend, feature, detector = stack
    metrics = PipelineMetrics()
    stop = threading.Event()
    sources = open_sources([str(clip)], realtime=True)
    pipe = Pipeline(sources, PipelineConfig(), detector, backend, feature, (), metrics, stop)
    server = MetricsServer(metrics.registry, pipe.health, port=0).start()
    scraped = {}

    def scrape_then_stop() -> None:
        base = f"http://127.0.0.1:{server.port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
                text = r.read().decode()
            if value(text, 'deepscreen_faces_classified_total{stream="519.mp4"}') > 0:
                break
            time.sleep(0.2)
        scraped["metrics"] = text
        with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
            scraped["health"] = (r.status, json.loads(r.read()))
        stop.set()

    thread = threading.Thread(target=scrape_then_stop)
    thread.start()
    try:
        summary = pipe.run()
    finally:
        thread.join(30)
        server.stop()
    text = scraped["metrics"]
    assert "deepscreen_up 1" in text
    assert 'deepscreen_source_state{stream="519.mp4",state="streaming"} 1' in text
    for name in ("frames_read", "frames_processed", "faces_detected", "faces_classified"):
        assert value(text, f'deepscreen_{name}_total{{stream="519.mp4"}}') > 0, name
    assert 'deepscreen_frames_dropped_total{stream="519.mp4",where="source"}' in text
    assert 'deepscreen_stage_latency_seconds_count{stage="detect"}' in text
    assert "deepscreen_batch_size_bucket" in text
    # The RSS gauge is this process's resident set: tens of MiB at least, well below 100 GiB.
    assert 50 * 2**20 < value(text, "deepscreen_process_resident_bytes") < 100 * 2**30
    if heap_supported():
        assert value(text, 'deepscreen_heap_bytes{kind="in_use"}') > 10 * 2**20
        assert 'deepscreen_heap_bytes{kind="free"}' in text
    assert scraped["health"] == (200, {"status": "ok", "streams": {"519.mp4": "streaming"}})
    assert summary.interrupted
    assert_accounting(summary)


def test_run_pipeline_builds_what_it_is_not_given(model_path) -> None:
    clip = shared_path("videos", "ffpp-c23", "real", "004.mp4")
    summary = run_pipeline([str(clip)], PipelineConfig(max_frames=10, detect_every=5),
                           model=model_path, backend_name="ort", spectral_backend="cpu")
    (s,) = summary.streams
    assert s.processed == 10 and summary.backend == "ort-cpu"
    assert summary.spectral == "none"  # the shipped model never reads it: not computed
    assert np.isfinite(summary.stages["classify"].mean_ms)
    assert_accounting(summary)


def test_heap_is_trimmed_periodically_and_trim_can_be_off(tmp_path, stack) -> None:
    face = data.astronaut()[:, :, ::-1]
    for i in range(6):
        cv2.imwrite(str(tmp_path / f"{i:02d}.png"), face)
    _, on = run([tmp_path], stack, PipelineConfig(detect_every=1, trim_every_s=1e-4))
    _, off = run([tmp_path], stack, PipelineConfig(detect_every=1, trim_every_s=0))
    assert on.stages["trim"].count >= 1
    assert "trim" not in off.stages
    for summary in (on, off):
        assert not summary.error and summary.streams[0].processed == 6
        assert_accounting(summary)


@pytest.mark.parametrize("field", ["trim_every_s", "mmap_threshold_kb"])
def test_negative_memory_settings_are_usage_errors(field) -> None:
    with pytest.raises(UsageError, match=field):
        PipelineConfig(**{field: -1}).validate()
