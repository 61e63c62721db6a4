"""What a user sizes besides throughput: time to first verdict, onset latency, verdict equality.

All three run the engine as `deepscreen screen` does (:func:`engine.pipeline.build_pipeline`,
every clip a concurrent file stream, crops batched across them) and read the stream verdict
events:

* **time to first verdict**: media seconds until a stream's first ``fake`` verdict;
* **onset latency**: a DeepFaceLive demo played as its real half followed by its swap half
  (:class:`bench.chain_source.ChainedVideoSource`, the face track runs on across the switch):
  media seconds from the switch to the first ``fake`` stream verdict after it (``None`` when
  the swap half is never called fake; a stream already fake at the switch has no onset);
* **verdict equality**: every clip's final stream verdict with the classification budget on
  and off (:mod:`engine.budget`).

Media seconds, not wall time: the figures are the same on any machine for a file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from bench.chain_source import ChainedVideoSource
from engine.budget import BudgetConfig
from engine.judge.verdicts import FAKE
from engine.pipeline import PipelineConfig, build_pipeline
from engine.protocols import FaceClassifier, FaceDetector
from engine.sinks.base import Sink
from engine.sources.base import Source

SHARED_VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
TTFV_CLIP = SHARED_VIDEOS / "ffpp-c23" / "fake-deepfakes" / "519_515.mp4"


@dataclass
class StreamTiming:
    """One stream's verdict timeline.

    Attributes:
        stream: the stream name.
        verdict: final stream verdict.
        p_fake: final stream score.
        first_fake_t: media time of the first ``fake`` stream verdict (None: never).
        switch_t: media time at which the second file of a chained source began (None: one
            file).
        fake_at_switch: the stream verdict was already ``fake`` when the switch came.
        onset_s: seconds from the switch to the first ``fake`` verdict after it (None: none,
            or no switch, or fake already).
        classified: crops classified; skipped: crops the budget saved.
    """

    stream: str
    verdict: str
    p_fake: float
    first_fake_t: float | None = None
    switch_t: float | None = None
    fake_at_switch: bool = False
    onset_s: float | None = None
    classified: int = 0
    skipped: int = 0


@dataclass
class _EventLog(Sink):
    """The stream verdict changes, in order, per stream."""

    events: dict = field(default_factory=dict)

    def on_event(self, event) -> None:
        if event.track is None and not event.final:
            self.events.setdefault(event.stream, []).append((event.t, event.verdict))


def timings(sources: Sequence[str | Source], config: PipelineConfig,
            classifier: FaceClassifier, detector: FaceDetector) -> list[StreamTiming]:
    """Screen ``sources`` together once; one :class:`StreamTiming` per source."""
    log = _EventLog()
    pipeline = build_pipeline(list(sources), config, classifier=classifier, detector=detector,
                              sinks=[log])
    opened = [st.source for st in pipeline.states]
    summary = pipeline.run()
    if summary.error:
        raise RuntimeError(f"run failed: {summary.error}")
    out = []
    for src, s in zip(opened, summary.streams, strict=True):
        events = log.events.get(s.stream, [])
        first = next((t for t, v in events if v == FAKE), None)
        timing = StreamTiming(s.stream, s.verdict, s.p_fake, first, classified=s.classified,
                              skipped=s.skipped_settled + s.skipped_budget)
        starts = getattr(src, "starts", [])
        if len(starts) > 1:
            timing.switch_t = switch = starts[1]
            before = [v for t, v in events if t < switch]
            timing.fake_at_switch = bool(before) and before[-1] == FAKE
            after = next((t for t, v in events if v == FAKE and t >= switch), None)
            if after is not None and not timing.fake_at_switch:
                timing.onset_s = after - switch
        out.append(timing)
    return out


def demo_pairs(root: Path = SHARED_VIDEOS / "deepfacelive") -> list[tuple[Path, Path]]:
    """(real half, swap half) of every DeepFaceLive demo with both files under ``root``."""
    return [(real, root / "fake" / real.name) for real in sorted((root / "real").glob("*.mp4"))
            if (root / "fake" / real.name).is_file()]


def shared_clips(root: Path = SHARED_VIDEOS) -> list[Path]:
    """The clips of the verdict-equality check: FF++ c23 and both halves of every demo."""
    clips = sorted((root / "ffpp-c23").glob("*/*.mp4"))
    for real, fake in demo_pairs(root / "deepfacelive"):
        clips += [real, fake]
    return clips


@dataclass
class BudgetCheck:
    """The budget against the full-rate engine on the same clips (one run each).

    Attributes:
        budget: the budget's options (``settled_hz`` etc.).
        clips: per clip, (name, verdict off, verdict on, crops off, crops on).
        identical: every clip's final verdict is the same on and off.
        ttfv_off_s, ttfv_on_s: time to first verdict on :data:`TTFV_CLIP` (None: not in the
            clips or never fake).
        onsets: per demo, (name, onset off, onset on, fake at switch off, on).
    """

    budget: dict
    clips: list[tuple[str, str, str, int, int]]
    identical: bool
    crops_off: int
    crops_on: int
    ttfv_off_s: float | None = None
    ttfv_on_s: float | None = None
    onsets: list[tuple] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def budget_check(clips: Sequence[Path], pairs: Sequence[tuple[Path, Path]],
                 config: PipelineConfig, classifier: FaceClassifier, detector: FaceDetector,
                 budget: BudgetConfig, say=print) -> BudgetCheck:
    """Screen ``clips`` and the chained ``pairs`` with the budget off, then on.

    Args:
        clips: clips whose final verdicts must agree (and the TTFV clip, when among them).
        pairs: (real, swap) halves for the onset latency.
        config: the pipeline options both runs share; its ``budget`` is replaced.
        budget: the budget of the "on" run.
    """
    runs = {}
    for label, b in (("off", BudgetConfig(settled_hz=0.0)), ("on", budget)):
        sources: list[str | Source] = [str(c) for c in clips]
        sources += [ChainedVideoSource([r, f], name=f"{r.stem}:real+fake") for r, f in pairs]
        runs[label] = timings(sources, replace(config, budget=b), classifier, detector)
        say(f"  budget {label}: {sum(t.classified for t in runs[label])} crops classified, "
            f"{sum(t.skipped for t in runs[label])} skipped")
    n = len(clips)
    # Named by folder and file: the two halves of a demo share a file name.
    rows = [(f"{Path(c).parent.name}/{Path(c).name}", a.verdict, b.verdict, a.classified,
             b.classified) for c, a, b in zip(clips, runs["off"][:n], runs["on"][:n],
                                               strict=True)]
    check = BudgetCheck(
        budget=asdict(budget), clips=rows, identical=all(r[1] == r[2] for r in rows),
        crops_off=sum(r[3] for r in rows), crops_on=sum(r[4] for r in rows))
    for i, clip in enumerate(clips):
        if Path(clip).name == TTFV_CLIP.name:
            check.ttfv_off_s = runs["off"][i].first_fake_t
            check.ttfv_on_s = runs["on"][i].first_fake_t
    for a, b in zip(runs["off"][n:], runs["on"][n:], strict=True):
        check.onsets.append((a.stream, a.onset_s, b.onset_s, a.fake_at_switch, b.fake_at_switch))
    return check


def fmt_s(value: float | None) -> str:
    """Seconds for a table ("-" for none)."""
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:.2f}"


def budget_markdown(check: dict) -> list[str]:
    """The budget check of a bench.json as Markdown lines (see :class:`BudgetCheck`)."""
    b = check["budget"]
    lines = [f"### Classification budget: settled tracks at {b['settled_hz']:g} Hz against "
             "every frame", ""]
    saved = 1 - check["crops_on"] / check["crops_off"] if check["crops_off"] else float("nan")
    ttfv = [check.get("ttfv_off_s"), check.get("ttfv_on_s")]
    ratio = (ttfv[1] / ttfv[0] if None not in ttfv and ttfv[0] else None)
    lines += [f"Every clip's final verdict identical on and off: "
              f"**{'yes' if check['identical'] else 'NO'}** ({len(check['clips'])} clips); "
              f"crops classified {check['crops_off']} -> {check['crops_on']} "
              f"({100 * saved:.0f} % fewer). Time to first verdict on {TTFV_CLIP.name}: "
              f"{fmt_s(ttfv[0])} s at full rate, {fmt_s(ttfv[1])} s with the budget"
              + (f" ({100 * (ratio - 1):+.0f} %)." if ratio is not None else "."), ""]
    lines += ["| clip | verdict off | verdict on | crops off | crops on |",
              "| --- | --- | --- | --- | --- |"]
    lines += [f"| {n} | {a} | {b_} | {co} | {cn} |" for n, a, b_, co, cn in check["clips"]]
    if check.get("onsets"):
        lines += ["", "Onset latency (real half, then swap half; seconds from the switch to the "
                  "first fake stream verdict; '-' = the swap half never called fake; 'fake "
                  "before' = the real half was already called fake):", "",
                  "| demo | onset off (s) | onset on (s) |", "| --- | --- | --- |"]
        for name, off, on, fake_off, fake_on in check["onsets"]:
            lines.append(f"| {name} | {'fake before' if fake_off else fmt_s(off)} | "
                         f"{'fake before' if fake_on else fmt_s(on)} |")
    return lines + [""]


def issue32_targets(doc: dict) -> list[list[str]]:
    """Rows (target, measured, met) of the classifier-budget targets that this document has."""
    rows = []
    sc = doc.get("scaling", {})
    if "max_realtime_streams_engine" in sc:
        n = sc["max_realtime_streams_engine"]
        rows.append([">= 4 simultaneous 640x480 streams in real time (engine, 25 fps each)",
                     f"{n} (of {[r['streams'] for r in sc['rows']]})", "yes" if n >= 4 else "no"])
    runs = doc.get("street", {}).get("runs", [])
    if runs:
        best = max(runs, key=lambda r: r["fps"])
        rows.append(["street.mp4 (1080p) looped in real time (>= 25 fps)",
                     f"{best['fps']:.1f} fps (full detection every "
                     f"{best['full_detect_every'] or 'detection'})",
                     "yes" if best["fps"] >= 25 else "no"])
    base = doc.get("baseline", {}).get("fps")
    if base and sc.get("rows"):
        one = next((r for r in sc["rows"] if r["streams"] == 1), None)
        if one is not None and one.get("engine_fps"):
            ratio = one["engine_fps"] / base
            rows.append([">= 10x the baseline (1 stream, engine)", f"{ratio:.1f}x",
                         "yes" if ratio >= 10 else "no"])
    check = doc.get("budget_check", {})
    if check.get("clips"):
        off, on = check.get("ttfv_off_s"), check.get("ttfv_on_s")
        if off is not None and on is not None:
            rows.append([f"time to first verdict on {TTFV_CLIP.name} <= 1.2x full rate",
                         f"{on:.2f} s vs {off:.2f} s",
                         "yes" if on <= 1.2 * off + 1e-9 else "no"])
        pairs = [(a, b) for _, a, b, fa, fb in check.get("onsets", []) if not (fa or fb)]
        caught = [(a, b) for a, b in pairs if a is not None and b is not None]
        late = [b - a for a, b in caught]
        missed = sum(a is not None and b is None for a, b in pairs)
        rows.append(["onset latency <= full rate + 1 s (DeepFaceLive demos)",
                     f"{len(caught)} demos caught at both rates, worst +"
                     f"{max(late):.2f} s; {missed} caught only at full rate" if caught else
                     f"no demo's swap half called fake at full rate ({len(pairs)} demos)",
                     ("yes" if max(late) <= 1.0 and not missed else "no") if caught else "-"])
        rows.append(["every shared clip's verdict identical, budget on and off",
                     f"{sum(r[1] == r[2] for r in check['clips'])}/{len(check['clips'])}",
                     "yes" if check["identical"] else "no"])
    return rows
