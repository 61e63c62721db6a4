"""Video sources: files, image folders, webcams, RTSP and HTTP(S) streams.

Each source is read by its own thread into a bounded queue (see :mod:`engine.sources.base`
for the contract and the accounting invariant). Start here::

    src = open_source("rtsp://user:pass@cam.local:554/stream")
    src.start()
    while not src.finished:
        frame = src.get(timeout=0.5)   # engine.types.Frame or None
        ...
    src.stop()

Credentials never leave this package: ``src.name`` and every message are scrubbed with
:func:`scrub_url` / :func:`scrub_text`.
"""

from __future__ import annotations

import os

# FFmpeg writes its own errors straight to stderr, bypassing `logging`, and some of them can
# quote a URL with its credentials. Silence it unless the user asked for a level; OpenCV reads
# this once, when its FFmpeg backend first initialises.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

from engine.sources.base import STATES, Source, SourceStats, to_bgr  # noqa: E402
from engine.sources.files import ImageFolderSource, VideoFileSource  # noqa: E402
from engine.sources.live import Backoff, LiveSource  # noqa: E402
from engine.sources.scrub import scrub_text, scrub_url  # noqa: E402
from engine.sources.spec import KNOWN_OPTIONS, open_source  # noqa: E402

__all__ = [
    "KNOWN_OPTIONS",
    "STATES",
    "Backoff",
    "ImageFolderSource",
    "LiveSource",
    "Source",
    "SourceStats",
    "VideoFileSource",
    "open_source",
    "scrub_text",
    "scrub_url",
    "to_bgr",
]
