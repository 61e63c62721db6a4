"""The screening config file: schema errors with key and line, ${NAME} references, no
credential written in the file, flags over the file, the effective view redacted."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from engine.config import ConfigError, apply_flags, parse_screen_file, show_text
from engine.config.build import pipeline_config, source_options
from engine.config.edit import set_stream_threshold

GOOD = textwrap.dedent("""\
    # site A
    model:
      backend: ort
    defaults:
      detect_every: 4
      give_up_after: 30
    streams:
      lobby:
        source: ${CAM1_URL}
        threshold: 0.62      # calibrated
        stream_rule: frame-max
        alert_topic: site-a/lobby
        outputs:
          events: lobby.jsonl
      corridor:
        source: env:CAM2_URL
        min_face: 24
        detect_every: 2
    """)
ENV = {"CAM1_URL": "rtsp://viewer:s3cret@192.0.2.10:554/stream1"}


def problems(text: str, env=None) -> list[tuple[int, str, str]]:
    with pytest.raises(ConfigError) as info:
        parse_screen_file(text, "screen.yaml", env if env is not None else ENV)
    return [(p.line, p.key, p.message) for p in info.value.problems]


def test_a_good_file_gives_each_stream_its_overrides() -> None:
    loaded = parse_screen_file(GOOD, "screen.yaml", ENV)
    screen = loaded.file
    assert screen.streams["lobby"].source == ENV["CAM1_URL"]  # expanded at load
    assert screen.streams["corridor"].source == "env:CAM2_URL"  # the older form, untouched
    config = pipeline_config(screen)
    lobby, corridor = config.for_stream("lobby"), config.for_stream("corridor")
    assert (lobby.threshold, lobby.stream_rule, lobby.detect_every) == (0.62, "frame-max", 4)
    assert (corridor.threshold, corridor.min_face, corridor.detect_every) == (None, 24, 2)
    assert source_options(screen, "lobby")["give_up_after"] == 30
    assert loaded.line_of("streams", "lobby", "threshold") == 10


@pytest.mark.parametrize(("edit", "line", "key", "message"), [
    (("threshold: 0.62", "threshold: 1.5"), 10, "streams.lobby.threshold", "less than 1"),
    (("min_face: 24", "min_face: 8"), 17, "streams.corridor.min_face", "greater than or equal"),
    (("stream_rule: frame-max", "stream_rul: frame-max"), 11, "streams.lobby.stream_rul",
     "unknown key"),
    (("  backend: ort", "  backend: ort\n  backend: trt"), 4, "", "duplicate key 'backend'"),
    (("detect_every: 4", "detect_every: [4"), 6, "", "not valid YAML"),
    (("alert_topic: site-a/lobby", "alert_topic: site-a/#"), 12, "streams.lobby.alert_topic",
     "MQTT topic"),
    (("  lobby:", "  lob by:"), 8, "streams.lob by", "pattern"),
])
def test_a_bad_file_names_the_key_and_the_line(edit, line, key, message) -> None:
    found = problems(GOOD.replace(*edit))
    assert any(ln == line and k == key and message in m for ln, k, m in found), found


def test_inconsistent_values_are_located_at_their_stream() -> None:
    text = GOOD.replace("defaults:\n", "pipeline:\n  window: 4\n  min_frames: 8\ndefaults:\n")
    ((line, key, message),) = problems(text)
    assert (line, key) == (4, "pipeline") and "min_frames exceeds window" in message


def test_credentials_written_in_the_file_are_refused() -> None:
    text = GOOD.replace("env:CAM2_URL", "rtsp://admin:hunter2@192.0.2.11/s")
    ((line, key, message),) = problems(text)
    assert (line, key) == (16, "streams.corridor.source") and "${NAME}" in message


def test_an_unset_variable_is_an_error_not_an_empty_url() -> None:
    ((line, key, message),) = problems(GOOD, env={})
    assert (line, key) == (9, "streams.lobby.source") and "${CAM1_URL} is not set" in message
    defaulted = GOOD.replace("${CAM1_URL}", "${CAM1_URL:-lobby.mp4}")
    assert parse_screen_file(defaulted, "s.yaml", {}).file.streams["lobby"].source == "lobby.mp4"


def test_flags_override_the_file_everywhere() -> None:
    screen = parse_screen_file(GOOD, "screen.yaml", ENV).file
    over = apply_flags(screen, {"threshold": 0.9, "max_batch": 4, "backend": "remote",
                                "events": "-", "unknown": 1})
    config = pipeline_config(over)
    assert config.for_stream("lobby").threshold == 0.9  # the stream's own 0.62 loses
    assert config.for_stream("corridor").threshold == 0.9 and config.max_batch == 4
    assert over.model.backend == "remote" and over.outputs.events == "-"
    assert over.streams["lobby"].stream_rule == "frame-max"  # what no flag names stays


def test_show_redacts_what_the_environment_filled_in() -> None:
    text = show_text(parse_screen_file(GOOD, "screen.yaml", ENV).file)
    assert "s3cret" not in text and "viewer" not in text
    assert "rtsp://192.0.2.10:554/stream1" in text
    assert "threshold: 0.62" in text and "min_face: 24" in text


def test_calibrate_writes_a_threshold_and_keeps_the_comments() -> None:
    out = set_stream_threshold(GOOD, "lobby", 0.7123, "calibrate: test")
    assert "threshold: 0.7123  # calibrate: test" in out and "# site A" in out
    out = set_stream_threshold(out, "corridor", 0.55)
    assert "    threshold: 0.5500\n" in out
    screen = parse_screen_file(out, "screen.yaml", ENV).file
    assert screen.streams["lobby"].threshold == 0.7123
    assert screen.streams["corridor"].threshold == 0.55


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "deepscreen_cli.app", *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_config_check_and_show_commands(tmp_path) -> None:
    good = tmp_path / "screen.yaml"
    good.write_text(GOOD)
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("threshold: 0.62", "threshold: 2"))
    out = _cli("config", "check", str(good), str(bad), env=ENV)
    assert out.returncode == 2, out.stderr
    assert f"{good}: ok (2 streams)" in out.stdout
    assert f"{bad}:10: streams.lobby.threshold:" in out.stderr and "Traceback" not in out.stderr
    env_file = tmp_path / "worker.env"
    env_file.write_text('# cameras\nCAM1_URL="rtsp://u:pw@192.0.2.99/x"\n')
    out = _cli("config", "show", str(good), "--env-file", str(env_file))
    assert out.returncode == 0, out.stderr
    assert "rtsp://192.0.2.99/x" in out.stdout and "pw" not in out.stdout
    out = _cli("screen", "--config", str(bad), env=ENV)
    assert out.returncode == 2 and f"{bad}:10: streams.lobby.threshold" in out.stderr
