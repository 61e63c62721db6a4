"""The file outputs of `deepscreen screen` (``--events``, ``--summary``, ``--annotate``).

Each is checked when asked for (a folder, or a video onto a device, is a usage error before
the model loads), and wrapped in a :class:`~engine.sinks.guard.GuardedSink`: a write that
fails mid-run (a full disk) costs that output only, is reported once, and ends the run with
exit 1 unless a fake was found. ``--retain`` / ``--retain-size`` rotate and prune the events.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import UsageError
from engine.sinks.guard import GuardedSink, OutputFaults


def build_file_sinks(events: Path | None, summary: Path | None, annotate: Path | None, *,
                     retain: str | None = None, retain_size: str | None = None,
                     registry=None, where: str = "--",
                     faults: OutputFaults | None = None) -> list:
    """Guarded sinks for the file outputs asked for (an empty list when none is).

    Args:
        events, summary, annotate: the paths given (``events`` may be ``-``: stdout).
        retain, retain_size: the ``--retain`` age and ``--retain-size`` budget of the events.
        registry: the run's metrics registry, to count lost outputs on ``/metrics``.
        where: how messages name the outputs: ``--`` (flags) or a config file's key path.
        faults: the run's lost-output record, when several calls build one run's outputs.

    Raises:
        UsageError: a path that cannot be an output, a bad retention, or a retention without
            an events file.
    """
    from engine.sinks import AnnotatedVideoSink, CsvSummarySink, JsonlEventSink
    from engine.sinks.retention import Retention

    retention = Retention.parse(retain, retain_size)
    if retention is not None and events is None:
        raise UsageError("--retain and --retain-size apply to --events: give --events FILE")
    faults = faults or OutputFaults(registry)
    sinks: list = []
    if events is not None:
        sinks.append(GuardedSink(JsonlEventSink(str(events), retention=retention),
                                 f"{where}events {events}", faults))
    if summary is not None:
        sinks.append(GuardedSink(CsvSummarySink(summary), f"{where}summary {summary}", faults))
    if annotate is not None:
        sinks.append(GuardedSink(AnnotatedVideoSink(annotate), f"{where}annotate {annotate}",
                                 faults))
    return sinks
