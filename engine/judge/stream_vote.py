"""The stream verdict: which faces vote, how much each crop counts, and how tracks make a stream.

A :class:`StreamJudge` holds one stream's evidence: a :class:`~engine.judge.vote.Voter` per face
track (fed every classified crop of the track) and the stream verdict made from them under a
*stream rule*:

``any-track`` (default)
    The stream is fake as soon as one confirmed track is fake (live, or ended fake); real when
    at least one confirmed track has a verdict and none is fake. Score: the highest track
    score. The screening default: one swapped face among honest ones is the attack, and
    averaging it with the honest faces would hide it.
``majority-of-tracks``
    Fake when more than half of the confirmed tracks with a verdict are fake. Score: the fake
    share of those tracks.
``frame-max``
    The engine's earlier rule: a stream voter fed one value per frame, the highest p_fake
    among the frame's crops of confirmed tracks.

Only confirmed tracks (:mod:`engine.judge.confirm`) vote; the others are voted and reported but
never decide the stream. Weighting (``none``, ``weight``, ``gate``): each crop's p_fake counts
with weight 1, with its quality (:mod:`engine.judge.quality`), or only when its quality reaches
``gate``.

The judge is pure bookkeeping (no images): the scheduler feeds it live, and the video
evaluation replays recorded crops through it, so both use one implementation.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from engine.judge.records import VerdictEvent
from engine.judge.verdicts import FAKE, REAL, UNCERTAIN
from engine.judge.vote import VoteConfig, Voter

STREAM_RULES = ("any-track", "majority-of-tracks", "frame-max")
WEIGHTINGS = ("none", "weight", "gate")
ENDED_ROWS = 64  # ended tracks listed in the summary (a day-long camera run stays bounded)


@dataclass
class TrackEvidence:
    """One track's voter and the facts reported with its verdicts."""

    voter: Voter
    confirmed: bool = False
    hits: int = 0
    reject: str = ""
    quality_sum: float = 0.0
    crops: int = 0

    @property
    def quality(self) -> float:
        """Mean quality of the track's classified crops (NaN before any)."""
        return self.quality_sum / self.crops if self.crops else float("nan")

    @property
    def decided(self) -> bool:
        return self.confirmed and self.voter.verdict != UNCERTAIN

    def extra(self) -> dict:
        q = self.quality
        return {"confirmed": self.confirmed, "hits": self.hits,
                "quality": None if math.isnan(q) else round(q, 3),
                **({"reject": self.reject} if not self.confirmed and self.reject else {})}


@dataclass
class _Frame:
    t: float
    remaining: int = 0
    # (p_fake, weight, span_s) of the most suspicious crop
    best: tuple[float, float, float | None] | None = None


@dataclass
class _Ended:
    """What ended confirmed tracks leave behind (bounded: counters, not the tracks)."""

    real: int = 0
    fake: int = 0
    max_score: float = -math.inf
    max_frames: int = 0  # window length of the ended track with max_score
    unconfirmed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    rows: deque = field(default_factory=lambda: deque(maxlen=ENDED_ROWS))


