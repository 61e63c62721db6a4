"""Console output: the final per-stream table and a live view (rich), both human-facing."""

from __future__ import annotations

import math
import sys
import time

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from engine.judge.records import RunSummary, StreamSummary
from engine.judge.stream_vote import parse_track_summary
from engine.sinks.base import Sink

VERDICT_STYLE = {"fake": "bold red", "real": "green", "uncertain": "yellow"}


def _p(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.3f}"


def _styled(verdict: str, text: str) -> str:
    style = VERDICT_STYLE.get(verdict, "")
    return f"[{style}]{text}[/{style}]" if style else text


def track_cell(track_verdicts: str, limit: int = 3) -> str:
    """The confirmed tracks of a stream as ``#id verdict score`` (fakes first, then by score),
    at most ``limit`` of them, then how many more and how many never got confirmed.

    ``track_verdicts`` is :attr:`StreamSummary.track_verdicts`
    (``id:verdict:score:quality:hits[:unconfirmed]`` per track, space-separated).
    """
    rows = parse_track_summary(track_verdicts)
    confirmed = [(r.id, r.verdict, r.score) for r in rows if r.confirmed]
    unconfirmed = len(rows) - len(confirmed)
    # The track that decides an any-track stream (a fake, the highest score) comes first.
    confirmed.sort(key=lambda r: (r[1] != "fake", -float(r[2] or -1.0)))
    cells = [_styled(v, f"#{tid} {v} {score or '-'}") for tid, v, score in confirmed[:limit]]
    if len(confirmed) > limit:
        cells.append(f"+{len(confirmed) - limit} more")
    if unconfirmed:
        cells.append(f"[dim]{unconfirmed} unconfirmed[/dim]")
    return ", ".join(cells) if cells else "-"


def summary_table(streams: list[StreamSummary], title: str = "deepscreen") -> Table:
    """A rich table with one row per stream: counters, the stream verdict and score, and the
    confirmed tracks with their own verdicts and the scores that decided them."""
    table = Table(title=title)
    for col, justify in (
        ("stream", "left"), ("state", "left"), ("read", "right"), ("processed", "right"),
        ("dropped", "right"), ("faces", "right"), ("tracks", "right"), ("classified", "right"),
        ("verdict", "left"), ("p_fake", "right"), ("frames", "right"), ("reconnects", "right"),
        ("track verdicts (score)", "left"),
    ):
        table.add_column(col, justify=justify, overflow="fold")
    for s in streams:
        verdict = s.verdict if s.outcome != "error" else f"{s.verdict} (error)"
        table.add_row(
            s.stream, s.state, str(s.read), str(s.processed), str(s.dropped),
            str(s.detections), str(s.tracks), str(s.classified),
            _styled(s.verdict, verdict), _p(s.p_fake), str(s.frames), str(s.reconnects),
            track_cell(s.track_verdicts),
        )
    return table


class ConsoleTable(Sink):
    """Prints the final table (and the run's outcome) when the run ends."""

    def __init__(self, console: Console | None = None) -> None:
        # Piped output (logs, CI) gets a wide table instead of rich's 80-column default.
        self.console = console or Console(width=None if sys.stdout.isatty() else 160)

    def close(self, summary: RunSummary) -> None:
        title = f"deepscreen screen: {summary.outcome.replace('_', ' ')}"
        if summary.interrupted:
            title += " (interrupted)"
        self.console.print(summary_table(summary.streams, title=title))
        for s in summary.streams:
            if s.reason:  # why a stream ended without a decision (exit 4)
                self.console.print(f"{s.stream}: no decision: {s.reason}", markup=False)
        if summary.error:
            self.console.print(f"[red]error:[/red] {summary.error}")
        for lost in summary.lost_outputs:
            self.console.print(f"[red]error:[/red] {escape(lost)}", highlight=False)
        self.console.print(
            f"{summary.frames_processed} frames in {summary.wall_s:.1f} s "
            f"({summary.fps:.1f} frames/s), backend {summary.backend or '-'}, "
            f"spectral {summary.spectral or '-'}, mean batch {summary.batches.mean_size:.1f}"
        )


class LiveView(Sink):
    """A live-updating table of the streams; does nothing when stdout is not a terminal."""

    def __init__(self, console: Console | None = None, refresh_s: float = 0.5) -> None:
        self.console = console or Console()
        self.enabled = self.console.is_terminal  # False when piped, in CI, under --json
        self.refresh_s = refresh_s
        self._live: Live | None = None
        self._last = 0.0

    def open(self, streams: list[str]) -> None:
        if not self.enabled:
            return
        self._live = Live(
            summary_table([StreamSummary(stream=s) for s in streams], title="deepscreen (live)"),
            console=self.console, auto_refresh=False, transient=True,
        )
        self._live.start()

    def on_tick(self, streams: list[StreamSummary]) -> None:
        now = time.monotonic()
        if self._live is None or now - self._last < self.refresh_s:
            return
        self._last = now
        self._live.update(summary_table(streams, title="deepscreen (live)"), refresh=True)

    def close(self, summary: RunSummary) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
