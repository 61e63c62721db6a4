"""Write the benchmark document as JSON and CSV and print it as tables (rich).

Files written into ``--out``:

- ``bench.json``: everything, including the machine stamp and every stage's percentiles.
- ``bench.csv``: one row per (section, backend, batch, streams, stage) with the latency
  percentiles, plus a ``stage=total`` row per run with fps, faces/s and peak memory.
- ``bench.md``: the same results as Markdown tables (what the docs quote).
- ``scaling.png``: the scaling plot, when streams were measured.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from pathlib import Path

log = logging.getLogger(__name__)

CSV_FIELDS = (
    "section", "bench_backend", "precision", "batch", "streams", "stage", "count",
    "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms", "frames", "faces", "fps",
    "per_stream_fps", "faces_per_s", "crops_per_s", "peak_rss_mib", "speedup_vs_baseline",
)


def _clean(obj):
    """JSON has no NaN/inf: write them as null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _run_rows(section: str, run: dict) -> list[dict]:
    base = {
        "section": section, "bench_backend": run.get("bench_backend", run.get("backend", "")),
        "precision": run.get("precision", ""), "batch": run.get("max_batch", ""),
        "streams": run.get("streams", 1),
    }
    rows = [{**base, "stage": "total", "frames": run["frames"], "faces": run["faces"],
             "fps": run["fps"], "per_stream_fps": run.get("per_stream_fps", run["fps"]),
             "faces_per_s": run["faces_per_s"], "peak_rss_mib": run["peak_rss_mib"],
             "speedup_vs_baseline": run.get("speedup_vs_baseline")}]
    for stage, s in run["stages"].items():
        rows.append({**base, "stage": stage, **{k: s[k] for k in
                     ("count", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms")}})
    return rows


def csv_rows(doc: dict) -> list[dict]:
    """Flatten the document into CSV rows (see :data:`CSV_FIELDS`)."""
    rows: list[dict] = []
    for c in doc.get("classifier", []):
        rows.append({"section": "classifier", "bench_backend": c["bench_backend"],
                     "precision": c["precision"], "batch": c["batch"], "stage": "classify",
                     "crops_per_s": c["crops_per_s"], **{k: c["latency"][k] for k in
                     ("count", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms")}})
    for c in doc.get("spectral", []):
        rows.append({"section": "spectral", "bench_backend": doc.get("spectral_backend", {}).get(
                     "name", ""), "batch": c["batch"], "stage": "spectral",
                     "crops_per_s": c["crops_per_s"], **{k: c["latency"][k] for k in
                     ("count", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms")}})
    for run in doc.get("pipeline", []):
        rows += _run_rows("pipeline", run)
    if "baseline" in doc:
        rows += _run_rows("baseline", {**doc["baseline"], "bench_backend": "baseline",
                                       "precision": "fp32", "max_batch": 1, "streams": 1})
    for run in doc.get("scaling", {}).get("runs", []):
        rows += _run_rows("scaling", run)
    return rows


def write_results(doc: dict, out: Path) -> dict[str, Path]:
    """Write bench.json and bench.csv (and scaling.png) into ``out``; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "bench.json", "csv": out / "bench.csv"}
    paths["json"].write_text(json.dumps(_clean(doc), indent=1, sort_keys=True) + "\n")
    with paths["csv"].open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in csv_rows(doc):
            writer.writerow({k: ("" if v is None else (round(v, 4) if isinstance(v, float) else v))
                             for k, v in row.items()})
    from bench.markdown import render

    paths["md"] = out / "bench.md"
    paths["md"].write_text(render(_clean(doc)) + "\n")
    if doc.get("scaling", {}).get("rows"):
        from bench.scaling import plot_scaling

        m = doc.get("machine", {})
        title = (f"deepscreen bench scaling, {doc['scaling']['runs'][0]['bench_backend']}: "
                 f"{m.get('cpu_model', '?')}, {m.get('usable_cpus', '?')} CPU(s), "
                 f"{'GPU' if m.get('gpus') else 'no GPU'}")
        try:
            paths["png"] = plot_scaling(doc["scaling"], out / "scaling.png", title)
        except ImportError:  # matplotlib is in the training extra, not the edge runtime
            log.warning("matplotlib is not installed: no scaling.png (pip install matplotlib)")
    return paths


def _f(v, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.{digits}f}"


def print_report(doc: dict, console=None) -> None:
    """Print the pipeline, classifier, baseline and scaling tables."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    m = doc.get("machine", {})
    gpus = ", ".join(f"{g['name']} (sm {g['compute_capability']})" for g in m.get("gpus", []))
    gpus = gpus or f"no GPU ({m.get('gpu_note', '')})"
    console.print(f"[bold]machine[/]: {m.get('cpu_model')}, {m.get('usable_cpus')} CPU(s), "
                  f"{gpus}, load {m.get('load_average')}")
    t = Table(title="pipeline, 1 stream (ms per call: frame stages per frame, others per batch)")
    for col in ("backend", "batch", "fps", "faces/s", "x baseline", "decode p50", "detect p50",
                "spectral p50", "classify p50/p90/p99", "peak MiB"):
        t.add_column(col, justify="right")
    for r in doc.get("pipeline", []):
        st = r["stages"]

        def g(s: str, k: str = "p50_ms", st: dict = st) -> str:
            return _f(st.get(s, {}).get(k), 2)

        t.add_row(r["bench_backend"], str(r["max_batch"]), _f(r["fps"]), _f(r["faces_per_s"]),
                  _f(r.get("speedup_vs_baseline")), g("decode"), g("detect"), g("spectral"),
                  f"{g('classify')}/{g('classify', 'p90_ms')}/{g('classify', 'p99_ms')}",
                  _f(r["peak_rss_mib"], 0))
    if "baseline" in doc:
        b = doc["baseline"]
        st = b["stages"]
        t.add_row("baseline", "1", _f(b["fps"]), _f(b["faces_per_s"]), "1.0",
                  _f(st.get("decode", {}).get("p50_ms"), 2),
                  _f(st.get("detect", {}).get("p50_ms"), 2),
                  _f(st.get("spectral", {}).get("p50_ms"), 2),
                  _f(st.get("classify", {}).get("p50_ms"), 2), _f(b["peak_rss_mib"], 0))
    console.print(t)
    c = Table(title="classifier alone (real crops)")
    for col in ("backend", "precision", "batch", "p50 ms", "p90 ms", "p99 ms", "crops/s"):
        c.add_column(col, justify="right")
    for r in doc.get("classifier", []):
        lat = r["latency"]
        c.add_row(r["bench_backend"], r["precision"], str(r["batch"]), _f(lat["p50_ms"], 2),
                  _f(lat["p90_ms"], 2), _f(lat["p99_ms"], 2), _f(r["crops_per_s"]))
    console.print(c)
    sc = doc.get("scaling")
    if sc and sc.get("rows"):
        s = Table(title=f"scaling ({sc['runs'][0]['bench_backend']}); real time = "
                        f"{sc['realtime_fps']:g} fps per stream")
        for col in ("streams", "fps total", "fps/stream", "faces/s", "real time", "peak MiB",
                    "engine fps", "engine fps/stream", "engine real time"):
            s.add_column(col, justify="right")
        for r in sc["rows"]:
            e_rt = r.get("engine_realtime")
            s.add_row(str(r["streams"]), _f(r["fps"]), _f(r["per_stream_fps"]),
                      _f(r["faces_per_s"]), "yes" if r["realtime"] else "no",
                      _f(r["peak_rss_mib"], 0), _f(r.get("engine_fps")),
                      _f(r.get("engine_per_stream_fps")),
                      "-" if e_rt is None else ("yes" if e_rt else "no"))
        console.print(s)
        console.print(f"max real-time streams: after warm-up {sc['max_realtime_streams']}, engine "
                      f"{sc.get('max_realtime_streams_engine', '-')}; "
                      f"{_f(sc.get('ms_per_stream_frame'), 2)} ms per stream-frame, "
                      f"{_f(sc.get('ms_per_face'), 2)} ms per face, fitted "
                      f"{_f(sc.get('fit_ms_per_added_stream'), 2)} ms per round per added stream")
    for name, why in doc.get("unavailable", {}).items():
        console.print(f"[yellow]{name} not measured[/]: {why}")
