"""The scheduler: one thread that drives every stream through detect -> track -> batch -> vote.

Threads: each source decodes in its own reader thread into a bounded queue; this scheduler
(the caller's thread) pulls frames round-robin from all sources, one frame per stream per
pass so a fast file cannot starve a camera. For each frame it runs the detector when due (every
k-th frame, a stream's first frame, and right after a track missed a detection), otherwise
moves the tracks; cuts square crops of the fresh tracks due for classification (every m-th
frame of a track) and queues them in one cross-stream :class:`~engine.batching.CropBatcher`.
A batch is classified when full or when its oldest crop has waited ``max_wait_ms``; its
probabilities feed the track voters and, one value per frame, the stream voter. Verdict
changes go to the sinks as events.

Keeping all of this on one thread makes the ordering trivially correct (a frame's results are
voted in frame order, events are never interleaved) and costs nothing on small edge boxes where
the detector and classifier already use every core through ONNX Runtime.

Accounting: a frame handed over by a source is either processed or counted in
``dropped_pipeline`` (unusable image, or an error while processing it), so with the sources'
own invariant ``read == processed + dropped_source + dropped_pipeline`` for every stream.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from engine.batching import CropBatcher, CropItem
from engine.budget import GlobalBudget
from engine.classifier import Classifier
from engine.crops import visible_square_crop
from engine.detect.regions import RegionDetector
from engine.detect.sizes import DetectorSizes
from engine.errors import DeepscreenError
from engine.judge.quality import crop_quality
from engine.judge.records import BatchStats, RunSummary, StreamSummary, VerdictEvent
from engine.memory import set_mmap_threshold, trim_heap
from engine.pipeline.config import PipelineConfig
from engine.pipeline.state import StreamState, stream_state
from engine.pipeline.telemetry import PipelineMetrics
from engine.protocols import FaceClassifier, FaceDetector
from engine.provenance import provenance
from engine.sinks.base import Sink
from engine.sources.base import Source
from engine.timing import StageTimer
from engine.types import Frame

log = logging.getLogger("engine.pipeline")

IDLE_WAIT_S = 0.01


class Pipeline:
    """One run over a set of sources. Build it, then call :meth:`run` once.

    Args:
        sources: opened (not yet started) sources; their names label everything.
        config: pipeline options.
        detector: finds faces (:class:`~engine.protocols.FaceDetector`, e.g. MTCNNDetector).
        classifier: classifies crops (:class:`~engine.protocols.FaceClassifier`); or a bare
            backend, then ``feature`` is required and the two are wrapped in a
            :class:`~engine.classifier.Classifier` (the older spelling, kept for callers).
        feature: the spectral feature, only with a bare backend.
        sinks: outputs.
        metrics: Prometheus metrics to feed (optional).
        stop_event: set it (e.g. from a signal handler) to end the run gracefully.
        timer: the stage clock to record into (the benchmark injects one, to pause it during
            its warm-up and to merge several runs); a fresh one when None.

    Build it with :func:`engine.pipeline.assemble.build_pipeline` unless the parts exist.
    """

    def __init__(
        self,
        sources: Sequence[Source],
        config: PipelineConfig,
        detector: FaceDetector,
        classifier: FaceClassifier,
        feature=None,
        sinks: Sequence[Sink] = (),
        metrics: PipelineMetrics | None = None,
        stop_event: threading.Event | None = None,
        timer: StageTimer | None = None,
    ) -> None:
        self.config = config.validate()
        self.detector = detector
        if feature is not None:
            classifier = Classifier(classifier, feature)
        self.classifier = classifier
        self.contract = classifier.contract
        resolved = config.resolve(self.contract)
        self.margin = resolved.margin
        # Stamped on every event (and so on every alert): which model and threshold decided;
        # the run's default here, each stream's own in stream_provenance.
        self.provenance = provenance(classifier, resolved.threshold)
        self.sinks = list(sinks)
        self._frame_sinks = [s for s in self.sinks if s.wants_frames]
        self.metrics = metrics
        self.stop_event = stop_event or threading.Event()
        self.timer = timer if timer is not None else StageTimer()
        if metrics is not None:
            self.timer.observe(metrics.observe_stage)
        self.batcher = CropBatcher(config.max_batch, config.max_wait_ms)
        self.batch_stats = BatchStats()
        # Each stream runs with its own configuration (PipelineConfig.for_stream): threshold,
        # detection and classification rates, smallest face, stream rule.
        self.detectors = DetectorSizes(detector, config.min_face)
        self.stream_provenance: dict[str, dict] = {}
        self.states: list[StreamState] = []
        for i, src in enumerate(sources):
            cfg = config.for_stream(src.name)
            own = cfg.resolve(self.contract, getattr(classifier, "traits", None))
            self.stream_provenance[src.name] = provenance(classifier, own.threshold)
            self.states.append(stream_state(i, src, cfg, own.threshold, own.vote_min_face))
        self.global_budget = GlobalBudget(config.budget)
        self._error = ""
        self._interrupted = False
        self._running = False
        self._t0 = 0.0
        if metrics is not None:
            metrics.bind(self.snapshot, self.active_tracks)

    # ------------------------------------------------------------------ public
    @property
    def running(self) -> bool:
        return self._running

    def snapshot(self) -> list[StreamSummary]:
        """Per-stream counters and verdicts now (callable from other threads)."""
        return [s.summary(run_error=bool(self._error)) for s in self.states]

    def active_tracks(self) -> dict[str, int]:
        return {s.name: len(s.tracker.tracks) for s in self.states}

    def health(self) -> tuple[bool, dict]:
        """For ``/healthz``: healthy while running without error."""
        states = {s.name: s.source.stats.state for s in self.states}
        return self._running and not self._error, {"streams": states}

    def run(self) -> RunSummary:
        """Process until every source is finished, the stop event is set, or a limit is hit.

        Never raises for runtime failures: they end the run and are reported in
        :attr:`RunSummary.error` (exit code 1). Sinks are always closed.
        """
        self._t0 = time.perf_counter()
        if self.config.mmap_threshold_kb:
            # Before the readers start: their frames then never enter the malloc arenas.
            set_mmap_threshold(self.config.mmap_threshold_kb * 1024)
        names = [s.name for s in self.states]
        for sink in self.sinks:
            sink.open(names)
        self._running = True
        if self.metrics is not None:
            self.metrics.up.set(1)
        try:
            for st in self.states:
                st.source.start()
            self._loop()
        except KeyboardInterrupt:
            self._interrupted = True
        except DeepscreenError as exc:  # a known failure: its message says it all
            log.debug("pipeline failed", exc_info=True)
            self._error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        except Exception as exc:  # report, never crash into a verdict
            log.exception("pipeline failed")
            self._error = f"{type(exc).__name__}: {exc}"
        finally:
            for st in self.states:
                st.source.stop()
            self._finish()
        summary = self._summary()
        self._running = False
        if self.metrics is not None:
            self.metrics.up.set(0)
        for sink in self.sinks:
            try:
                sink.close(summary)
            except Exception as exc:  # one broken sink must not hide the others' output
                log.error("sink %s failed to close: %s", type(sink).__name__, exc)
                if not summary.error:
                    summary.error = f"sink {type(sink).__name__}: {exc}"
        return summary

    # ------------------------------------------------------------------- loop
    def _loop(self) -> None:
        cfg = self.config
        deadline = self._t0 + cfg.duration_s if cfg.duration_s else None
        next_tick = 0.0
        next_trim = self._t0 + cfg.trim_every_s if cfg.trim_every_s else float("inf")
        rr = 0
        while True:
            active = [s for s in self.states if not s.ended]
            if not active:
                return
            if self.stop_event.is_set():
                self._interrupted = True
                return
            if deadline is not None and time.perf_counter() >= deadline:
                return
            progressed = False
            for j in range(len(active)):
                st = active[(rr + j) % len(active)]
                frame = st.source.get(timeout=0)
                if frame is None:
                    if st.source.finished:
                        self._end_stream(st)
                    continue
                self._take(st, frame)
                progressed = True
                if self.batcher.due():
                    self._flush()
            rr += 1
            if self.batcher.due():
                self._flush()
            now = time.perf_counter()
            if now >= next_tick:
                next_tick = now + cfg.tick_s
                snap = self.snapshot()
                for sink in self.sinks:
                    sink.on_tick(snap)
            if now >= next_trim:
                next_trim = now + cfg.trim_every_s
                with self.timer.time("trim"):
                    trim_heap()
            if not progressed:
                self._idle(active[rr % len(active)])

    def _idle(self, st: StreamState) -> None:
        """Nothing was ready: block briefly on one stream, never past the batch deadline."""
        wait = IDLE_WAIT_S
        due_in = self.batcher.time_to_due()
        if due_in is not None:
            wait = min(wait, due_in)
        t0 = time.perf_counter()
        frame = st.source.get(timeout=wait)
        self.timer.add("wait", time.perf_counter() - t0)
        if frame is not None:
            self._take(st, frame)

    def _take(self, st: StreamState, frame: Frame) -> None:
        try:
            used = self._process(st, frame)
        except Exception:
            st.counters.dropped_pipeline += 1
            raise
        if not used:
            st.counters.dropped_pipeline += 1
            return
        st.counters.processed += 1
        if self.config.max_frames and st.counters.processed >= self.config.max_frames:
            st.source.stop()  # what it still holds is counted as dropped by the source
            self._end_stream(st)

    # ----------------------------------------------------------------- stages
    def _process(self, st: StreamState, frame: Frame) -> bool:
        """Detect or track, then queue crops. Returns False for an unusable frame."""
        image = frame.image
        # Sources hand over BGR uint8 (they convert, once); anything else is unusable here.
        if image is None or image.size == 0 or image.ndim != 3 or image.shape[2] != 3 \
                or image.dtype != np.uint8:
            return False
        if frame.decode_s:
            self.timer.add("decode", frame.decode_s)
        st.frame_seen(frame.index, frame.t)
        st.frames_since_detect += 1
        st.frames_since_full += 1
        if st.need_detect or st.frames_since_detect >= st.detect_every:
            self._detect(st, frame.index, image)
        else:
            with self.timer.time("track"):
                st.tracker.predict(frame.index, image.shape)
        self._queue_crops(st, frame, image)
        if self._frame_sinks:
            view = st.view(frame, image)
            for sink in self._frame_sinks:
                sink.on_frame(view)
        return True

    def _detect(self, st: StreamState, index: int, image: np.ndarray) -> None:
        st.frames_since_detect = 0
        if min(image.shape[:2]) < st.min_face:
            detections = []  # no face of the minimum size fits in this frame
        elif self.config.full_detect_every and st.tracker.tracks \
                and st.frames_since_full < self.config.full_detect_every:
            with self.timer.time("detect_regions"):  # between full ones: around the tracks
                detections = RegionDetector(self.detectors(st.min_face), refine=True).detect(
                    image, [t.box for t in st.tracker.tracks])
        else:
            st.frames_since_full = 0
            with self.timer.time("detect"):
                detections = self.detectors(st.min_face).detect(image)
        st.counters.detector_runs += 1
        st.counters.detections += len(detections)
        with self.timer.time("track"):
            update = st.tracker.update(detections, index)
        st.counters.tracks += len(update.created)
        for track in (*update.matched, *update.created):
            for event in st.detected(track):
                self._emit(event)
        removed = {t.id for t in update.removed}
        # A face went missing: look again on the next frame instead of k frames later.
        st.need_detect = any(t.id not in removed for t in update.lost)
        for track_id in removed:
            self._close_track(st, track_id)

    def _queue_crops(self, st: StreamState, frame: Frame, image: np.ndarray) -> None:
        every = st.classify_every
        tracks = [t for t in st.tracker.tracks if t.fresh]  # a guessed box is not classified
        for track in tracks:  # the budget decides on classified crops only (engine.budget)
            while st.budget.blocked(track.id, frame.index) and len(self.batcher):
                self._flush()
        rationed = self.global_budget.active and st.source.live
        if rationed:  # new and uncertain faces first when the classifier is short
            tracks.sort(key=lambda t: st.budget.settled(t.id))
        with self.timer.time("crop"):
            for track in tracks:
                age = st.track_frames.get(track.id, 0)
                st.track_frames[track.id] = age + 1
                side = max(track.box[2] - track.box[0], track.box[3] - track.box[1])
                span = st.budget.decide(track.id, frame.index, frame.t, age % every == 0,
                                        st.period_s * every, side >= st.vote_min_face)
                if span is None:
                    continue
                if rationed and not self.global_budget.admit(
                        st.index, self._live_streams(), time.perf_counter()):
                    st.counters.skipped_budget += 1
                    continue
                # A tracker's guess may have left the frame: nothing to classify, not an error.
                crop = visible_square_crop(image, track.box, margin=self.margin)
                if crop is None or min(crop.shape[:2]) < self.config.min_crop:
                    continue
                if crop.base is not None:
                    crop = crop.copy()  # do not keep the whole frame alive in the batcher
                quality = crop_quality(image, track.box, track.landmarks, track.score)
                self.batcher.add(CropItem(
                    stream=st.name, stream_index=st.index, track=track.id,
                    frame_index=frame.index, t=frame.t, crop=crop, box=track.box,
                    quality=quality, span=span,
                ))
                st.expect(track.id, frame.index, frame.t)
                st.budget.queued(track.id, frame.index, frame.t)

    def _live_streams(self) -> list[int]:
        return [s.index for s in self.states if s.source.live and not s.ended]

    def _flush(self) -> None:
        items = self.batcher.take()
        if not items:
            return
        now = time.perf_counter()
        for item in items:
            self.timer.add("batch_wait", now - item.enqueued)
        t0 = time.perf_counter()
        probs = self.classifier.classify([item.crop for item in items], self.timer)
        self.global_budget.measured(len(items), time.perf_counter() - t0)
        self.batch_stats.batches += 1
        self.batch_stats.crops += len(items)
        self.batch_stats.max_size = max(self.batch_stats.max_size, len(items))
        if self.metrics is not None:
            self.metrics.batch.observe(len(items))
        with self.timer.time("vote"):
            touched: dict[int, StreamState] = {}
            for item, p in zip(items, probs, strict=True):
                st = self.states[item.stream_index]
                touched[st.index] = st
                self._vote(st, item, float(p))
            for st in touched.values():
                for track_id in [t for t in st.closing if st.pending_tracks[t] <= 0]:
                    self._close_track(st, track_id)

    def _vote(self, st: StreamState, item: CropItem, p: float) -> None:
        st.counters.classified += 1
        st.last_p[item.track] = p
        st.pending_tracks[item.track] -= 1
        conf = st.confirmations.get(item.track)
        confirmed, hits = (conf.confirmed, conf.hits) if conf else (False, 0)
        for sink in self.sinks:
            sink.on_prediction(st.name, item.track, item.frame_index, item.t, p)
            sink.on_crop(st.name, item, p, confirmed, hits)
        for event in st.judge_crop(item, p):  # the vote floor and quality weighting live there
            self._emit(event)
        voter = st.judge.track(item.track).voter
        st.budget.observe(item.track, item.frame_index, p, voter.verdict, voter.decisive,
                          voter.agreement)

    # ------------------------------------------------------------ bookkeeping
    def _emit(self, event: VerdictEvent | None) -> None:
        if event is None:
            return
        stamp = self.stream_provenance.get(event.stream, self.provenance)
        event = replace(event, extra={**(event.extra or {}), **stamp})
        for sink in self.sinks:
            sink.on_event(event)

    def _close_track(self, st: StreamState, track_id: int) -> None:
        """A track ended: emit its final verdict once its last crops are classified."""
        if st.pending_tracks[track_id] > 0:
            st.closing.add(track_id)
            return
        st.forget(track_id)
        self._emit(st.judge.end_track(track_id))

    def _end_stream(self, st: StreamState) -> None:
        """A stream has no more frames: classify what it left and emit its final verdicts."""
        if st.ended:
            return
        st.ended = True
        if self.batcher.holds_stream(st.index):
            while len(self.batcher):
                self._flush()
        self._finalise(st)

    def _finalise(self, st: StreamState) -> None:
        for track_id in list(st.judge.tracks):
            st.forget(track_id)
        for event in st.judge.finish():
            self._emit(event)

    def _finish(self) -> None:
        """After the loop: classify what is queued (unless the run failed), final verdicts."""
        if not self._error:
            try:
                while len(self.batcher):
                    self._flush()
            except Exception as exc:
                log.exception("pipeline failed while flushing")
                self._error = f"{type(exc).__name__}: {exc}"
        if self._error:
            return  # a failed run reports no final verdicts: a crash never reads as a verdict
        for st in self.states:
            if not st.ended:
                st.ended = True
                self._finalise(st)

    def _summary(self) -> RunSummary:
        return RunSummary(
            streams=self.snapshot(),
            stages=self.timer.stats(),
            batches=self.batch_stats,
            wall_s=time.perf_counter() - self._t0,
            interrupted=self._interrupted,
            error=self._error,
            backend=self.classifier.name,
            spectral=self.classifier.spectral_name,
        )
