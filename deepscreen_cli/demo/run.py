"""Run the streaming engine on the built-in demo clip and score it segment by segment.

The engine screens the clip exactly as `deepscreen screen` would screen any file (same
detector, tracker, batching, classifier backend and voting); a small recording sink keeps what
it saw on every frame, so the verdicts can be laid against the clip's ground truth afterwards.

Per segment, ``p_fake`` is the mean over the segment's frames of the classifier's probability
for the face on that frame (the most suspicious face when there are several, as the stream
voter does), and the verdict applies the run's voting rule and threshold to those frames alone
(:func:`engine.judge.vote.decide`), as if the segment were its own video.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from deepscreen_cli.demo.clip import DemoClip, Segment, build_demo_clip
from engine.judge.vote import VerdictEvent, decide
from engine.pipeline import PipelineConfig, RunSummary  # before engine.sinks: import order
from engine.sinks.base import FrameView, Sink

NO_FACE = "no face"


@dataclass(frozen=True)
class SegmentResult:
    """What the engine said about one segment.

    Attributes:
        segment: the segment (name, truth, frame range).
        frames: frames of the segment the engine processed.
        scored_frames: frames with at least one classified face.
        mean_p_fake: mean face probability over scored frames (NaN when none).
        verdict: "real", "fake" or "no face" (voting rule over the segment's frames).
        live_verdict: the engine's own stream verdict when the segment ended ("uncertain"
            before its first decision). It votes over a sliding window with hysteresis, so
            it can lag behind a cut: that is the live behaviour a camera user would see.
    """

    segment: Segment
    frames: int
    scored_frames: int
    mean_p_fake: float
    verdict: str
    live_verdict: str = "uncertain"

    @property
    def correct(self) -> bool | None:
        """Verdict matches the ground truth (None without a verdict)."""
        return None if self.verdict == NO_FACE else self.verdict == self.segment.truth


@dataclass
class DemoOutputs:
    """Files the demo wrote."""

    clip: Path
    segments: Path
    stills: Path
    events: Path
    summary_csv: Path
    annotated: Path | None
    report: Path


@dataclass
class DemoResult:
    """Everything the demo produced.

    Attributes:
        clip: the assembled clip and its ground truth.
        segments: one result per segment, in time order.
        timeline: stream-level verdict events, in the order the engine emitted them.
        summary: the engine's :class:`~engine.judge.records.RunSummary`.
        outputs: paths of the files written.
        rule, threshold: the voting rule and decision threshold used.
    """

    clip: DemoClip
    segments: list[SegmentResult]
    timeline: list[VerdictEvent]
    summary: RunSummary
    outputs: DemoOutputs
    rule: str
    threshold: float
    extra: dict = field(default_factory=dict)


class FrameRecorder(Sink):
    """Keeps which frames the engine processed, every face probability with its frame, and
    every verdict event."""

    wants_frames = True

    def __init__(self) -> None:
        self.frames: dict[int, list[float]] = {}
        self.events: list[VerdictEvent] = []

    def on_frame(self, view: FrameView) -> None:
        self.frames.setdefault(view.index, [])

    def on_prediction(self, stream: str, track: int, frame_index: int, t: float,
                      p_fake: float) -> None:
        self.frames.setdefault(frame_index, []).append(float(p_fake))

    def on_event(self, event: VerdictEvent) -> None:
        self.events.append(event)


def verdict_at(timeline: list[VerdictEvent], t: float) -> str:
    """The stream verdict in force at media time ``t``: the last event at or before it."""
    verdict = "uncertain"
    for event in timeline:
        if event.t > t + 1e-9:
            break
        verdict = event.verdict
    return verdict


def score_segments(
    clip: DemoClip,
    frames: dict[int, list[float]],
    rule: str,
    threshold: float,
    timeline: list[VerdictEvent] | None = None,
) -> list[SegmentResult]:
    """Lay the per-frame probabilities against the clip's segments.

    Args:
        clip: the demo clip (segments with frame ranges).
        frames: frame index -> probabilities of the faces visible on that frame.
        rule: voting rule (see :mod:`engine.judge.vote`).
        threshold: decision threshold on p_fake.
        timeline: the engine's stream-level verdict events in time order (for
            ``live_verdict``).

    Returns:
        One :class:`SegmentResult` per segment.
    """
    results = []
    for seg in clip.segments:
        seen = [i for i in frames if seg.contains_frame(i)]
        # One value per frame (the most suspicious face), as the stream voter does.
        per_frame = [max(frames[i]) for i in sorted(seen) if frames[i]]
        if per_frame:
            mean_p = sum(per_frame) / len(per_frame)
            verdict = decide(per_frame, rule, threshold)
        else:
            mean_p, verdict = float("nan"), NO_FACE
        # The segment's last frame starts at (end_frame - 1) / fps.
        live = verdict_at(timeline or [], (seg.end_frame - 1) / seg.fps)
        results.append(SegmentResult(seg, len(seen), len(per_frame), mean_p, verdict, live))
    return results


def run_demo(
    out_dir: str | Path,
    *,
    backend: str = "auto",
    model: str | Path | None = None,
    annotate: bool = True,
    fps: float = 15.0,
    seconds_per_segment: float = 3.0,
    rule: str = "confident",
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Build the demo clip in ``out_dir``, screen it with the streaming engine, score segments.

    Args:
        out_dir: where the clip, events, summary, annotated video and report go.
        backend: classifier backend name (as ``deepscreen screen --backend``).
        model: classifier model; the shipped ``engine/models/classifier.onnx`` when None.
        annotate: also write an annotated copy of the clip.
        fps, seconds_per_segment: clip timing.
        rule: voting rule for the engine and for the per-segment verdicts.
        progress: called with a short message before each step (for a spinner).

    Returns:
        A :class:`DemoResult`.

    Raises:
        ModelError, BackendUnavailable, UsageError: before anything is screened.
    """
    from engine.pipeline.assemble import (
        ClassifierSpec,
        build_classifier,
        build_detector,
        build_pipeline,
    )
    from engine.sinks import AnnotatedVideoSink, CsvSummarySink, JsonlEventSink

    say = progress or (lambda _msg: None)
    out = Path(out_dir)
    # The classifier is loaded first: a missing model fails fast, before any work.
    say("loading the classifier")
    config = PipelineConfig(rule=rule, min_face=40).validate()
    clf = build_classifier(ClassifierSpec(backend=backend, model=Path(model) if model else None))
    detector = build_detector(config)
    say("assembling the demo clip")
    clip = build_demo_clip(out, detector=detector, fps=fps, seconds_per_segment=seconds_per_segment)

    threshold = config.resolve(clf.contract).threshold
    events_path = out / "demo_events.jsonl"
    events_path.unlink(missing_ok=True)  # the events sink appends; one run per file here
    summary_path = out / "demo_summary.csv"
    annotated_path = out / "demo_annotated.mp4" if annotate else None
    recorder = FrameRecorder()
    sinks: list[Sink] = [recorder, JsonlEventSink(events_path, fsync=False),
                         CsvSummarySink(summary_path)]
    if annotated_path is not None:
        sinks.append(AnnotatedVideoSink(annotated_path))
    say(f"screening {clip.n_frames} frames with {clf.name}")
    summary = build_pipeline([str(clip.path)], config, classifier=clf, detector=detector,
                             sinks=sinks).run()

    timeline = [e for e in recorder.events if e.track is None]
    segments = score_segments(clip, recorder.frames, config.rule, threshold, timeline)
    report_path = out / "demo_report.json"
    outputs = DemoOutputs(clip.path, clip.manifest, clip.stills, events_path, summary_path,
                          annotated_path, report_path)
    result = DemoResult(clip, segments, timeline, summary, outputs, config.rule, threshold,
                        {"backend": clf.name, "spectral": clf.spectral_name})
    report_path.write_text(json.dumps(_report(result), indent=2, default=str))
    return result


def _nan_to_none(x: float) -> float | None:
    return None if x != x else round(x, 4)


def _report(result: DemoResult) -> dict:
    return {
        "rule": result.rule,
        "threshold": result.threshold,
        **result.extra,
        "segments": [
            {
                **asdict(r.segment),
                "processed_frames": r.frames,
                "scored_frames": r.scored_frames,
                "mean_p_fake": _nan_to_none(r.mean_p_fake),
                "verdict": r.verdict,
                "live_verdict": r.live_verdict,
                "correct": r.correct,
            }
            for r in result.segments
        ],
        "timeline": [json.loads(e.to_json()) for e in result.timeline],
        "run": json.loads(result.summary.to_json()),
    }
