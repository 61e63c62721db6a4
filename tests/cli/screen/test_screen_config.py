"""`deepscreen screen --config` as a user runs it, on real FF++ clips and a loopback RTSP
camera: per-stream overrides and outputs, flags over the file, credentials from ${NAME}."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.shared_data import shared_path
from tests.shipped import shipped_model


def cli(*args: str, env: dict | None = None, timeout: float = 300):
    return subprocess.run([sys.executable, "-m", "deepscreen_cli.app", *args],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def rows(path: Path) -> dict[str, dict]:
    return {r["stream"]: r for r in csv.DictReader(path.open())}


def events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def site_file(tmp_path: Path) -> Path:
    real = shared_path("videos", "ffpp-c23", "real")
    config = tmp_path / "screen.yaml"
    config.write_text(textwrap.dedent(f"""\
        model:
          path: {shipped_model()}
        pipeline:
          max_frames: 24
          min_frames: 4
        outputs:
          events: {tmp_path / "all.jsonl"}
          summary: {tmp_path / "summary.csv"}
          quiet: true
        defaults:
          detect_every: 5
        streams:
          lobby:
            source: {real / "004.mp4"}
            threshold: 0.3
            outputs:
              events: {tmp_path / "lobby.jsonl"}
          corridor:
            source: ${{CORRIDOR_CLIP}}
            threshold: 0.8
            detect_every: 2
        """))
    return config


def test_streams_run_with_their_own_settings_and_outputs(tmp_path) -> None:
    config = site_file(tmp_path)
    clip = shared_path("videos", "ffpp-c23", "real", "519.mp4")
    out = cli("screen", "--config", str(config), env={"CORRIDOR_CLIP": str(clip)})
    assert out.returncode in (0, 3, 4), out.stderr
    summary = rows(tmp_path / "summary.csv")
    assert set(summary) == {"lobby", "corridor"}
    assert all(int(r["processed"]) == 24 for r in summary.values())
    assert int(summary["corridor"]["detector_runs"]) > int(summary["lobby"]["detector_runs"])
    thresholds = {(e["stream"], e["threshold"]) for e in events(tmp_path / "all.jsonl")}
    assert thresholds == {("lobby", 0.3), ("corridor", 0.8)}
    own = events(tmp_path / "lobby.jsonl")
    assert own and {e["stream"] for e in own} == {"lobby"}


def test_flags_given_on_the_command_line_override_the_file(tmp_path) -> None:
    config = site_file(tmp_path)
    clip = shared_path("videos", "ffpp-c23", "real", "519.mp4")
    out = cli("screen", "--config", str(config), "--detect-every", "3", "--threshold", "0.5",
              "--max-frames", "12", env={"CORRIDOR_CLIP": str(clip)})
    assert out.returncode in (0, 3, 4), out.stderr
    summary = rows(tmp_path / "summary.csv")
    assert {int(r["processed"]) for r in summary.values()} == {12}
    assert summary["corridor"]["detector_runs"] == summary["lobby"]["detector_runs"]
    assert {e["threshold"] for e in events(tmp_path / "all.jsonl")} == {0.5}


def test_sources_and_config_together_are_a_usage_error(tmp_path) -> None:
    config = site_file(tmp_path)
    out = cli("screen", "x.mp4", "--config", str(config))
    assert out.returncode == 2 and "give no SOURCE" in out.stderr


def test_an_rtsp_camera_from_the_environment(tmp_path) -> None:
    from tests.engine.sources.servers import RtspServer, require_rtsp_server

    require_rtsp_server()
    clip = shared_path("videos", "ffpp-c23", "real", "004.mp4")
    server = RtspServer(clip, user="admin", password="s3cretPW").start()
    try:
        url = f"rtsp://admin:s3cretPW@127.0.0.1:{server.port}/stream"
        config = tmp_path / "cam.yaml"
        config.write_text(textwrap.dedent(f"""\
            model: {{path: {shipped_model()}}}
            pipeline: {{duration: 8}}
            outputs: {{events: {tmp_path / "ev.jsonl"}, summary: {tmp_path / "s.csv"}}}
            streams:
              door:
                source: ${{DOOR_URL}}
                threshold: 0.66
                detect_every: 3
                give_up_after: 20
            """))
        shown = cli("config", "show", str(config), env={"DOOR_URL": url})
        assert shown.returncode == 0 and "s3cretPW" not in shown.stdout
        out = cli("screen", "--config", str(config), "--quiet", env={"DOOR_URL": url})
    finally:
        server.kill()
    assert out.returncode in (0, 3, 4), out.stderr
    (row,) = rows(tmp_path / "s.csv").values()
    assert row["stream"] == "door" and int(row["processed"]) > 0 and row["live"] == "True"
    assert {e["threshold"] for e in events(tmp_path / "ev.jsonl")} == {0.66}
    for text in (out.stdout, out.stderr, (tmp_path / "ev.jsonl").read_text()):
        assert "s3cretPW" not in text
