"""Soak test of the video sources (and optionally the whole pipeline): no leaks over minutes.

N streams (default 8) of the shared FF++ clips are read in a loop for several minutes, ``--rtsp``
of them (up to all) as live RTSP cameras served by the loopback GStreamer server, which is
killed and restarted every ``--restart-every`` seconds, so the reconnect path is soaked too.
Every ``--interval`` seconds the process RSS and thread count are sampled. The run FAILS
(exit 1) when, after ``--warmup`` seconds:

* RSS rises more than ``--max-growth-mb`` above its post-warm-up baseline (the mean of the
  first ``--window`` seconds after warm-up, at most a third of the rest of the run), or, with
  ``--max-growth-pct``, the mean RSS of the last ``--window`` seconds is more than that many
  percent above the mean of the first (:mod:`bench.soak_checks`);
* an RTSP stream did not come back after a server restart (a re-open and fresh frames before
  the next kill, or within ``--grace`` seconds after the last one);
* the thread count does not return to its starting value after every source is stopped;
* a stream breaks the accounting invariant ``read == delivered + dropped`` (with ``--pipeline``:
  ``read == processed + dropped``).

Usage: ``.venv/bin/python bench/soak.py --streams 8 --seconds 300`` (about 5 minutes; add
``--pipeline`` to go through engine.pipeline). The hour of issue 30 (8 RTSP cameras, 100
restarts): ``--pipeline --streams 8 --rtsp 8 --seconds 3610 --restart-every 36 --warmup 300
--max-growth-pct 5 --json runs/soak_1h.json``.

Not a unit test: it takes minutes and needs ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.soak_checks import RestartTracker, window_growth  # noqa: E402
from engine.memory import heap_stats  # noqa: E402
from engine.sources import Source, open_source  # noqa: E402

CLIPS = REPO.parent / "shared" / "data" / "videos" / "ffpp-c23"


def thread_names() -> list[str]:
    """Kernel names of this process's threads (Python threads show as "python")."""
    names = []
    for comm in Path("/proc/self/task").glob("*/comm"):
        try:
            names.append(comm.read_text().strip())
        except OSError:  # the thread exited meanwhile
            pass
    return sorted(names)


def heap_status() -> tuple[float, float, float]:
    """glibc's view of the C heap in MiB: (in use, free but kept in arenas, mmapped blocks).

    RSS that grows while "in use" stays flat is fragmentation (freed memory the allocator keeps);
    growth of "in use" is memory something still holds (a cache, an arena, a leak). Zeros when
    the C library is not glibc.
    """
    stats = heap_stats()
    if stats is None:
        return 0.0, 0.0, 0.0
    return stats.in_use_mb, stats.free_mb, stats.mmapped_mb


def proc_status() -> tuple[float, int]:
    """(RSS in MiB, OS thread count) of this process."""
    rss, threads = 0.0, 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024.0
        elif line.startswith("Threads:"):
            threads = int(line.split()[1])
    return rss, threads


@dataclass
class Sample:
    t: float
    rss_mb: float
    heap_used_mb: float
    heap_free_mb: float
    heap_mmap_mb: float
    threads: int
    read: int
    dropped: int
    reconnects: int
    cpu_s: float = 0.0  # this process's CPU time so far (user + system)
    load1: float = 0.0  # the machine's 1-minute load average


@dataclass
class Report:
    streams: int
    rtsp_streams: int
    seconds: float
    warmup_s: float
    mode: str
    samples: list[Sample] = field(default_factory=list)
    rss_start_mb: float = 0.0
    rss_baseline_mb: float = 0.0
    rss_max_after_warmup_mb: float = 0.0
    rss_growth_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_window_s: float = 0.0
    rss_first_window_mb: float = 0.0
    rss_last_window_mb: float = 0.0
    rss_growth_pct: float = 0.0
    rss_slope_mb_per_min: float = 0.0
    heap_used_growth_mb: float = 0.0
    trim_every_s: float | None = None
    threads_before: int = 0
    threads_running: int = 0
    threads_after_stop: int = 0
    frames_read: int = 0
    frames_delivered: int = 0
    frames_dropped: int = 0
    reconnects: int = 0
    server_restarts: int = 0
    restarts_reconnected: int = 0  # summed over the RTSP streams
    restarts_missed: int = 0
    # Seconds from a restart (the new server listening) to a stream's first frames from it,
    # over every stream and restart: how close the cameras came to missing the next kill.
    back_s_p50: float = 0.0
    back_s_max: float = 0.0
    cpu_share_pct: float = 0.0  # this process's CPU time / wall time, in % of one core
    invariant_ok: bool = True
    failures: list[str] = field(default_factory=list)
    per_stream: list[dict[str, object]] = field(default_factory=list)
    stages_ms: dict[str, dict[str, float]] = field(default_factory=dict)


