"""The pipeline's Prometheus metrics: names, labels, and how they are fed.

Stream labels are the sources' scrubbed names, so no credential reaches a scrape.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from engine.judge.records import StreamSummary
from engine.judge.verdicts import VERDICTS
from engine.memory import MIB, heap_stats
from engine.metrics import BATCH_BUCKETS, Registry
from engine.rss import current_rss_mib
from engine.sources.base import STATES


class PipelineMetrics:
    """All metrics of one run, in a :class:`~engine.metrics.Registry`.

    Counters kept by the sources and the scheduler are mirrored at scrape time through
    ``snapshot`` (a callable returning the current per-stream summaries), so the hot loop only
    touches the latency and batch-size histograms.
    """

    def __init__(self, registry: Registry | None = None) -> None:
        self.registry = registry or Registry()
        r = self.registry
        self.up = r.gauge("deepscreen_up", "1 while the pipeline is running, 0 once it stopped.")
        self.read = r.counter("deepscreen_frames_read_total", "Frames decoded by the source.",
                              ["stream"])
        self.processed = r.counter("deepscreen_frames_processed_total",
                                   "Frames that went through detection/tracking.", ["stream"])
        self.dropped = r.counter(
            "deepscreen_frames_dropped_total",
            "Frames dropped, by where: source (slow consumer or stop) or pipeline.",
            ["stream", "where"],
        )
        self.faces = r.counter("deepscreen_faces_detected_total",
                               "Faces found by the detector.", ["stream"])
        self.classified = r.counter("deepscreen_faces_classified_total",
                                    "Face crops classified.", ["stream"])
        self.skipped = r.counter(
            "deepscreen_classifications_skipped_total",
            "Face crops not classified, by why: settled (the track's verdict is settled and "
            "it is classified at the settled rate) or budget (the live streams' crops/s "
            "budget was spent).", ["stream", "reason"])
        self.reconnects = r.counter("deepscreen_source_reconnects_total",
                                    "Source re-open attempts.", ["stream"])
        self.errors = r.counter("deepscreen_source_errors_total", "Source failures seen.",
                                ["stream"])
        self.state = r.gauge("deepscreen_source_state",
                             "1 for the source's current state, 0 for the others.",
                             ["stream", "state"])
        self.tracks = r.gauge("deepscreen_tracks_active", "Face tracks alive now.", ["stream"])
        self.p_fake = r.gauge("deepscreen_stream_p_fake",
                              "Stream voting score (NaN while uncertain).", ["stream"])
        self.verdict = r.gauge("deepscreen_stream_verdict",
                               "1 for the stream's current verdict, 0 for the others.",
                               ["stream", "verdict"])
        self.batch = r.histogram("deepscreen_batch_size", "Crops per classifier batch.",
                                 buckets=BATCH_BUCKETS)
        self.latency = r.histogram("deepscreen_stage_latency_seconds",
                                   "Latency of each pipeline stage.", ["stage"])
        # Memory, so a scrape history shows a leak or fragmentation before the box runs out.
        self.rss = r.gauge("deepscreen_process_resident_bytes",
                           "Resident set size of the engine process.")
        self.heap = r.gauge("deepscreen_heap_bytes",
                            "glibc C heap: in_use (allocated) and free (kept by the allocator).",
                            ["kind"])
        self._snapshot: Callable[[], list[StreamSummary]] | None = None
        self._active: Callable[[], dict[str, int]] | None = None
        r.add_collector(self._collect)

    def bind(
        self,
        snapshot: Callable[[], list[StreamSummary]],
        active_tracks: Callable[[], dict[str, int]],
    ) -> None:
        """Attach the run whose counters are mirrored at scrape time."""
        self._snapshot = snapshot
        self._active = active_tracks

    def observe_stage(self, stage: str, seconds: float) -> None:
        self.latency.observe(seconds, stage=stage)

    def _collect(self) -> None:
        rss = current_rss_mib()
        if not math.isnan(rss):
            self.rss.set(rss * MIB)
        heap = heap_stats()
        if heap is not None:
            self.heap.set(heap.in_use_mb * MIB, kind="in_use")
            self.heap.set(heap.free_mb * MIB, kind="free")
        if self._snapshot is None:
            return
        active = self._active() if self._active else {}
        for s in self._snapshot():
            name = s.stream
            self.read.set_total(s.read, stream=name)
            self.processed.set_total(s.processed, stream=name)
            self.dropped.set_total(s.dropped_source, stream=name, where="source")
            self.dropped.set_total(s.dropped_pipeline, stream=name, where="pipeline")
            self.faces.set_total(s.detections, stream=name)
            self.classified.set_total(s.classified, stream=name)
            self.skipped.set_total(s.skipped_settled, stream=name, reason="settled")
            self.skipped.set_total(s.skipped_budget, stream=name, reason="budget")
            self.reconnects.set_total(s.reconnects, stream=name)
            self.errors.set_total(s.errors, stream=name)
            for state in STATES:
                self.state.set(1.0 if s.state == state else 0.0, stream=name, state=state)
            self.tracks.set(active.get(name, 0), stream=name)
            self.p_fake.set(s.p_fake, stream=name)
            for verdict in VERDICTS:
                self.verdict.set(1.0 if s.verdict == verdict else 0.0, stream=name,
                                 verdict=verdict)