class StreamJudge:
    """Per-track and per-stream verdicts of one stream.

    Args:
        stream: scrubbed stream name (labels the events).
        vote: track voting options (rule, threshold, window, ...); ``frame-max`` uses them for
            its stream voter too.
        rule: one of :data:`STREAM_RULES`.
        weighting: one of :data:`WEIGHTINGS`.
        gate: smallest crop quality that votes under ``gate``.
    """

    def __init__(self, stream: str, vote: VoteConfig, rule: str = "any-track",
                 weighting: str = "none", gate: float = 0.2) -> None:
        if rule not in STREAM_RULES:
            raise ValueError(f"unknown stream rule {rule!r}; choose one of "
                             f"{', '.join(STREAM_RULES)}")
        if weighting not in WEIGHTINGS:
            raise ValueError(f"unknown weighting {weighting!r}; choose one of "
                             f"{', '.join(WEIGHTINGS)}")
        self.stream, self.vote, self.rule = stream, vote, rule
        self.weighting, self.gate = weighting, gate
        self.tracks: dict[int, TrackEvidence] = {}
        self.frame_voter = Voter(vote, stream, None)
        self._frames: OrderedDict[int, _Frame] = OrderedDict()
        self._ended = _Ended()
        self.verdict = UNCERTAIN
        self.score = float("nan")
        self.t = 0.0

    # ------------------------------------------------------------------ tracks
    def track(self, track: int) -> TrackEvidence:
        ev = self.tracks.get(track)
        if ev is None:
            ev = self.tracks[track] = TrackEvidence(Voter(self.vote, self.stream, track))
        return ev

    def status(self, track: int, confirmed: bool, hits: int, reject: str = "",
               t: float | None = None) -> list:
        """The track's confirmation facts changed (after a detector run on the frame at media
        time ``t``)."""
        ev = self.track(track)
        was = ev.confirmed
        ev.confirmed, ev.hits, ev.reject = confirmed, hits, reject
        return self._restate(t) if confirmed != was else []

    def weight(self, quality: float) -> float | None:
        """The crop's weight under the weighting; None = the crop does not vote."""
        if self.weighting == "weight":
            return quality
        if self.weighting == "gate" and quality < self.gate:
            return None
        return 1.0

    # ------------------------------------------------------------------- crops
    def expect(self, frame_index: int, t: float) -> None:
        """A crop of frame ``frame_index`` went to the classifier (frames vote in order)."""
        frame = self._frames.get(frame_index)
        if frame is None:
            frame = self._frames[frame_index] = _Frame(t=t)
        frame.remaining += 1

    def crop(self, track: int, frame_index: int, t: float, p: float,
             quality: float = 1.0, span_s: float | None = None) -> list[VerdictEvent]:
        """One classified crop (in classification order). Returns the verdict changes.

        ``span_s``: the media time the crop stands for (see :mod:`engine.judge.vote`; None = one
        reference frame).
        """
        events: list[VerdictEvent] = []
        ev = self.track(track)
        ev.crops += 1
        ev.quality_sum += quality
        w = self.weight(quality)
        if w is not None:
            if ev.voter.add(p, t, w, span_s) is not None:
                events.append(self._track_event(ev))
            if ev.confirmed and self.rule != "frame-max":
                events += self._restate(t)  # the score moves with every vote
        frame = self._frames.get(frame_index)
        if frame is not None:
            frame.remaining -= 1
            if ev.confirmed and w is not None and (frame.best is None or p > frame.best[0]):
                frame.best = (p, w, span_s)
        while self._frames:  # frames complete in order: the batcher is FIFO
            first = next(iter(self._frames.values()))
            if first.remaining > 0:
                break
            self._frames.popitem(last=False)
            if first.best is not None and self.rule == "frame-max":
                self.frame_voter.add(first.best[0], first.t, first.best[1], first.best[2])
                events += self._restate(first.t)
        return events

    def end_track(self, track: int) -> VerdictEvent | None:
        """The track ended: its final event (None when it was never classified)."""
        ev = self.tracks.pop(track, None)
        if ev is None:
            return None
        self._ended.rows.append(_row(track, ev))
        if ev.confirmed and ev.voter.verdict != UNCERTAIN:
            self._ended.fake += ev.voter.verdict == FAKE
            self._ended.real += ev.voter.verdict == REAL
            if ev.voter.score > self._ended.max_score:
                self._ended.max_score, self._ended.max_frames = ev.voter.score, ev.voter.frames
        elif not ev.confirmed:
            self._ended.unconfirmed += 1
            why = ev.reject or f"fewer than the detections needed ({ev.hits} seen)"
            self._ended.reasons[why] = self._ended.reasons.get(why, 0) + 1
        return self._track_event(ev, final=True) if ev.voter.total else None

    def finish(self) -> list[VerdictEvent]:
        """End of the stream: every live track's final event, then the stream's."""
        out = [e for tid in list(self.tracks) if (e := self.end_track(tid)) is not None]
        out += self._restate()
        out.append(self.stream_event(final=True))
        return out

    # ------------------------------------------------------------------ stream
    def counts(self) -> tuple[int, int, int]:
        """(confirmed tracks with a verdict, of which fake, unconfirmed tracks) so far."""
        tracks = list(self.tracks.values())  # a copy: the metrics thread reads this too
        live = [ev for ev in tracks if ev.decided]
        fake = self._ended.fake + sum(ev.voter.verdict == FAKE for ev in live)
        decided = self._ended.real + self._ended.fake + len(live)
        unconfirmed = self._ended.unconfirmed + sum(not ev.confirmed for ev in tracks)
        return decided, fake, unconfirmed

    def _restate(self, t: float | None = None) -> list[VerdictEvent]:
        if t is not None:
            # The latest media time the verdict rests on: crops are voted after the detection
            # of a later frame may have confirmed their track, so never go back; a stream
            # verdict's time is then the same whatever the batch timing.
            self.t = max(self.t, t)
        previous = self.verdict
        if self.rule == "frame-max":
            self.verdict, self.score = self.frame_voter.verdict, self.frame_voter.score
        else:
            decided, fake, _ = self.counts()
            scores = [ev.voter.score for ev in self.tracks.values() if ev.decided]
            if self._ended.real + self._ended.fake:
                scores.append(self._ended.max_score)
            if not decided:
                self.verdict, self.score = UNCERTAIN, float("nan")
            elif self.rule == "any-track":
                self.verdict, self.score = (FAKE if fake else REAL), max(scores)
            else:
                share = fake / decided
                self.verdict, self.score = (FAKE if share > 0.5 else REAL), share
        return [self.stream_event()] if self.verdict != previous else []

    def reason(self) -> str:
        """Why the stream has no verdict ("" when it has one)."""
        if self.verdict != UNCERTAIN:
            return ""
        live = list(self.tracks.values())
        if not live and not (self._ended.real + self._ended.fake + self._ended.unconfirmed):
            return "no face classified"
        if not any(ev.confirmed for ev in live) and not (self._ended.real + self._ended.fake):
            reasons = dict(self._ended.reasons)
            for ev in live:
                why = ev.reject or f"fewer than the detections needed ({ev.hits} seen)"
                reasons[why] = reasons.get(why, 0) + 1
            listed = ", ".join(f"{why} ({n})" for why, n in sorted(reasons.items()))
            return f"no face track confirmed: {listed}"
        return f"confirmed faces have fewer than {self.vote.min_frames} votes"

    @property
    def frames(self) -> int:
        """Values in the window that decided: frame-max, the stream window; track rules, the
        window of the highest-scoring confirmed track with a verdict (0 when none)."""
        if self.rule == "frame-max":
            return self.frame_voter.frames
        best = (self._ended.max_score, self._ended.max_frames)
        for ev in list(self.tracks.values()):
            if ev.decided and ev.voter.score > best[0]:
                best = (ev.voter.score, ev.voter.frames)
        return best[1]

    def stream_event(self, final: bool = False) -> VerdictEvent:
        decided, fake, unconfirmed = self.counts()
        extra = {"stream_rule": self.rule, "tracks_decided": decided, "tracks_fake": fake,
                 "tracks_unconfirmed": unconfirmed}
        if self.verdict == UNCERTAIN and final:
            extra["reason"] = self.reason()
        return VerdictEvent(stream=self.stream, track=None, t=self.t, verdict=self.verdict,
                            p_fake=self.score, frames=self.frames, rule=self.vote.rule,
                            final=final, extra=extra)

    def _track_event(self, ev: TrackEvidence, final: bool = False) -> VerdictEvent:
        return VerdictEvent(stream=self.stream, track=ev.voter.track, t=ev.voter.t,
                            verdict=ev.voter.verdict, p_fake=ev.voter.score,
                            frames=ev.voter.frames, rule=self.vote.rule, final=final,
                            extra=ev.extra())

    def track_summary(self) -> str:
        """Tracks as ``id:verdict:score:quality:hits[:unconfirmed]``, space-separated (the
        last :data:`ENDED_ROWS` ended ones, then the live ones)."""
        live = list(self.tracks.items())  # a copy: the metrics thread reads this too
        return " ".join([*list(self._ended.rows), *(_row(t, ev) for t, ev in live)])


@dataclass(frozen=True)
class TrackRow:
    """One track of a :meth:`StreamJudge.track_summary` string, read back."""

    id: str
    verdict: str
    score: str  # as written (3 decimals), "" before any score
    confirmed: bool


def parse_track_summary(text: str) -> list[TrackRow]:
    """Read a :meth:`StreamJudge.track_summary` string (malformed items are skipped)."""
    rows = []
    for item in text.split():
        parts = item.split(":")
        if len(parts) >= 5:
            rows.append(TrackRow(parts[0], parts[1], parts[2],
                                 not (len(parts) > 5 and parts[5] == "unconfirmed")))
    return rows


def _row(track: int, ev: TrackEvidence) -> str:
    s, q = ev.voter.score, ev.quality
    return (f"{track}:{ev.voter.verdict}:{'' if math.isnan(s) else f'{s:.3f}'}:"
            f"{'' if math.isnan(q) else f'{q:.2f}'}:{ev.hits}"
            + ("" if ev.confirmed else ":unconfirmed"))
