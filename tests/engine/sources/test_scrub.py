"""Credentials never survive scrubbing: names, messages and query strings."""

from __future__ import annotations

import pytest

from engine.errors import UsageError
from engine.sources import open_source, scrub_text, scrub_url
from engine.sources.scrub import redact


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("rtsp://admin:hunter2@cam.local:554/stream", "rtsp://cam.local:554/stream"),
        ("rtsp://admin@cam.local/stream", "rtsp://cam.local/stream"),
        ("rtsp://us%40er:p%3Ass@10.0.0.5/h264", "rtsp://10.0.0.5/h264"),
        ("rtsp://user:p@ss@10.0.0.5:8554/live", "rtsp://10.0.0.5:8554/live"),
        ("http://cam/video.mjpg?user=admin&password=hunter2&res=hd",
         "http://cam/video.mjpg?user=***&password=***&res=hd"),
        ("https://h.example/live.m3u8?token=abc.def&x=1", "https://h.example/live.m3u8?token=***&x=1"),
        ("rtsp://[::1]:8554/s", "rtsp://[::1]:8554/s"),
        ("/videos/clip.mp4", "/videos/clip.mp4"),
        ("0", "0"),
    ],
)
def test_scrub_url(url: str, clean: str) -> None:
    assert scrub_url(url) == clean


def test_scrub_text_inside_messages() -> None:
    msg = "open rtsp://admin:hunter2@cam.local:554/s failed; retry http://x/y?pwd=topsecret&a=b"
    out = scrub_text(msg)
    assert "hunter2" not in out and "topsecret" not in out and "admin" not in out
    assert "rtsp://cam.local:554/s" in out and "a=b" in out


def test_malformed_url_is_still_scrubbed() -> None:
    assert "hunter2" not in scrub_url("rtsp://admin:hunter2@[::1/broken")


def test_source_name_has_no_credentials() -> None:
    source = open_source("rtsp://admin:hunter2@cam.local:554/stream?token=zzz123")
    assert source.live and source.name == "rtsp://cam.local:554/stream?token=***"
    assert "hunter2" not in repr(source) and "zzz123" not in repr(source)
    source.stop()  # never started: stop is still safe


# Every credential form seen on cameras and DVRs, with the text that must never survive.
CREDENTIAL_FORMS = [
    ("rtsp://192.0.2.7/user=admin&password=Ds3cr3tD&channel=1&stream=0.sdp",
     ["Ds3cr3tD", "admin"], "rtsp://192.0.2.7/user=***&password=***&channel=1&stream=0.sdp"),
    ("rtsp://192.0.2.7:554/user=admin_password=tlJwpbo6_channel=1_stream=0.sdp?real_stream",
     ["tlJwpbo6", "admin"],
     "rtsp://192.0.2.7:554/user=***_password=***_channel=1_stream=0.sdp?real_stream"),
    ("rtsp://admin:pa#ss9w@cam.local:554/s", ["pa#ss9w", "ss9w", "admin"],
     "rtsp://cam.local:554/s"),
    ("rtsp://admin:4711#42@cam.local/s", ["4711", "admin"], "rtsp://cam.local/s"),
    ("rtsp://op:a/b?c@cam.local/s", ["a/b?c", "op:"], "rtsp://cam.local/s"),
    ("rtsp://192.0.2.7/user%3Dadmin%26password%3DEnc0ded9", ["Enc0ded9", "admin"],
     "rtsp://192.0.2.7/user=***&password=***"),
    ("http://cam/v.mjpg?pass%77ord=hunter2&res=hd", ["hunter2"], "http://cam/v.mjpg?password=***&res=hd"),
    ("rtsp://192.0.2.7/user%253Dadmin%2526password%253DTwice99", ["Twice99", "admin"],
     "rtsp://192.0.2.7/user=***&password=***"),
    ("http://cam/s?password=a&b9x&res=hd", ["a&b9x", "b9x"], "http://cam/s?password=***&res=hd"),
    ("rtmp://live.example/app?stream_key=sk_live_123", ["sk_live_123"],
     "rtmp://live.example/app?stream_key=***"),
]


@pytest.mark.parametrize(("url", "secrets", "clean"), CREDENTIAL_FORMS)
def test_every_credential_form_is_redacted(url: str, secrets: list[str], clean: str) -> None:
    out = redact(url)
    assert out == clean
    assert not any(s in out for s in secrets)
    assert redact(out) == out  # idempotent: a redacted name stays as it is
    message = f"cannot open {url}: 401 Unauthorized"
    assert not any(s in redact(message) for s in secrets)


@pytest.mark.parametrize(("url", "secrets", "clean"), CREDENTIAL_FORMS[:5])
def test_stream_names_are_redacted_where_they_are_made(url, secrets, clean) -> None:
    source = open_source(url)
    assert source.name == clean
    source.name = url + "#2"  # a rename (e.g. a duplicate's suffix) is redacted too
    assert not any(s in source.name for s in secrets)
    source.stop()


def test_malformed_url_error_never_quotes_the_password() -> None:
    # urlsplit reads "4711" (the password's head before the raw '#') as the port: the old
    # error quoted the URL and the port text. The check now runs on the redacted form.
    with pytest.raises(UsageError) as err:
        open_source("rtsp://admin:4711#42@cam.local:99x/s")
    assert "4711" not in str(err.value) and "admin" not in str(err.value)
    assert "malformed URL rtsp://cam.local:99x/s" in str(err.value)


def test_camera_url_from_an_environment_variable(monkeypatch) -> None:
    monkeypatch.setenv("CAM1_URL", "rtsp://viewer:Env5ecret@cam.local:554/stream1")
    source = open_source("env:CAM1_URL")
    assert source.live and source.name == "rtsp://cam.local:554/stream1"
    assert source._target == "rtsp://viewer:Env5ecret@cam.local:554/stream1"  # FFmpeg gets it
    source.stop()
    monkeypatch.delenv("CAM1_URL")
    with pytest.raises(UsageError, match="CAM1_URL is not set"):
        open_source("env:CAM1_URL")
    with pytest.raises(UsageError, match="variable name"):
        open_source("env:CAM 1")


def test_camera_url_from_a_file(tmp_path) -> None:
    secret = tmp_path / "cam1"
    secret.write_text("rtsp://192.0.2.7/user=admin&password=F1leSecret&channel=1\n")
    source = open_source(f"file:{secret}")
    assert source.name == "rtsp://192.0.2.7/user=***&password=***&channel=1"
    source.stop()
    (tmp_path / "two").write_text("rtsp://a/s\nrtsp://b/s\n")
    with pytest.raises(UsageError, match="one URL per file") as err:
        open_source(f"file:{tmp_path / 'two'}")
    assert "rtsp://a" not in str(err.value)  # the content is never quoted
    with pytest.raises(UsageError, match="cannot read"):
        open_source(f"file:{tmp_path / 'missing'}")