class Drainer(threading.Thread):
    """Consumes one source as fast as it can (or ``delay_s`` per frame), counting frames."""

    def __init__(self, source: Source, stop: threading.Event, delay_s: float):
        super().__init__(name=f"drain:{source.name}", daemon=True)
        self.source, self._stop_event, self.delay_s = source, stop, delay_s
        self.delivered = 0

    def run(self) -> None:
        while not self._stop_event.is_set() and not self.source.finished:
            frame = self.source.get(0.5)
            if frame is not None:
                self.delivered += 1
                if self.delay_s:
                    time.sleep(self.delay_s)


def slope_per_min(samples: list[Sample]) -> float:
    if len(samples) < 2:
        return 0.0
    ts = [s.t for s in samples]
    ys = [s.rss_mb for s in samples]
    mt, my = statistics.fmean(ts), statistics.fmean(ys)
    var = sum((t - mt) ** 2 for t in ts)
    cov = sum((t - mt) * (y - my) for t, y in zip(ts, ys, strict=True))
    return 60.0 * cov / var if var else 0.0


def main() -> int:  # noqa: C901 - one linear script
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--rtsp", type=int, default=2,
                    help="how many streams are RTSP cameras (up to --streams: all of them)")
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--warmup", type=float, default=60.0)
    ap.add_argument("--interval", type=float, default=5.0)
    ap.add_argument("--max-growth-mb", type=float, default=64.0,
                    help="bound on the highest RSS after warm-up over its baseline")
    ap.add_argument("--max-growth-pct", type=float, default=None,
                    help="bound on the growth between the mean RSS of the first and the last "
                         "--window seconds after warm-up, in percent (default: not checked)")
    ap.add_argument("--window", type=float, default=300.0,
                    help="seconds averaged for --max-growth-pct (at most a third of the span)")
    ap.add_argument("--grace", type=float, default=30.0,
                    help="seconds the RTSP streams get to come back after the last restart")
    ap.add_argument("--restart-every", type=float, default=60.0,
                    help="kill and restart the RTSP server this often (0 = never)")
    ap.add_argument("--queue-size", type=int, default=8)
    ap.add_argument("--consume-ms", type=float, default=0.0,
                    help="sleep per consumed frame (a slow consumer makes live streams drop)")
    ap.add_argument("--realtime", action="store_true", help="pace file streams at 25 fps")
    ap.add_argument("--pipeline", action="store_true",
                    help="run engine.pipeline.run_pipeline instead of plain consumers")
    ap.add_argument("--model", type=Path,
                    help="classifier ONNX for --pipeline (default: the packaged model)")
    ap.add_argument("--trim-every", type=float, default=None,
                    help="--pipeline: PipelineConfig.trim_every_s (default: the engine's "
                         "default; 0 turns the periodic heap trim off)")
    ap.add_argument("--json", type=Path, help="write the report here")
    args = ap.parse_args()

    clips = sorted(CLIPS.glob("*/*.mp4"))
    if not clips:
        print(f"no clips under {CLIPS}: the soak needs the shared data", file=sys.stderr)
        return 2
    # OpenCV's parallel-for pool and ONNX Runtime start worker threads once and keep them for
    # the life of the process: start them before the baseline so only leaks are counted.
    cv2.resize(np.zeros((1024, 1024, 3), np.uint8), (256, 256))
    if args.pipeline:
        import onnxruntime  # noqa: F401
    rss0, threads0 = proc_status()
    report = Report(args.streams, 0, args.seconds, args.warmup,
                    "pipeline" if args.pipeline else "sources",
                    rss_start_mb=rss0, threads_before=threads0)

    server = None
    n_rtsp = min(args.rtsp, args.streams)
    if n_rtsp:
        try:
            import pytest  # the server helper lives with the tests and skips through pytest

            from tests.engine.sources.servers import RtspServer, require_rtsp_server

            try:
                require_rtsp_server()
                # 640x480: cheap enough to decode in real time next to the file streams.
                server = RtspServer(CLIPS / "real" / "519.mp4").start()
            except pytest.skip.Exception as exc:
                print(f"RTSP streams disabled: {exc}", file=sys.stderr)
                n_rtsp = 0
        except ImportError as exc:
            print(f"RTSP streams disabled: {exc}", file=sys.stderr)
            n_rtsp = 0
    report.rtsp_streams = n_rtsp

    sources: list[Source] = []
    for i in range(args.streams):
        if i < n_rtsp and server is not None:
            sources.append(open_source(server.url, queue_size=args.queue_size,
                                       open_timeout=3.0, read_timeout=3.0,
                                       backoff_base=0.2, backoff_max=2.0, name=f"cam{i}"))
        else:
            clip = clips[i % len(clips)]
            sources.append(open_source(str(clip), queue_size=args.queue_size, loop=True,
                                       realtime=args.realtime, name=f"{clip.stem}#{i}"))

    cameras = sources[:n_rtsp] if server is not None else []
    restarts = RestartTracker([src.name for src in cameras])

    def camera_stats() -> dict[str, object]:
        return {src.name: src.stats for src in cameras}

    stop = threading.Event()
    drainers: list[Drainer] = []
    runner: threading.Thread | None = None
    result: dict[str, object] = {}
    t0 = time.monotonic()
    if args.pipeline:
        from engine.pipeline import PipelineConfig, run_pipeline

        def run() -> None:
            try:
                config = PipelineConfig()
                if args.trim_every is not None:
                    config.trim_every_s = args.trim_every
                report.trim_every_s = config.trim_every_s
                result["summary"] = run_pipeline(sources, config, stop_event=stop,
                                                 model=args.model)
            except Exception as exc:  # reported below; the soak must still clean up
                result["error"] = f"{type(exc).__name__}: {exc}"
                stop.set()

        runner = threading.Thread(target=run, name="pipeline", daemon=True)
        runner.start()
    else:
        for src in sources:
            src.start()
            drainers.append(Drainer(src, stop, args.consume_ms / 1000.0))
        for d in drainers:
            d.start()

    # Restarts on a fixed schedule (t0 + k * restart_every), not "restart_every after the
    # sample that did the last one": 3600 s at 36 s then makes 100 restarts, not 90.
    every = args.restart_every if args.restart_every > 0 and server is not None else 0.0
    next_restart = t0 + every if every else float("inf")
    next_sample = t0 + args.interval
    end = t0 + args.seconds
    try:
        while not stop.is_set():
            now = time.monotonic()
            if now >= end:  # after the last restart, wait up to --grace for the cameras
                if not (restarts.pending and now < end + args.grace):
                    break
                stop.wait(0.5)
                restarts.poll(camera_stats())
                continue
            # Wake every second at least: the restart tracker's times are that precise.
            stop.wait(max(0.0, min(next_sample, next_restart, end, now + 1.0) - now))
            now = time.monotonic()
            if server is not None and now >= next_restart and now < end:
                restarts.killed(camera_stats())
                server.kill()
                time.sleep(1.0)
                try:
                    server.start()
                except RuntimeError as exc:  # end the run with its report, not a traceback
                    report.failures.append(f"RTSP server restart failed: {exc}")
                    break
                restarts.restarted(camera_stats())
                report.server_restarts += 1
                next_restart += every
                continue
            restarts.poll(camera_stats())
            if now < next_sample:
                continue
            while next_sample <= now:  # a slow restart must not cause a burst of samples
                next_sample += args.interval
            rss, threads = proc_status()
            stats = [s.stats for s in sources]
            used, free, mmapped = heap_status()
            times = os.times()
            sample = Sample(round(now - t0, 1), round(rss, 1), round(used, 1), round(free, 1),
                            round(mmapped, 1), threads,
                            sum(s.read for s in stats), sum(s.dropped for s in stats),
                            sum(s.reconnects for s in stats),
                            round(times.user + times.system, 1), os.getloadavg()[0])
            report.samples.append(sample)
            print(f"t={sample.t:6.1f}s rss={sample.rss_mb:7.1f} MiB heap used/free/mmap="
                  f"{used:6.1f}/{free:6.1f}/{mmapped:6.1f} threads={threads:3d} "
                  f"read={sample.read:7d} dropped={sample.dropped:6d} "
                  f"reconnects={sample.reconnects} cpu={sample.cpu_s:.0f}s "
                  f"load={sample.load1:.1f}", flush=True)
    except KeyboardInterrupt:
        report.failures.append("interrupted")
    finally:
        report.threads_running = proc_status()[1]
        restarts.settle(camera_stats())
        stop.set()
        if runner is not None:
            runner.join(60)
        for src in sources:
            src.stop()
        for d in drainers:
            d.join(10)
        if server is not None:
            server.kill()

    if "error" in result:
        report.failures.append(f"pipeline failed: {result['error']}")
    # Give native decoder threads a moment to exit before counting.
    deadline = time.monotonic() + 5.0
    while proc_status()[1] > threads0 and time.monotonic() < deadline:
        time.sleep(0.1)
    report.threads_after_stop = proc_status()[1]
    if report.threads_after_stop > threads0:
        report.failures.append(
            f"threads after stop {report.threads_after_stop} > before {threads0}: "
            f"{', '.join(thread_names())}; python: "
            f"{', '.join(t.name for t in threading.enumerate())}")

    summary = result.get("summary")
    if summary is not None:
        report.stages_ms = {
            name: {"count": st.count, "p50": round(st.p50_ms, 3), "p99": round(st.p99_ms, 3),
                   "max": round(st.max_ms, 3)}
            for name, st in summary.stages.items()  # type: ignore[attr-defined]
        }
    report.failures += restarts.failures()
    back = [b for track in restarts.streams.values() for b in track.back_s]
    if back:
        report.back_s_p50 = round(statistics.median(back), 1)
        report.back_s_max = round(max(back), 1)
    if report.samples and report.samples[-1].t > 0:
        report.cpu_share_pct = round(100.0 * report.samples[-1].cpu_s / report.samples[-1].t, 1)
    for i, src in enumerate(sources):
        st = src.stats
        report.frames_read += st.read
        report.frames_dropped += st.dropped
        report.reconnects += st.reconnects
        if summary is not None:
            row = summary.streams[i]  # type: ignore[attr-defined]
            delivered, ok = row.processed, row.read == row.processed + row.dropped
        else:
            delivered = drainers[i].delivered
            ok = st.read == delivered + st.dropped and st.delivered == delivered
        report.frames_delivered += delivered
        row_out: dict[str, object] = {
            "name": src.name, "live": src.live, "read": st.read, "delivered": delivered,
            "dropped": st.dropped, "reconnects": st.reconnects, "connects": st.connects,
            "errors": st.errors, "state": st.state, "last_error": st.last_error}
        track = restarts.streams.get(src.name)
        if track is not None:
            row_out.update(server_restarts=track.restarts, restarts_reconnected=track.reconnected,
                           restarts_missed=track.missed, missed_restarts=track.missed_restarts,
                           back_s_max=round(max(track.back_s), 1) if track.back_s else None)
            report.restarts_reconnected += track.reconnected
            report.restarts_missed += track.missed
        report.per_stream.append(row_out)
        if not ok:
            report.invariant_ok = False
            report.failures.append(f"{src.name}: read {st.read} != delivered {delivered} + "
                                   f"dropped {st.dropped}")

    after = [s for s in report.samples if s.t >= args.warmup]
    if len(after) >= 2:
        growth = window_growth([s.t for s in after], [s.rss_mb for s in after], args.window)
        # The baseline is the mean of the first window when there is one: with cameras
        # restarted every half minute RSS dips by up to 100 MiB while they are down, and a
        # baseline of three samples could land in a dip (and make the peak look like growth).
        head = [s for s in after if growth is None or s.t <= after[0].t + growth.window_s]
        head = head if len(head) >= 3 else after[:3]
        base = statistics.fmean(s.rss_mb for s in head)
        report.rss_baseline_mb = round(base, 1)
        report.rss_max_after_warmup_mb = max(s.rss_mb for s in after)
        report.rss_growth_mb = round(report.rss_max_after_warmup_mb - base, 1)
        report.rss_slope_mb_per_min = round(slope_per_min(after), 2)
        used_base = statistics.fmean(s.heap_used_mb for s in head)
        report.heap_used_growth_mb = round(max(s.heap_used_mb for s in after) - used_base, 1)
        report.rss_end_mb = after[-1].rss_mb
        if report.rss_growth_mb > args.max_growth_mb:
            report.failures.append(f"RSS grew {report.rss_growth_mb} MiB after warm-up "
                                   f"(bound {args.max_growth_mb} MiB)")
        if growth is not None:
            report.rss_window_s = growth.window_s
            report.rss_first_window_mb = growth.first_mb
            report.rss_last_window_mb = growth.last_mb
            report.rss_growth_pct = growth.growth_pct
        if args.max_growth_pct is not None:
            if growth is None:
                report.failures.append("run too short to compare RSS windows after warm-up")
            elif growth.growth_pct > args.max_growth_pct:
                report.failures.append(
                    f"mean RSS grew {growth.growth_pct} % from the first to the last "
                    f"{growth.window_s:g} s after warm-up (bound {args.max_growth_pct} %)")
    else:
        report.failures.append("run too short: fewer than 2 samples after the warm-up")

    text = json.dumps(asdict(report), indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    brief = {k: v for k, v in asdict(report).items() if k != "samples"}
    print(json.dumps(brief, indent=2))
    print("SOAK " + ("FAILED: " + "; ".join(report.failures) if report.failures else "PASSED"))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
