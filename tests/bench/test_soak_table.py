"""The soak's Markdown tables, from a report shaped by bench/soak.py's own dataclass."""

from __future__ import annotations

from dataclasses import asdict

from bench.soak import Report
from bench.soak_table import render, summary_rows


def _report(missed: int = 0, dropped_extra: int = 0) -> dict:
    rep = Report(streams=2, rtsp_streams=2, seconds=600.0, warmup_s=60.0, mode="pipeline")
    rep.rss_growth_pct, rep.rss_first_window_mb, rep.rss_last_window_mb = 1.2, 700.0, 708.4
    rep.threads_before, rep.threads_running, rep.threads_after_stop = 4, 20, 4
    rep.server_restarts = 10
    rep.restarts_reconnected = 20 - missed
    rep.frames_read, rep.frames_delivered, rep.frames_dropped = 2000, 800, 1200
    rep.per_stream = [
        {"name": f"cam{i}", "read": 1000, "delivered": 400, "dropped": 600 + dropped_extra * i,
         "server_restarts": 10, "restarts_reconnected": 10 - (missed if i else 0),
         "back_s_max": 3.5}
        for i in range(2)]
    return asdict(rep)


def test_a_clean_run_holds_every_bound() -> None:
    rows = summary_rows(_report(), max_growth_pct=5.0)
    assert [held for _, _, held in rows] == ["yes"] * 4
    text = render(_report())
    assert "| cam1 | 1000 | 400 | 600 | 10/10 | 3.5 |" in text
    assert "Failures: none." in text


def test_a_missed_restart_and_a_lost_frame_are_shown_as_failed() -> None:
    rows = summary_rows(_report(missed=1, dropped_extra=1), 5.0)
    held = {check.split(" (")[0]: ok for check, _, ok in rows}
    assert held["every server restart followed by a reconnect, every camera"] == "**no**"
    assert held["every frame processed or counted as dropped"] == "**no**"
    assert "| cam1 | 1000 | 400 | 601 | 9/10 | 3.5 |" in render(_report(missed=1, dropped_extra=1))


def test_growth_over_the_bound_fails() -> None:
    rep = _report()
    rep["rss_growth_pct"] = 6.0
    assert summary_rows(rep, max_growth_pct=5.0)[0][2] == "**no**"
