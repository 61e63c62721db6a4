"""JSON Lines verdict events, written and flushed one by one so a crash loses nothing decided."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from engine.errors import UsageError
from engine.records import VerdictEvent
from engine.sinks.base import Sink


class JsonlEventSink(Sink):
    """Append each :class:`VerdictEvent` as one JSON line.

    Args:
        path: output file ("-" for stdout). Parent folders are created.
        fsync: also ask the OS to write the line to disk (survives a power cut, costs a
            syscall per event; events are rare, so it is on by default).
    """

    def __init__(self, path: str | Path, fsync: bool = True) -> None:
        self.path = str(path)
        self.fsync = fsync and self.path != "-"
        self._fh: IO[str] | None = None
        self.count = 0

    def open(self, streams: list[str]) -> None:
        if self.path == "-":
            import sys

            self._fh = sys.stdout
            return
        target = Path(self.path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(target, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run
        except OSError as exc:
            raise UsageError(f"cannot write events to {target}: {exc.strerror}") from exc

    def on_event(self, event: VerdictEvent) -> None:
        if self._fh is None:
            return
        self._fh.write(event.to_json() + "\n")
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())
        self.count += 1

    def close(self, summary) -> None:
        if self._fh is not None and self.path != "-":
            self._fh.close()
        self._fh = None
