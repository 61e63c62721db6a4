"""Throughput against the number of simultaneous streams: summary, costs and the plot.

Costs come straight from the stage clocks, not from a model: per frame of a stream the engine
pays decode + detect (every k-th frame, amortised; whole frame or around the tracks) + track;
per face it pays crop + spectral + preprocess + classify + vote. The marginal cost of a stream
is also fitted (least squares) on the wall time per round (one frame of every stream) against
the number of streams.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PER_FRAME_STAGES = ("decode", "detect", "detect_regions", "track")
PER_FACE_STAGES = ("crop", "spectral", "preprocess", "classify", "vote")


def _stage_total_ms(run: dict, stages: tuple[str, ...]) -> float:
    return sum(run["stages"][s]["total_ms"] for s in stages if s in run["stages"])


def scaling_summary(
    runs: list[dict], realtime_fps: float = 25.0, engine_runs: list[dict] | None = None
) -> dict:
    """Summarise scaling runs (``RunResult`` dicts, one per stream count).

    ``engine_runs`` (the whole-run views of :func:`bench.measure.measure_pipeline`, same
    stream counts)
    add the threaded engine's figures and ``max_realtime_streams_engine``.

    Returns:
        A dict with one row per stream count (aggregate and per-stream fps, real-time flag),
        ``max_realtime_streams`` (largest measured count whose per-stream rate reaches
        ``realtime_fps``; 0 when none does), ``ms_per_stream_frame`` and ``ms_per_face`` from the
        stage clocks, and ``fit_ms_per_added_stream`` (slope of the wall time per round).
    """
    rows = []
    for r in runs:
        frames, faces = max(r["frames"], 1), r["faces"]
        rows.append({
            "streams": r["streams"],
            "fps": r["fps"],
            "per_stream_fps": r["per_stream_fps"],
            "faces_per_s": r["faces_per_s"],
            "faces_per_frame": faces / frames,
            "realtime": r["per_stream_fps"] >= realtime_fps,
            "ms_per_frame_stages": _stage_total_ms(r, PER_FRAME_STAGES) / frames,
            "ms_per_face_stages": _stage_total_ms(r, PER_FACE_STAGES) / max(faces, 1),
            "peak_rss_mib": r["peak_rss_mib"],
            "stage_ms_per_frame": {k: v["total_ms"] / frames for k, v in r["stages"].items()},
        })
    realtime = [row["streams"] for row in rows if row["realtime"]]
    out: dict = {
        "realtime_fps": realtime_fps,
        "rows": rows,
        "runs": runs,
        "max_realtime_streams": max(realtime) if realtime else 0,
    }
    if rows:
        out["ms_per_stream_frame"] = float(np.mean([r["ms_per_frame_stages"] for r in rows]))
        out["ms_per_face"] = float(np.mean([r["ms_per_face_stages"] for r in rows]))
    if engine_runs:
        out["engine_runs"] = engine_runs
        for row, e in zip(rows, engine_runs, strict=True):
            row["engine_fps"] = e["fps"]
            row["engine_per_stream_fps"] = e["per_stream_fps"]
            row["engine_realtime"] = e["per_stream_fps"] >= realtime_fps and not e["error"]
        ok = [row["streams"] for row in rows if row["engine_realtime"]]
        out["max_realtime_streams_engine"] = max(ok) if ok else 0
    if len(rows) >= 2:
        n = np.array([r["streams"] for r in rows], dtype=float)
        round_ms = np.array([r["streams"] / r["fps"] * 1000.0 for r in rows])
        slope, intercept = np.polyfit(n, round_ms, 1)
        out["fit_ms_per_added_stream"] = float(slope)
        out["fit_ms_fixed_per_round"] = float(intercept)
    return out


def plot_scaling(summary: dict, path: Path, title: str) -> Path:
    """Two panels: fps (aggregate and per stream, with the real-time line) and where the time
    goes per frame, by stage, for each stream count. matplotlib is imported here."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary["rows"]
    n = [r["streams"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(n, [r["fps"] for r in rows], "o-", label="aggregate fps")
    ax1.plot(n, [r["per_stream_fps"] for r in rows], "s-", label="per-stream fps")
    if "engine_fps" in rows[0]:
        ax1.plot(n, [r["engine_fps"] for r in rows], "o--", label="aggregate fps (engine)")
        ax1.plot(n, [r["engine_per_stream_fps"] for r in rows], "s--",
                 label="per-stream fps (engine)")
    ax1.axhline(summary["realtime_fps"], color="red", ls="--", lw=1,
                label=f"real time ({summary['realtime_fps']:g} fps)")
    ax1.set_xscale("log", base=2)
    ax1.set_xticks(n, [str(v) for v in n])
    ax1.set_xlabel("simultaneous 640x480 streams")
    ax1.set_ylabel("frames per second")
    ax1.legend(fontsize=8)
    ax1.grid(alpha=0.3)
    stages = [s for s in PER_FRAME_STAGES + PER_FACE_STAGES
              if any(s in r["stage_ms_per_frame"] for r in rows)]
    bottom = np.zeros(len(rows))
    x = np.arange(len(rows))
    for s in stages:
        vals = np.array([r["stage_ms_per_frame"].get(s, 0.0) for r in rows])
        ax2.bar(x, vals, bottom=bottom, label=s)
        bottom += vals
    ax2.set_xticks(x, [str(v) for v in n])
    ax2.set_xlabel("simultaneous streams")
    ax2.set_ylabel("ms of work per frame")
    ax2.legend(fontsize=7, ncol=2)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
