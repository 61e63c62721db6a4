"""`deepscreen screen` as a user runs it: exit codes, signals, written outputs."""

from __future__ import annotations

import json
import signal
import subprocess

import cv2
import pytest
from skimage import data

from tests.faults.cli import cli, read_summary, signal_and_wait, start_until_event
from tests.shared_data import shared_path
from tests.shipped import shipped_model


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli(*args), capture_output=True, text=True, timeout=timeout)


def test_missing_source_is_a_usage_error(tmp_path) -> None:
    model = shipped_model()
    out = run_cli(str(tmp_path / "nope.mp4"), "--model", str(model))
    assert out.returncode == 2, out.stderr
    assert "no such file" in out.stderr and "Traceback" not in out.stderr


def test_bad_option_value_is_a_usage_error() -> None:
    out = run_cli("x.mp4", "--detect-every", "0")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    out = run_cli("x.mp4", "--rule", "plurality")
    assert out.returncode == 2 and "rule" in out.stderr


def test_broken_model_is_a_runtime_error_not_a_verdict(tmp_path) -> None:
    bad = tmp_path / "classifier.onnx"
    bad.write_bytes(b"not an onnx file")
    img = tmp_path / "a.png"
    cv2.imwrite(str(img), data.astronaut()[:, :, ::-1])
    out = run_cli(str(img), "--model", str(bad))
    assert out.returncode == 1, (out.returncode, out.stderr)
    assert "Traceback" not in out.stderr


def test_no_face_exits_4(tmp_path) -> None:
    model = shipped_model()
    for i, img in enumerate((data.coffee(), data.rocket())):
        cv2.imwrite(str(tmp_path / f"{i}.png"), img[:, :, ::-1])
    out = run_cli(str(tmp_path), "--model", str(model), "--json", "--detect-every", "1")
    assert out.returncode == 4, out.stderr
    result = json.loads(out.stdout)
    assert result["outcome"] == "no_decision" and result["exit_code"] == 4
    assert result["streams"][0]["detections"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_run_writes_final_verdicts_and_summary(tmp_path, sig) -> None:
    model = shipped_model()
    clip = shared_path("videos", "ffpp-c23", "real", "519.mp4")  # 30 s at --realtime
    events, summary = tmp_path / "events.jsonl", tmp_path / "summary.csv"
    # Wait for the first decided verdict, then interrupt.
    proc = start_until_event(str(clip), "--model", str(model), "--realtime", "--events",
                             str(events), "--summary", str(summary), "--quiet", events=events)
    err = signal_and_wait(proc, sig)
    assert "Traceback" not in err
    rows = read_summary(summary)
    assert len(rows) == 1 and 0 < int(rows[0]["processed"]) < 751
    expected = {"real": 0, "fake": 3, "no_decision": 4}[rows[0]["outcome"]]
    assert proc.returncode == expected, (proc.returncode, rows, err)
    lines = [json.loads(x) for x in events.read_text().splitlines()]
    finals = [x for x in lines if x["final"] and x["track"] is None]
    assert len(finals) == 1 and finals[0]["verdict"] == rows[0]["verdict"]


@pytest.mark.slow
def test_ffpp_clips_each_get_a_verdict(tmp_path) -> None:
    """All six FF++ c23 clips as concurrent streams: every clip ends with a decided verdict,
    the exit code is the worst of them, and the per-clip results are in the CSV and JSON."""
    model = shipped_model()
    root = shared_path("videos", "ffpp-c23")
    clips = sorted(root.glob("real/*.mp4")) + sorted(root.glob("fake-*/*.mp4"))
    assert len(clips) == 6
    summary = tmp_path / "summary.csv"
    out = run_cli(*map(str, clips), "--model", str(model), "--max-frames", "24",
                  "--summary", str(summary), "--json", timeout=300)
    assert out.returncode in (0, 3, 4), out.stderr
    result = json.loads(out.stdout)
    rows = read_summary(summary)
    assert [r["stream"] for r in rows] == [c.name for c in clips]
    for row in rows:
        assert int(row["processed"]) == 24 and int(row["classified"]) >= 16
        assert row["verdict"] in ("real", "fake"), row
    worst = 3 if any(r["verdict"] == "fake" for r in rows) else 0
    assert out.returncode == worst == result["exit_code"]


def test_unreachable_camera_is_an_error_without_credentials(tmp_path) -> None:
    import socket

    model = shipped_model()
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    summary = tmp_path / "summary.csv"
    url = f"rtsp://admin:hunter2@127.0.0.1:{port}/stream"
    out = run_cli(url, "--model", str(model), "--duration", "3", "--summary", str(summary))
    assert out.returncode == 1, (out.returncode, out.stderr)
    (row,) = read_summary(summary)
    assert row["outcome"] == "error" and int(row["errors"]) >= 1 and row["last_error"]
    for text in (out.stdout, out.stderr, summary.read_text()):
        assert "hunter2" not in text and "admin" not in text
