"""Faults stay local: a full disk or an unwritable output costs that output, not the run.

Full disks are real: ``/dev/full`` (every write fails with ENOSPC) and a 64 KiB tmpfs mounted
for the test (skipped where mounting needs privileges this machine does not give).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from engine.errors import UsageError
from engine.judge.records import RunSummary, StreamSummary, VerdictEvent
from engine.metrics import Registry
from engine.sinks import CsvSummarySink, JsonlEventSink
from engine.sinks.csv_summary import write_summary_csv
from engine.sinks.guard import GuardedSink, OutputFaults
from tests.faults.cli import (
    ASTRONAUT,
    HOPPER,
    assert_clean,
    assert_one_error,
    cli,
    free_port,
    model_args,
    read_events,
    read_summary,
    run_cli,
)

EVENT = VerdictEvent("cam", None, 1.0, "real", 0.1, 8, "confident", final=True)


def _mount_tmpfs(where: Path, options: str) -> Path:
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    return where


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB filesystem that a few video frames fill."""
    mnt = _mount_tmpfs(tmp_path / "disk", "size=64k")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture
def read_only_disk(tmp_path):
    mnt = _mount_tmpfs(tmp_path / "ro", "ro,size=16k")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture
def null_device(tmp_path) -> Path:
    """A private /dev/null (char device 1:3): a test can never break the machine's own."""
    node = tmp_path / "null"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        with open(node, "w") as fh:  # a nodev mount refuses to open devices
            fh.write("x")
    except OSError as exc:
        pytest.skip(f"cannot make a device node here: {exc}")
    return node


def _folder(tmp_path: Path, copies: int) -> Path:
    """The two shipped face images, ``copies`` times each, as an image folder."""
    folder = tmp_path / "faces"
    folder.mkdir()
    for i in range(copies):
        for src in (ASTRONAUT, HOPPER):
            (folder / f"{i:03d}-{src.name}").symlink_to(src)
    return folder


def _verdict_or_error(row: dict) -> int:
    """The exit code of a run whose one stream is ``row`` and which lost an output."""
    return 3 if row["outcome"] == "fake" else 1


# ------------------------------------------------------------------------ units (no CLI)
def test_failed_write_is_reported_once_and_counted_on_metrics() -> None:
    registry = Registry()
    faults = OutputFaults(registry)
    sink = GuardedSink(JsonlEventSink("/dev/full"), "--events /dev/full", faults)
    sink.open(["cam"])
    for _ in range(3):
        sink.on_event(EVENT)  # the first write fails (ENOSPC); the rest are not attempted
    summary = RunSummary(streams=[StreamSummary(stream="cam", verdict="real", outcome="real")])
    sink.close(summary)
    assert sink.failed and summary.lost_outputs == [faults.lost["--events /dev/full"]]
    assert "No space left on device" in summary.lost_outputs[0]
    assert summary.outcome == "error" and summary.exit_code == 1
    text = registry.render()
    assert 'deepscreen_output_failures_total{output="--events /dev/full"} 1' in text
    # A fake is still reported as a fake: a lost file never hides one.
    fake = RunSummary(streams=[StreamSummary(stream="cam", verdict="fake", outcome="fake")],
                      lost_outputs=["output --events x lost"])
    assert fake.exit_code == 3


def test_summary_on_a_device_is_written_in_place(null_device) -> None:
    summary = RunSummary(streams=[StreamSummary(stream="cam")])
    write_summary_csv(null_device, summary)
    assert stat.S_ISCHR(null_device.stat().st_mode)
    assert not null_device.with_name(null_device.name + ".tmp").exists()


