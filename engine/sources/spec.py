"""Turn a source spec from the command line into a Source."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cv2

from engine.errors import InputError, UsageError
from engine.sources.base import Source
from engine.sources.files import IMAGE_SUFFIXES, ImageFolderSource, VideoFileSource
from engine.sources.indirect import resolve_spec
from engine.sources.live import Backoff, LiveSource
from engine.sources.scrub import redact, secrets_of

STREAM_SCHEMES = frozenset({"rtsp", "rtsps", "http", "https"})
# An http(s) URL ending like this is a remote file (finite, lossless), not a camera.
REMOTE_FILE_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".flv", ".wmv"}
)
_DEVICE = re.compile(r"^/dev/video(\d+)$")

# Every option any source accepts. An option that does not apply to the kind of source opened
# is ignored, so a caller can pass one set of options to all its sources; a misspelt one is an
# error.
_FILE_OPTS = {"loop", "realtime", "name"}
_FOLDER_OPTS = {"loop", "realtime", "fps", "name"}
_LIVE_OPTS = {
    "open_timeout", "read_timeout", "backoff", "backoff_base", "backoff_factor", "backoff_max",
    "backoff_jitter", "max_retries", "give_up_after", "max_lag", "live", "name",
}
KNOWN_OPTIONS = frozenset(_FILE_OPTS | _FOLDER_OPTS | _LIVE_OPTS)


def _pick(opts: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    return {k: v for k, v in opts.items() if k in allowed and v is not None}


def _backoff(opts: dict[str, Any]) -> Backoff:
    if isinstance(opts.get("backoff"), Backoff):
        return opts["backoff"]
    fields = {
        "base_s": opts.get("backoff_base"),
        "factor": opts.get("backoff_factor"),
        "max_s": opts.get("backoff_max"),
        "jitter": opts.get("backoff_jitter"),
    }
    return Backoff(**{k: float(v) for k, v in fields.items() if v is not None})


def _live_kwargs(opts: dict[str, Any]) -> dict[str, Any]:
    picked = _pick(opts, _LIVE_OPTS - {"backoff", "backoff_base", "backoff_factor",
                                        "backoff_max", "backoff_jitter", "name"})
    picked["backoff"] = _backoff(opts)
    if "max_lag" in opts:  # here None means "never re-open to catch up", not "default"
        picked["max_lag"] = opts["max_lag"]
    return picked


def open_source(spec: str, *, queue_size: int = 8, **opts: Any) -> Source:
    """Create (but do not start) the source named by ``spec``.

    Args:
        spec: a video file, an image folder (or a single image), a webcam (``"0"`` or
            ``"/dev/video0"``), or an ``rtsp://``, ``rtsps://``, ``http://`` or ``https://``
            URL; or ``env:NAME`` / ``file:PATH`` naming where such a spec is kept
            (:mod:`engine.sources.indirect`). An http(s) URL whose path ends in a video
            suffix (``.mp4`` ...) is read as a remote file (finite, lossless); any other URL
            is a live stream.
        queue_size: frames buffered between the reader thread and the consumer.
        **opts: ``loop`` and ``realtime`` (files, folders); ``fps`` (folders);
            ``open_timeout`` and ``read_timeout`` (seconds, default 5); ``max_retries``
            (None = forever); ``give_up_after`` (seconds without a frame, None = forever);
            ``max_lag`` (RTSP: seconds behind the camera before re-opening to catch up;
            default 10, None disables); ``backoff`` (a :class:`Backoff`) or
            ``backoff_base``, ``backoff_factor``, ``backoff_max``, ``backoff_jitter``;
            ``live`` (override the live/remote-file guess for URLs); ``name`` (display id,
            scrubbed). Options that do not apply to the kind of source are ignored; unknown
            names raise UsageError.

    Returns:
        The source; call ``start()`` to begin reading.

    Raises:
        UsageError: unknown option, bad URL, or missing path.
        InputError: a file that cannot be decoded, an empty folder, a missing webcam.
    """
    unknown = sorted(set(opts) - KNOWN_OPTIONS)
    if unknown:
        raise UsageError(
            f"unknown source option(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(KNOWN_OPTIONS))}"
        )
    spec = resolve_spec(str(spec).strip())
    if not spec:
        raise UsageError("empty source spec")
    name = opts.get("name")

    if spec.split("://", 1)[0].lower() in ("screen", "window") and "://" in spec:
        return _open_screen(spec, queue_size, opts)
    if "://" in spec:
        return _open_url(spec, queue_size, opts)

    device = _DEVICE.match(spec)
    if spec.isdigit() or device:
        index = int(spec) if spec.isdigit() else int(device.group(1))  # type: ignore[union-attr]
        dev = Path(f"/dev/video{index}")
        if sys.platform.startswith("linux") and not dev.exists():
            raise InputError(f"no webcam {spec}: {dev} does not exist")
        target: str | int = spec if device else index
        api = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
        kwargs = _live_kwargs(opts)
        kwargs.pop("live", None)
        return LiveSource(target, name or (spec if device else f"webcam:{index}"),
                          queue_size=queue_size, api=api, **kwargs)

    path = Path(spec).expanduser()
    if not path.exists():
        raise UsageError(f"no such file or folder: {spec}")
    if path.is_dir():
        source: Source = ImageFolderSource(path, queue_size=queue_size,
                                           **_pick(opts, _FOLDER_OPTS - {"name"}))
    elif path.suffix.lower() in IMAGE_SUFFIXES:
        source = ImageFolderSource(path, queue_size=queue_size,
                                          **_pick(opts, _FOLDER_OPTS - {"name"}))
    else:
        source = VideoFileSource(path, queue_size=queue_size, **_pick(opts, _FILE_OPTS - {"name"}))
    if name:
        source.name = name  # Source.name redacts
    return source


def _open_url(spec: str, queue_size: int, opts: dict[str, Any]) -> Source:
    clean = redact(spec)
    try:
        # Checked on the redacted form: a raw '#' or '/' in a password would make urlsplit
        # read part of it as the port, and its error message would quote that part.
        parts = urlsplit(clean)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a non-numeric port
    except ValueError as exc:
        raise UsageError(f"malformed URL {clean}: {redact(str(exc))}") from None
    scheme = parts.scheme.lower()
    if scheme not in STREAM_SCHEMES:
        raise UsageError(
            f"unsupported URL scheme {scheme}:// in {clean} (use rtsp, rtsps, http or https)"
        )
    if not host:
        raise UsageError(f"URL without a host: {clean}")
    kwargs = _live_kwargs(opts)
    if "live" not in kwargs:
        suffix = Path(urlsplit(spec.rpartition("@")[2]).path).suffix.lower()  # the real path
        is_file = scheme in ("http", "https") and suffix in REMOTE_FILE_SUFFIXES
        kwargs["live"] = not is_file
    name = str(opts["name"]) if opts.get("name") else clean  # Source.name redacts again
    return LiveSource(spec, name, secrets=secrets_of(spec), queue_size=queue_size, **kwargs)


def _open_screen(spec: str, queue_size: int, opts: dict[str, Any]) -> Source:
    """``screen://[:D][+X,Y[,WxH]]`` or ``window://TITLE`` (X11, FFmpeg's x11grab)."""
    from engine.sources.screen import ScreenSource, parse_spec

    kind, target, _ = parse_spec(spec)
    kwargs = _live_kwargs(opts)
    for unused in ("live", "max_lag"):  # a grab has no camera clock and is always live
        kwargs.pop(unused, None)
    name = str(opts.get("name") or spec)
    return ScreenSource(kind, target, name, fps=float(opts.get("fps") or 10.0),
                        queue_size=queue_size, **kwargs)
