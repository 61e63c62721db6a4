"""JSON Lines verdict events, written and flushed one by one so a crash loses nothing decided.

With a :class:`~engine.sinks.retention.Retention` the file is rotated and its old segments are
deleted by age and size (events describe people's faces, and an edge box runs for months).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import IO

from engine.errors import UsageError
from engine.judge.records import VerdictEvent
from engine.sinks.base import Sink
from engine.sinks.retention import Retention, rotate, segments
from engine.sinks.target import check_output


class JsonlEventSink(Sink):
    """Append each :class:`VerdictEvent` as one JSON line.

    Args:
        path: output file ("-" for stdout). Parent folders are created; an existing device
            (``/dev/null``) is appended to in place.
        fsync: also ask the OS to write the line to disk (survives a power cut, costs a
            syscall per event; events are rare, so it is on by default).
        retention: rotate and prune the file (a regular file only); None keeps everything.
        option: how the user named the output, for messages.
    """

    def __init__(self, path: str | Path, fsync: bool = True, retention: Retention | None = None,
                 option: str = "--events") -> None:
        self.path = str(path)
        self.target = None if self.path == "-" else check_output(path, option)
        special = self.target is None or self.target.special
        if retention is not None and special:
            raise UsageError(f"--retain needs {option} to be a regular file, not {self.path}")
        self.fsync = fsync and not special  # fsync on a pipe or device fails (EINVAL)
        self.retention = retention
        self._fh: IO[str] | None = None
        self._size = 0
        self._opened_at = self._pruned_at = 0.0
        self.count = 0

    def open(self, streams: list[str]) -> None:
        if self.target is None:
            self._fh = sys.stdout
            return
        self.target.probe()
        try:
            if self.retention is not None:
                # A fresh file per run: each segment's age is then known from its mtime.
                self._reopen(rotate_first=True)
            else:
                self._fh = open(self.target.path, "a", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise UsageError(f"cannot write events to {self.path}: {exc.strerror}") from exc

    def _reopen(self, rotate_first: bool) -> None:
        assert self.target is not None and self.retention is not None
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if rotate_first:
            rotate(self.target.path, self.retention)
        self._fh = open(self.target.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
        self._size = self._fh.tell()
        self._opened_at = self._pruned_at = time.monotonic()

    def _rotation_due(self) -> bool:
        r = self.retention
        if r is None or self._size == 0:
            return False
        return bool((r.segment_bytes and self._size >= r.segment_bytes)
                    or (r.segment_age_s and time.monotonic() - self._opened_at >= r.segment_age_s))

    def on_event(self, event: VerdictEvent) -> None:
        if self._fh is None:
            return
        line = event.to_json() + "\n"
        self._fh.write(line)
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())
        self.count += 1
        self._size += len(line.encode("utf-8"))
        if self._rotation_due():
            self._reopen(rotate_first=True)

    def on_tick(self, streams) -> None:
        # No event for a while: old events must still age out of the live file and old
        # segments out of the folder.
        if self._rotation_due():
            self._reopen(rotate_first=True)
        elif self._prune_due():
            assert self.target is not None and self.retention is not None
            self.retention.prune(segments(self.target.path),
                                 keep_bytes=self.retention.segment_bytes)

    def _prune_due(self) -> bool:
        r = self.retention
        if r is None or not r.segment_age_s:
            return False
        now = time.monotonic()
        if now - self._pruned_at < r.segment_age_s:
            return False
        self._pruned_at = now
        return True

    def close(self, summary) -> None:
        fh, self._fh = self._fh, None
        if fh is not None and self.target is not None:
            fh.close()
