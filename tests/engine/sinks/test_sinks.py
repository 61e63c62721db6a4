"""Sinks: JSONL flushed per event, CSV summary, annotated video (odd sizes too), console table."""

from __future__ import annotations

import csv
import io
import json

import cv2
import numpy as np
import pytest
from rich.console import Console
from skimage import data

from engine.errors import UsageError
from engine.judge.records import RunSummary, StreamSummary
from engine.judge.vote import VerdictEvent
from engine.sinks import (
    AnnotatedVideoSink,
    ConsoleTable,
    CsvSummarySink,
    FrameView,
    JsonlEventSink,
    LiveView,
    TrackView,
)
from tests.engine.sources.helpers import read_frames


def summary() -> RunSummary:
    return RunSummary(streams=[
        StreamSummary(stream="a.mp4", read=10, processed=8, dropped=2, dropped_source=2,
                      verdict="fake", p_fake=0.91, frames=8, rule="mean", outcome="fake",
                      track_verdicts="1:real:0.210:0.80:40 2:fake:0.910:0.70:35 "
                                     "3:uncertain::0.10:1:unconfirmed"),
        StreamSummary(stream="rtsp://cam/x", live=True, read=5, processed=5, outcome="no_decision",
                      reason="no face track confirmed: low detector score (2)"),
    ], wall_s=1.0)


def test_jsonl_events_are_on_disk_as_soon_as_emitted(tmp_path) -> None:
    path = tmp_path / "sub" / "events.jsonl"
    sink = JsonlEventSink(path)
    sink.open(["a"])
    sink.on_event(VerdictEvent("a", 1, 1.5, "fake", 0.9, 8, "mean"))
    # Still open: a crash now must not lose the event.
    lines = path.read_text().splitlines()
    assert [json.loads(x)["verdict"] for x in lines] == ["fake"]
    sink.on_event(VerdictEvent("a", None, 2.0, "fake", 0.8, 9, "mean", final=True))
    sink.close(summary())
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert lines[1] == {"stream": "a", "track": None, "t": 2.0, "verdict": "fake",
                        "p_fake": 0.8, "frames": 9, "rule": "mean", "final": True}


def test_csv_summary_has_one_row_per_stream(tmp_path) -> None:
    path = tmp_path / "summary.csv"
    sink = CsvSummarySink(path)
    sink.open(["a.mp4", "rtsp://cam/x"])
    sink.close(summary())
    rows = list(csv.DictReader(path.open()))
    assert [r["stream"] for r in rows] == ["a.mp4", "rtsp://cam/x"]
    assert rows[0]["verdict"] == "fake" and rows[0]["p_fake"] == "0.9100"
    assert rows[1]["p_fake"] == "" and rows[1]["outcome"] == "no_decision"
    assert int(rows[0]["read"]) == int(rows[0]["processed"]) + int(rows[0]["dropped"])


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_annotated_video_round_trips(tmp_path, suffix) -> None:
    face = data.astronaut()[:, :, ::-1]
    odd = np.ascontiguousarray(face[:301, :257])  # odd width and height
    sink = AnnotatedVideoSink(tmp_path / f"out{suffix}")
    sink.open(["astronaut", "gray"])
    gray = cv2.cvtColor(cv2.cvtColor(odd, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    for i in range(6):
        for s, img in enumerate((odd, gray)):
            track = TrackView(1, (150.0, 40.0, 250.0, 160.0), 0.8, "fake")
            sink.on_frame(FrameView(["astronaut", "gray"][s], s, i, i / 25.0, img, (track,),
                                    "fake", 0.8))
    sink.close(summary())
    paths = sink.paths
    assert [p.name for p in paths] == [f"out-0-astronaut{suffix}", f"out-1-gray{suffix}"]
    for p in paths:
        frames = read_frames(p)
        assert len(frames) == 6
        assert frames[0].shape[:2] == (302, 258)  # padded to even sides
        # The box was drawn in red (fake): a strongly red pixel on its left edge.
        b, g, r = frames[0][100, 150].astype(int)
        assert r > 150 and g < 100 and b < 100


def test_annotated_video_rejects_unknown_container(tmp_path) -> None:
    with pytest.raises(UsageError):
        AnnotatedVideoSink(tmp_path / "out.gif")


def test_console_table_lists_streams_and_outcome() -> None:
    buf = io.StringIO()
    ConsoleTable(Console(file=buf, width=200, color_system=None)).close(summary())
    text = buf.getvalue()
    assert "deepscreen screen: fake" in text
    assert "a.mp4" in text and "rtsp://cam/x" in text and "0.910" in text
    # Each confirmed track with its own verdict and deciding score, the deciding fake first;
    # unconfirmed tracks only counted.
    assert text.index("#2 fake 0.910") < text.index("#1 real 0.210")
    assert "1 unconfirmed" in text and "#3" not in text
    assert "rtsp://cam/x: no decision: no face track confirmed: low detector score (2)" in text


def test_track_cell_limits_and_orders_tracks() -> None:
    from engine.sinks.console import track_cell

    rows = " ".join(f"{i}:real:0.{i}00:0.9:10" for i in range(1, 6)) + " 9:fake:0.700:0.5:4"
    cell = track_cell(rows, limit=3)
    assert cell.startswith("[bold red]#9 fake 0.700")
    assert "#5 real 0.500" in cell and "#4 real 0.400" in cell and "#1 " not in cell
    assert cell.endswith("+3 more")
    assert track_cell("") == "-"


def test_live_view_is_off_when_not_a_terminal_and_updates_when_it_is() -> None:
    piped = io.StringIO()
    view = LiveView(Console(file=piped))
    assert not view.enabled
    view.open(["a.mp4"])
    view.on_tick(summary().streams)
    view.close(summary())
    assert piped.getvalue() == ""
    tty = io.StringIO()
    view = LiveView(Console(file=tty, force_terminal=True, width=200), refresh_s=0.0)
    assert view.enabled
    view.open(["a.mp4", "rtsp://cam/x"])
    view.on_tick(summary().streams)
    view.close(summary())
    assert "deepscreen (live)" in tty.getvalue() and "0.910" in tty.getvalue()
    assert "#2 fake 0.910" in tty.getvalue()
