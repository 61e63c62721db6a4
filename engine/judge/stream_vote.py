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
``gate``. Whatever the weighting, a crop of a face below the vote floor
(:mod:`engine.judge.face_floor`) does not count; a stream whose faces never reached it has no
verdict, with the reason :data:`~engine.judge.face_floor.TOO_SMALL`.

The judge is pure bookkeeping (no images): the scheduler feeds it live, and the video
evaluation replays recorded crops through it, so both use one implementation.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from engine.judge.face_floor import CONFIRM_TOO_SMALL, TOO_SMALL
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
    below_floor: int = 0  # crops of a face smaller than the vote floor (classified, not voted)

    @property
    def quality(self) -> float:
        """Mean quality of the track's classified crops (NaN before any)."""
        return self.quality_sum / self.crops if self.crops else float("nan")

    @property
    def decided(self) -> bool:
        return self.confirmed and self.voter.verdict != UNCERTAIN

    @property
    def could_vote(self) -> bool:
        """A confirmed face with at least one crop at or above the vote floor."""
        return self.confirmed and self.crops > self.below_floor

    @property
    def too_small(self) -> bool:
        """Every crop was below the vote floor, or confirmation failed on the face's size."""
        return self.crops == self.below_floor and (
            self.below_floor > 0 or (not self.confirmed and self.reject == CONFIRM_TOO_SMALL))

    def extra(self) -> dict:
        q = self.quality
        return {"confirmed": self.confirmed, "hits": self.hits,
                "quality": None if math.isnan(q) else round(q, 3),
                **({"reject": self.reject} if not self.confirmed and self.reject else {}),
                **({"below_floor": self.below_floor} if self.below_floor else {})}


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
    could_vote: int = 0  # ended tracks that could vote (TrackEvidence.could_vote)
    too_small: int = 0  # ended tracks whose face was too small (TrackEvidence.too_small)
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
        min_face: the vote floor, in native face pixels (0 = every face votes; the pipeline
            passes the model's, see :mod:`engine.judge.face_floor`).
    """

    def __init__(self, stream: str, vote: VoteConfig, rule: str = "any-track",
                 weighting: str = "none", gate: float = 0.2, min_face: float = 0.0) -> None:
        if rule not in STREAM_RULES:
            raise ValueError(f"unknown stream rule {rule!r}; choose one of "
                             f"{', '.join(STREAM_RULES)}")
        if weighting not in WEIGHTINGS:
            raise ValueError(f"unknown weighting {weighting!r}; choose one of "
                             f"{', '.join(WEIGHTINGS)}")
        self.stream, self.vote, self.rule = stream, vote, rule
        self.weighting, self.gate = weighting, gate
        self.min_face = float(min_face)
        self.below_floor = 0  # crops of faces below the floor, the whole stream
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

    def weight(self, quality: float, side: float = math.inf) -> float | None:
        """The crop's weight under the weighting; None = the crop does not vote (its face,
        ``side`` native pixels, is below the vote floor, or the gate drops it)."""
        if side < self.min_face:
            return None
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
             quality: float = 1.0, span_s: float | None = None,
             side: float = math.inf) -> list[VerdictEvent]:
        """One classified crop (in classification order). Returns the verdict changes.

        ``span_s``: the media time the crop stands for (see :mod:`engine.judge.vote`; None = one
        reference frame). ``side``: the face's side in native pixels (inf = not measured).
        """
        events: list[VerdictEvent] = []
        ev = self.track(track)
        ev.crops += 1
        ev.quality_sum += quality
        if side < self.min_face:
            ev.below_floor += 1
            self.below_floor += 1
        w = self.weight(quality, side)
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
        self._ended.could_vote += ev.could_vote
        self._ended.too_small += ev.too_small
        if ev.confirmed and ev.voter.verdict != UNCERTAIN:
            self._ended.fake += ev.voter.verdict == FAKE
            self._ended.real += ev.voter.verdict == REAL
            if ev.voter.score > self._ended.max_score:
                self._ended.max_score, self._ended.max_frames = ev.voter.score, ev.voter.frames
        elif not ev.confirmed:
            self._ended.unconfirmed += 1
            why = ev.reject or f"fewer than the detections needed ({ev.hits} seen)"
            self._ended.reasons[why] = self._ended.reasons.get(why, 0) + 1
        return self._track_event(ev, final=True) if ev.voter.total or ev.below_floor else None

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
        ended = self._ended
        if not live and not (ended.could_vote + ended.unconfirmed + ended.too_small):
            return "no face classified"
        # Fail closed on faces the model was not validated on: when no face could vote and a
        # face was there but too small, say so (also when it was too small to confirm).
        if not (ended.could_vote or any(ev.could_vote for ev in live)) and (
                ended.too_small or any(ev.too_small for ev in live)):
            return TOO_SMALL
        if not any(ev.confirmed for ev in live) and not ended.could_vote:
            reasons = dict(ended.reasons)
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
        if self.below_floor:
            extra.update(below_floor=self.below_floor, vote_min_face=self.min_face)
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
