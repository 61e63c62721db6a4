"""Events and snapshots hold biometric data and fill disks: rotation by size and age."""

from __future__ import annotations

import os
import time

import pytest

from engine.errors import UsageError
from engine.judge.records import VerdictEvent
from engine.sinks import JsonlEventSink
from engine.sinks.retention import Retention, parse_duration, parse_size, prune_folder, segments
from tests.faults.cli import ASTRONAUT, assert_clean, model_args, read_events, run_cli

DAY = 86400.0


def _event(i: int) -> VerdictEvent:
    return VerdictEvent("cam", i % 3, float(i), "real", 0.1, 8, "confident",
                        extra={"note": "x" * 100})


def test_durations_and_sizes_parse_with_units() -> None:
    assert parse_duration("7d") == 7 * DAY and parse_duration("12h") == 12 * 3600
    assert parse_duration("30m") == 1800 and parse_duration("90") == 90
    assert parse_size("500MB") == 500 * 10**6 and parse_size("1GiB") == 1024**3
    assert parse_size("64k") == 64_000
    for bad in ("7x", "", "-1d", "0", "d7"):
        with pytest.raises(UsageError):
            parse_duration(bad)
    assert Retention.parse(None, None) is None
    assert Retention.parse("7d", "500MB") == Retention(7 * DAY, 500 * 10**6)


def test_events_stay_within_the_size_budget(tmp_path) -> None:
    path = tmp_path / "events.jsonl"
    budget = 40_000
    sink = JsonlEventSink(path, fsync=False, retention=Retention(max_bytes=budget))
    sink.open(["cam"])
    for i in range(1000):  # about 200 KB of events
        sink.on_event(_event(i))
    sink.close(None)
    files = [path, *segments(path)]
    assert len(files) > 2
    assert sum(f.stat().st_size for f in files) <= budget
    # Whole lines only, and the newest events survive in order.
    kept = [e for f in sorted(segments(path)) + [path] for e in read_events(f)]
    assert [e["t"] for e in kept] == sorted(e["t"] for e in kept)
    assert kept[-1]["t"] == 999.0


def test_old_segments_are_deleted_and_each_run_starts_a_segment(tmp_path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"old": 1}\n')  # the previous run's events
    old = path.with_name("events.20200101T000000.000000Z.jsonl")
    recent = path.with_name("events.20200102T000000.000000Z.jsonl")
    other = path.with_name("events.backup.jsonl")  # not a segment: never touched
    for f in (old, recent, other):
        f.write_text("{}\n")
    now = time.time()
    os.utime(old, (now - 8 * DAY, now - 8 * DAY))
    os.utime(recent, (now - 1 * DAY, now - 1 * DAY))
    os.utime(other, (now - 30 * DAY, now - 30 * DAY))
    sink = JsonlEventSink(path, fsync=False, retention=Retention(max_age_s=7 * DAY))
    sink.open(["cam"])
    sink.on_event(_event(1))
    sink.close(None)
    names = {p.name for p in segments(path)}
    assert old.name not in names and recent.name in names and other.exists()
    assert len(names) == 2  # the recent one and the previous run's file, rotated
    assert len(read_events(path)) == 1


def test_retention_needs_a_regular_events_file() -> None:
    with pytest.raises(UsageError, match="regular file"):
        JsonlEventSink("-", retention=Retention(max_age_s=DAY))


def test_snapshot_folder_is_pruned_by_age_and_size(tmp_path) -> None:
    now = time.time()
    files = []
    for i in range(6):
        f = tmp_path / f"face-{i}.jpg"
        f.write_bytes(b"j" * 1000)
        os.utime(f, (now - i * DAY, now - i * DAY))  # face-5 is the oldest
        files.append(f)
    removed = prune_folder(tmp_path, Retention(max_age_s=3.5 * DAY), "*.jpg", now=now)
    assert sorted(p.name for p in removed) == ["face-4.jpg", "face-5.jpg"]
    removed = prune_folder(tmp_path, Retention(max_bytes=2500), "*.jpg", now=now)
    assert sorted(p.name for p in removed) == ["face-2.jpg", "face-3.jpg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["face-0.jpg", "face-1.jpg"]


def test_cli_retain_rotates_the_previous_events(tmp_path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"previous": true}\n')
    run = run_cli(str(ASTRONAUT), *model_args(), "--events", str(events), "--retain", "7d",
                  "--retain-size", "1MB", "--quiet")
    assert_clean(run, (0, 3, 4))
    (segment,) = segments(events)
    assert read_events(segment) == [{"previous": True}]
    assert all("previous" not in e for e in read_events(events))
    run = run_cli(str(ASTRONAUT), *model_args(), "--retain", "7d", "--quiet")
    assert_clean(run, 2)
    assert "--events" in run.stderr


