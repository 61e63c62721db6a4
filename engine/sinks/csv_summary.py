"""Per-stream summary as CSV: one row per stream, written when the run ends."""

from __future__ import annotations

import csv
import math
from dataclasses import fields
from pathlib import Path

from engine.errors import UsageError
from engine.records import RunSummary, StreamSummary
from engine.sinks.base import Sink

COLUMNS = [f.name for f in fields(StreamSummary)]


def write_summary_csv(path: str | Path, summary: RunSummary) -> None:
    """Write one row per stream with every :class:`StreamSummary` field."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
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
    # Atomic replace: a reader never sees half a summary.
    tmp.replace(target)


class CsvSummarySink(Sink):
    """Writes the per-stream CSV when the run ends (also after a signal or an error)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def open(self, streams: list[str]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot write the summary to {self.path}: {exc.strerror}") from exc

    def close(self, summary: RunSummary) -> None:
        write_summary_csv(self.path, summary)
