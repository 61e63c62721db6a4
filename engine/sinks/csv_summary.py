"""Per-stream summary as CSV: one row per stream, written when the run ends."""

from __future__ import annotations

import csv
import math
from dataclasses import fields
from pathlib import Path

from engine.judge.records import RunSummary, StreamSummary
from engine.sinks.base import Sink
from engine.sinks.target import check_output

COLUMNS = [f.name for f in fields(StreamSummary)]


def _write_rows(fh, summary: RunSummary) -> None:
    writer = csv.DictWriter(fh, fieldnames=COLUMNS)
    writer.writeheader()
    for s in summary.streams:
        row = {c: getattr(s, c) for c in COLUMNS}
        if isinstance(row["p_fake"], float) and math.isnan(row["p_fake"]):
            row["p_fake"] = ""
        elif isinstance(row["p_fake"], float):
            row["p_fake"] = f"{row['p_fake']:.4f}"
        row["last_t"] = f"{row['last_t']:.3f}"
        writer.writerow(row)


def write_summary_csv(path: str | Path, summary: RunSummary) -> None:
    """Write one row per stream with every :class:`StreamSummary` field.

    A regular file is replaced atomically (a reader never sees half a summary); an existing
    special file (``/dev/null``, a FIFO) is written in place, never replaced by a plain file.
    """
    target = Path(path)
    if target.exists() and not target.is_file() and not target.is_dir():
        with open(target, "w", newline="", encoding="utf-8") as fh:
            _write_rows(fh, summary)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            _write_rows(fh, summary)
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written .tmp behind
        raise


class CsvSummarySink(Sink):
    """Writes the per-stream CSV when the run ends (also after a signal or an error)."""

    def __init__(self, path: str | Path, option: str = "--summary") -> None:
        # A folder or a parent that is a file is refused now, not after the whole run.
        self.target = check_output(path, option)
        self.path = self.target.path

    def open(self, streams: list[str]) -> None:
        self.target.probe()  # UsageError (exit 2) before the first frame

    def close(self, summary: RunSummary) -> None:
        write_summary_csv(self.path, summary)
