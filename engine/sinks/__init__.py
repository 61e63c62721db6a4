"""Outputs of the streaming engine: JSON Lines events, CSV summary, console, annotated video."""

from engine.sinks.base import FrameView, Sink, TrackView
from engine.sinks.console import ConsoleTable, LiveView, summary_table
from engine.sinks.csv_summary import CsvSummarySink
from engine.sinks.jsonl import JsonlEventSink
from engine.sinks.video import AnnotatedVideoSink

__all__ = [
    "AnnotatedVideoSink",
    "ConsoleTable",
    "CsvSummarySink",
    "FrameView",
    "JsonlEventSink",
    "LiveView",
    "Sink",
    "TrackView",
    "summary_table",
]