def test_summary_on_a_full_device_raises_and_leaves_no_temp_file(tmp_path) -> None:
    with pytest.raises(OSError):
        write_summary_csv("/dev/full", RunSummary(streams=[StreamSummary(stream="cam")]))
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_output_paths_are_checked_when_asked_for(tmp_path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is a folder"):
        CsvSummarySink(tmp_path)
    with pytest.raises(UsageError, match="is a file, not a folder"):
        JsonlEventSink(tmp_path / "file" / "events.jsonl")


# ---------------------------------------------------------------------- the real command
def test_full_disk_under_events_costs_the_events_only(tmp_path) -> None:
    """ENOSPC on every write of the events: one stderr line, the summary and the video are
    complete, every frame is screened, and the run exits 1 (3 if a fake was seen)."""
    folder = _folder(tmp_path, 2)
    summary, video = tmp_path / "summary.csv", tmp_path / "out.avi"
    run = run_cli(str(folder), *model_args(), "--events", "/dev/full", "--summary", str(summary),
                  "--annotate", str(video), "--quiet")
    (row,) = read_summary(summary)
    assert_clean(run, _verdict_or_error(row))
    assert_one_error(run, "--events /dev/full", "No space left on device")
    assert int(row["processed"]) == 4
    import cv2

    cap = cv2.VideoCapture(str(video))
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
    cap.release()


def test_disk_filled_by_the_video_costs_the_video_only(tmp_path, tiny_disk) -> None:
    """A 64 KiB disk fills after a frame or two of video: the video is given up, the 40 frames
    are all screened, the events (on another disk) and the summary are complete."""
    folder = _folder(tmp_path, 20)
    events, summary = tmp_path / "events.jsonl", tmp_path / "summary.csv"
    run = run_cli(str(folder), *model_args(), "--annotate", str(tiny_disk / "out.avi"),
                  "--events", str(events), "--summary", str(summary), "--quiet")
    (row,) = read_summary(summary)
    assert_clean(run, _verdict_or_error(row))
    assert_one_error(run, "--annotate", "lost")
    assert int(row["processed"]) == 40 and row["state"] == "finished"
    finals = [e for e in read_events(events) if e["final"] and e["track"] is None]
    assert len(finals) == 1 and finals[0]["verdict"] == row["verdict"]


def test_summary_pointing_at_a_folder_is_a_usage_error_at_start(tmp_path) -> None:
    events = tmp_path / "events.jsonl"
    run = run_cli(str(ASTRONAUT), *model_args(), "--summary", str(tmp_path),
                  "--events", str(events))
    assert_clean(run, 2)
    assert_one_error(run, "--summary", "is a folder")
    assert not events.exists()  # refused before anything ran


def test_unwritable_folder_is_a_usage_error_at_start(tmp_path, read_only_disk) -> None:
    run = run_cli(str(ASTRONAUT), *model_args(), "--events", str(read_only_disk / "e.jsonl"))
    assert_clean(run, 2)
    assert_one_error(run, "--events", "Read-only file system")


def test_special_files_stay_special(tmp_path, null_device) -> None:
    """``--summary /dev/null`` as root: written in place, the device stays a device."""
    run = run_cli(str(ASTRONAUT), *model_args(), "--summary", str(null_device),
                  "--events", str(null_device), "--quiet")
    assert_clean(run, (0, 3, 4))
    assert stat.S_ISCHR(null_device.stat().st_mode)
    assert not list(tmp_path.glob("null*.tmp"))
    video = null_device.with_name("null.avi")
    os.rename(null_device, video)  # a video cannot be written onto a device: refused
    run = run_cli(str(ASTRONAUT), *model_args(), "--annotate", str(video))
    assert_clean(run, 2)
    assert_one_error(run, "--annotate", "not a regular file")
    assert stat.S_ISCHR(video.stat().st_mode)


def test_lost_output_shows_in_healthz_while_the_run_goes_on(tmp_path) -> None:
    """ENOSPC under ``--events`` mid-run: /healthz stays 200 but says ``degraded`` and names
    the lost output with its reason, /readyz says 503, /metrics counts it, while the stream
    keeps being screened; the run then ends with the summary complete."""
    folder = _folder(tmp_path, 2)
    summary, port = tmp_path / "summary.csv", free_port()
    proc = subprocess.Popen(
        cli(str(folder), *model_args(), "--loop", "--realtime", "--duration", "60",
            "--events", "/dev/full", "--summary", str(summary), "--metrics-port", str(port),
            "--quiet"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def get(path: str) -> tuple[int, dict | str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                code, body = r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            code, body = exc.code, exc.read().decode()
        return code, (json.loads(body) if path != "/metrics" else body)

    try:
        health: dict = {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                code, health = get("/healthz")
            except OSError:  # not listening yet
                code, health = 0, {}
            if health.get("lost_outputs"):
                break
            time.sleep(0.3)
        assert health.get("lost_outputs"), (health, proc.poll())
        assert code == 200 and health["status"] == "degraded", health
        assert health["degraded"] == ["--events /dev/full"], health
        assert "No space left on device" in health["lost_outputs"]["--events /dev/full"]
        assert health["streams"] == {folder.name: "streaming"}, health  # the stream goes on
        assert get("/readyz")[0] == 503
        _, text = get("/metrics")
        assert 'deepscreen_output_failures_total{output="--events /dev/full"} 1' in text
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    (row,) = read_summary(summary)
    assert proc.returncode == _verdict_or_error(row), (proc.returncode, err[-2000:])
    assert "Traceback" not in err and int(row["processed"]) > 4
