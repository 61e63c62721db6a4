"""Retention of outputs that hold biometric data and fill disks: rotation by size and age.

Events (and any folder of face snapshots) describe people's faces; on an edge box that runs
for months they also fill the disk. A :class:`Retention` says how long and how much to keep:

- an events file is *rotated*: when it reaches an eighth of the size budget, or is older than
  an eighth of the age limit, it is renamed to ``events.<UTC time>.jsonl`` and a fresh
  ``events.jsonl`` is started (also at the start of a run, so each segment's age is known);
- *pruning* deletes rotated segments (or files of a snapshot folder) whose newest content is
  older than the age limit, then the oldest ones while the total is over the size budget.

So nothing is kept much longer than asked (an eighth of the limit at most), and the live file
plus its segments stay within the size budget (pruning leaves room for one full live file).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from engine.errors import UsageError

log = logging.getLogger("engine.sinks")

_UNITS_S = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
_UNITS_B = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 10**6, "mb": 10**6, "g": 10**9,
            "gb": 10**9, "t": 10**12, "tb": 10**12, "kib": 1024, "mib": 1024**2,
            "gib": 1024**3, "tib": 1024**4}
_QUANTITY = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*([a-zA-Z]*)\s*$")
# A rotated segment: <stem>.<YYYYmmddTHHMMSS[.ffffff]>Z<suffix>
_STAMP = r"\d{8}T\d{6}(?:\.\d{6})?Z"
SEGMENTS = 8  # the budget is split into this many segments: the overshoot is 1/SEGMENTS


def _quantity(text: str, units: dict, what: str, example: str) -> float:
    match = _QUANTITY.match(str(text))
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in units or float(match.group(1)) <= 0:
        raise UsageError(f"{what} {text}: expected a positive number and a unit, e.g. {example}")
    return float(match.group(1)) * units[unit]


def parse_duration(text: str, what: str = "duration") -> float:
    """Seconds from ``"90"``, ``"45s"``, ``"30m"``, ``"12h"``, ``"7d"`` or ``"2w"``."""
    return _quantity(text, _UNITS_S, what, "7d, 12h, 30m")


def parse_size(text: str, what: str = "size") -> int:
    """Bytes from ``"500MB"``, ``"2GB"``, ``"64k"``, ``"1GiB"`` (k/M/G are powers of 1000)."""
    return int(_quantity(text, _UNITS_B, what, "500MB, 2GB, 64k"))


@dataclass(frozen=True)
class Retention:
    """How long and how much of an output to keep (0 = no limit of that kind).

    Attributes:
        max_age_s: content older than this is deleted (within ``max_age_s / 8``).
        max_bytes: the output's total size is kept within this.
    """

    max_age_s: float = 0.0
    max_bytes: int = 0

    def __post_init__(self) -> None:
        if self.max_age_s < 0 or self.max_bytes < 0:
            raise UsageError("retention limits must be positive (or 0 for none)")

    @classmethod
    def parse(cls, age: str | None, size: str | None) -> Retention | None:
        """From the ``--retain`` and ``--retain-size`` texts; None when neither is given."""
        if not age and not size:
            return None
        return cls(parse_duration(age, "--retain") if age else 0.0,
                   parse_size(size, "--retain-size") if size else 0)

    @property
    def segment_bytes(self) -> int:
        """Rotate the live file at this size (0 = never for size)."""
        return max(4096, self.max_bytes // SEGMENTS) if self.max_bytes else 0

    @property
    def segment_age_s(self) -> float:
        """Rotate the live file at this age (0 = never for age)."""
        return self.max_age_s / SEGMENTS

    def prune(self, files: list[Path], keep_bytes: int = 0, now: float | None = None) -> list[Path]:
        """Delete the files too old or over budget (oldest first); returns those deleted.

        Args:
            files: the candidates (rotated segments, snapshot files).
            keep_bytes: bytes already used by what is never deleted (the live file).
            now: the clock (``time.time()``), for tests.
        """
        now = time.time() if now is None else now
        stats = []
        for path in files:
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            stats.append((st.st_mtime, st.st_size, path))
        stats.sort()  # oldest first
        removed: list[Path] = []
        total = keep_bytes + sum(size for _, size, _ in stats)
        for mtime, size, path in stats:
            too_old = self.max_age_s and now - mtime > self.max_age_s
            too_big = self.max_bytes and total > self.max_bytes
            if not (too_old or too_big):
                continue
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            total -= size
            removed.append(path)
        if removed:
            log.info("retention: deleted %d old file(s), e.g. %s", len(removed), removed[0])
        return removed


def segments(path: Path) -> list[Path]:
    """The rotated segments of the file ``path`` (``events.<stamp>.jsonl`` for events.jsonl)."""
    pattern = re.compile(re.escape(path.stem) + r"\." + _STAMP + re.escape(path.suffix) + "$")
    try:
        return sorted(p for p in path.parent.iterdir() if pattern.match(p.name))
    except FileNotFoundError:
        return []


def rotate(path: Path, retention: Retention, now: float | None = None) -> Path | None:
    """Rename a non-empty ``path`` to its next segment, then prune; returns the new segment."""
    now = time.time() if now is None else now
    segment = None
    if path.is_file() and path.stat().st_size > 0:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"
        segment = path.with_name(f"{path.stem}.{stamp}{path.suffix}")
        path.replace(segment)
    # Room for the live file to grow to its full segment size before the next rotation.
    retention.prune(segments(path), keep_bytes=retention.segment_bytes, now=now)
    return segment


def prune_folder(folder: str | Path, retention: Retention, pattern: str = "*",
                 now: float | None = None) -> list[Path]:
    """Apply ``retention`` to the files of ``folder`` matching ``pattern`` (e.g. snapshots)."""
    files = [p for p in Path(folder).glob(pattern) if p.is_file()]
    return retention.prune(files, now=now)
