"""Pass criteria of the soak (`bench/soak.py`) that need more than one sample to decide.

* :class:`RestartTracker`: every kill-and-restart of the RTSP server must be followed, on every
  RTSP stream, by a re-open and fresh frames (a stream that silently stays down after a
  restart would otherwise pass: its counters simply stop growing).
* :func:`window_growth`: memory growth after warm-up as the change between the mean RSS of the
  first and of the last window, in percent. The maximum over the baseline (the older
  ``--max-growth-mb`` figure) also counts the swings of decoded frames in flight, which are
  tens of MiB at any time of a run; comparing window means measures what grows.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class StreamCounters(Protocol):
    """What the tracker reads of a :class:`engine.sources.base.SourceStats`."""

    read: int
    connects: int


@dataclass
class StreamRestarts:
    """Server restarts one RTSP stream lived through, and how many it came back from.

    Attributes:
        name: the stream.
        restarts: server restarts while the stream ran.
        reconnected: restarts after which it re-opened and read frames from the new server.
        missed: restarts after which it did not, before the next kill (or the end's grace).
        back_s: for each restart it came back from, the seconds until it was seen back (to
            the resolution of the polls).
        missed_restarts: the numbers (1 = the first restart) of the restarts it missed.
    """

    name: str
    restarts: int = 0
    reconnected: int = 0
    missed: int = 0
    back_s: list[float] = field(default_factory=list)
    missed_restarts: list[int] = field(default_factory=list)
    _restarted_at: float = 0.0
    _connects_at_restart: int = 0
    _read_at_restart: int = 0
    _pending: bool = False


class RestartTracker:
    """Follows the RTSP streams across server restarts.

    Call :meth:`killed` when the server is killed, :meth:`restarted` once the new one listens,
    :meth:`poll` often (every second), and :meth:`settle` at the end. A restart counts as
    reconnected for a stream once, since the new server came up, the stream has opened it
    (``connects`` grew: the old server is dead, so that open reached the new one) and has read
    frames. Neither ``reconnects`` (it counts attempts, failed ones too) nor the state seen at
    a poll would do: a stream can come back, fall behind and re-open between two polls.
    """

    def __init__(self, names: Sequence[str],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.streams = {name: StreamRestarts(name) for name in names}
        self.clock = clock

    def killed(self, stats: Mapping[str, StreamCounters]) -> None:
        """The server is about to be killed: an earlier restart not yet recovered is missed."""
        self.poll(stats)
        for track in self.streams.values():
            if track._pending:
                track.missed += 1
                track.missed_restarts.append(track.restarts)
                track._pending = False

    def restarted(self, stats: Mapping[str, StreamCounters]) -> None:
        """The new server listens: from now on each stream must come back to it."""
        now = self.clock()
        for name, track in self.streams.items():
            track.restarts += 1
            track._restarted_at = now
            track._connects_at_restart = stats[name].connects
            track._read_at_restart = stats[name].read
            track._pending = True

    def poll(self, stats: Mapping[str, StreamCounters]) -> None:
        """Mark the streams that have come back since the last restart."""
        for name, track in self.streams.items():
            s = stats[name]
            if (track._pending and s.connects > track._connects_at_restart
                    and s.read > track._read_at_restart):
                track.reconnected += 1
                track.back_s.append(self.clock() - track._restarted_at)
                track._pending = False

    @property
    def pending(self) -> bool:
        """Whether some stream has not come back from the latest restart yet."""
        return any(t._pending for t in self.streams.values())

    def settle(self, stats: Mapping[str, StreamCounters]) -> None:
        """The run ends: a restart still not recovered is missed."""
        self.killed(stats)

    def failures(self) -> list[str]:
        """One line per stream that missed a restart."""
        return [f"{t.name}: {t.missed} of {t.restarts} server restarts not followed by a "
                f"reconnect (restart {', '.join(map(str, t.missed_restarts))})"
                for t in self.streams.values() if t.missed]


@dataclass
class WindowGrowth:
    """RSS growth after warm-up between the first and the last window (MiB and percent)."""

    window_s: float
    first_mb: float
    last_mb: float
    growth_pct: float


def window_growth(t: Sequence[float], rss_mb: Sequence[float],
                  window_s: float) -> WindowGrowth | None:
    """Mean RSS over the first and the last ``window_s`` seconds of the samples given (those
    after the warm-up), and the growth between them in percent of the first.

    The window is cut to a third of the span so that the two never overlap. None when fewer
    than two samples fall in either window.
    """
    if len(t) < 4:
        return None
    span = t[-1] - t[0]
    window = min(window_s, span / 3.0)
    first = [r for ti, r in zip(t, rss_mb, strict=True) if ti <= t[0] + window]
    last = [r for ti, r in zip(t, rss_mb, strict=True) if ti >= t[-1] - window]
    if len(first) < 2 or len(last) < 2:
        return None
    a, b = statistics.fmean(first), statistics.fmean(last)
    return WindowGrowth(round(window, 1), round(a, 1), round(b, 1), round(100.0 * (b - a) / a, 2))
