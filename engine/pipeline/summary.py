"""What a run reports, re-exported from their one home :mod:`engine.records`.

Kept so that ``engine.pipeline.summary`` stays importable for existing callers.
"""

from __future__ import annotations

from engine.records import BatchStats, RunSummary, StreamSummary
from engine.verdicts import (
    EXIT_ERROR,
    EXIT_FAKE,
    EXIT_NO_DECISION,
    EXIT_REAL,
    OUTCOME_EXIT,
    OUTCOME_ORDER,
)

__all__ = ["EXIT_ERROR", "EXIT_FAKE", "EXIT_NO_DECISION", "EXIT_REAL", "OUTCOME_EXIT",
           "OUTCOME_ORDER", "BatchStats", "RunSummary", "StreamSummary"]
