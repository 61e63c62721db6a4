"""The verdict vocabulary and the exit codes, in one module at the bottom of the runtime.

Everything that names a verdict (voting, summaries, sinks, metrics) or turns an outcome into
an exit code imports it from here, so a word or a code cannot drift between modules.

Verdicts (per track and per stream): ``uncertain`` until enough frames are voted, then
``real`` or ``fake``. Outcomes (per stream and per run, what the exit code reports): ``real``,
``fake``, ``no_decision`` (no face, or still uncertain at the end) and ``error``.
"""

from __future__ import annotations

UNCERTAIN, REAL, FAKE = "uncertain", "real", "fake"
VERDICTS = (UNCERTAIN, REAL, FAKE)

NO_DECISION, ERROR = "no_decision", "error"
# Worst first: several streams give the first outcome of this order that any of them has.
OUTCOME_ORDER = (FAKE, ERROR, NO_DECISION, REAL)

# Exit codes of `deepscreen screen` (scripts rely on them; see docs/STREAMING.md).
EXIT_REAL = 0
EXIT_ERROR = 1  # a runtime error; also what DeepscreenError subclasses exit with by default
EXIT_USAGE_ERROR = 2
EXIT_FAKE = 3
EXIT_NO_DECISION = 4
OUTCOME_EXIT = {REAL: EXIT_REAL, FAKE: EXIT_FAKE, NO_DECISION: EXIT_NO_DECISION,
                ERROR: EXIT_ERROR}
