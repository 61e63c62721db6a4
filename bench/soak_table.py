"""Render a ``bench/soak.py --json`` report as the Markdown tables of docs/SOAK.md.

Usage: ``.venv/bin/python bench/soak_table.py runs/soak_1h.json`` (prints to stdout).

The tables are what a reader of the soak needs to judge it: the bounds the run was held to and
whether each held, then one row per stream (frames read = processed + dropped, restarts seen
and reconnected, the slowest return).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def summary_rows(report: Mapping[str, Any], max_growth_pct: float) -> list[tuple[str, str, str]]:
    """(check, measured, held) rows for the run's pass/fail bounds."""
    streams = report.get("per_stream", [])
    invariant = all(int(s["read"]) == int(s["delivered"]) + int(s["dropped"]) for s in streams)
    restarts = int(report.get("server_restarts", 0))
    rtsp = int(report.get("rtsp_streams", 0))
    reconnected = int(report.get("restarts_reconnected", 0))
    growth = float(report.get("rss_growth_pct", 0.0))
    threads_ok = int(report.get("threads_after_stop", -1)) == int(report.get("threads_before", 0))
    return [
        ("memory growth after warm-up (mean RSS, last window vs first)",
         f"{growth:+.2f} % ({report.get('rss_first_window_mb', 0):.0f} -> "
         f"{report.get('rss_last_window_mb', 0):.0f} MiB; slope "
         f"{report.get('rss_slope_mb_per_min', 0):+.2f} MiB/min)",
         _yes(growth < max_growth_pct)),
        ("every frame processed or counted as dropped (read = processed + dropped)",
         f"{report.get('frames_read', 0)} = {report.get('frames_delivered', 0)} + "
         f"{report.get('frames_dropped', 0)}", _yes(invariant)),
        ("every server restart followed by a reconnect, every camera",
         f"{reconnected} of {restarts * rtsp} ({restarts} restarts x {rtsp} cameras); "
         f"back after p50 {report.get('back_s_p50', 0)} s, max {report.get('back_s_max', 0)} s",
         _yes(restarts > 0 and reconnected == restarts * rtsp)),
        ("threads back to the start after every source stopped",
         f"{report.get('threads_before')} -> {report.get('threads_running')} -> "
         f"{report.get('threads_after_stop')}", _yes(threads_ok)),
    ]


def stream_rows(report: Mapping[str, Any]) -> list[list[str]]:
    """One row per stream: name, read, processed, dropped, restarts reconnected, slowest return."""
    rows = []
    for s in report.get("per_stream", []):
        restarts = s.get("server_restarts")
        back = s.get("restarts_reconnected")
        rows.append([str(s["name"]), str(s["read"]), str(s["delivered"]), str(s["dropped"]),
                     f"{back}/{restarts}" if restarts is not None else "-",
                     str(s.get("back_s_max") if s.get("back_s_max") is not None else "-")])
    return rows


def render(report: Mapping[str, Any], max_growth_pct: float = 5.0) -> str:
    """The Markdown for one report: the run line, the bounds table, the per-stream table."""
    lines = [
        f"{report.get('streams')} streams ({report.get('rtsp_streams')} RTSP), mode "
        f"`{report.get('mode')}`, {float(report.get('seconds', 0)):.0f} s, warm-up "
        f"{float(report.get('warmup_s', 0)):.0f} s; process CPU {report.get('cpu_share_pct')} % "
        f"of one core.",
        "",
        "| check | measured | held |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in summary_rows(report, max_growth_pct)]
    lines += ["",
              "| stream | read | processed | dropped | restarts reconnected | slowest return (s) |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    lines += ["| " + " | ".join(r) + " |" for r in stream_rows(report)]
    failures: Sequence[str] = report.get("failures", [])
    lines += ["", "Failures: " + ("; ".join(failures) if failures else "none") + "."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", type=Path, help="the JSON written by bench/soak.py --json")
    ap.add_argument("--max-growth-pct", type=float, default=5.0)
    args = ap.parse_args(argv)
    sys.stdout.write(render(json.loads(args.report.read_text()), args.max_growth_pct))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
