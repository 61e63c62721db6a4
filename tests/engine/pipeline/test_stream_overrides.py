"""Per-stream configuration in the scheduler (PipelineConfig.streams / for_stream), on real
FF++ footage: two streams of one run differ only by their overrides."""

from __future__ import annotations

import json

import pytest

from engine.errors import UsageError
from engine.pipeline import Pipeline, PipelineConfig
from engine.pipeline.config import StreamOverrides
from engine.pipeline.runner import open_sources
from engine.sinks import JsonlEventSink
from tests.shared_data import shared_path


def test_for_stream_applies_only_the_fields_set() -> None:
    config = PipelineConfig(detect_every=5, threshold=0.5, streams={
        "lobby": StreamOverrides(threshold=0.7, min_face=60)})
    lobby = config.for_stream("lobby")
    assert (lobby.threshold, lobby.min_face, lobby.detect_every) == (0.7, 60, 5)
    assert lobby.streams == {}
    assert config.for_stream("yard") is config


def test_a_bad_override_names_its_stream() -> None:
    config = PipelineConfig(streams={"door": StreamOverrides(detect_every=0)})
    with pytest.raises(UsageError, match="stream door: detect_every"):
        config.validate()


def test_two_streams_run_with_their_own_settings(tmp_path, stack) -> None:
    clip = shared_path("videos", "ffpp-c23", "real", "004.mp4")
    backend, feature, detector = stack
    sources = open_sources([str(clip)] * 2)
    sources[0].name, sources[1].name = "lobby", "corridor"
    config = PipelineConfig(max_frames=30, min_frames=4, streams={
        "corridor": StreamOverrides(threshold=0.8, detect_every=2, classify_every=3,
                                    min_face=60, stream_rule="frame-max")})
    events = tmp_path / "events.jsonl"
    pipe = Pipeline(sources, config, detector, backend, feature, [JsonlEventSink(events)])
    summary = pipe.run()
    lobby, corridor = summary.streams
    assert lobby.processed == corridor.processed == 30
    # Same frames, same faces: only the overrides make the difference.
    assert corridor.detector_runs > lobby.detector_runs
    assert corridor.classified < lobby.classified
    assert (lobby.stream_rule, corridor.stream_rule) == ("any-track", "frame-max")
    assert pipe.detectors(60) is not pipe.detectors(40)
    assert pipe.detectors(60).min_face == 60 and pipe.detectors(60).nets is detector.nets
    thresholds = {}
    for line in events.read_text().splitlines():
        event = json.loads(line)
        thresholds.setdefault(event["stream"], set()).add(event["threshold"])
    assert thresholds["corridor"] == {0.8}
    assert thresholds["lobby"] == {round(backend.contract.threshold, 6)}
