"""Options of `deepscreen screen` for the classification budget, as reusable annotated types.

Their meaning is in docs/STREAMING.md ("Classification budget") and :mod:`engine.budget`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from engine.budget import DEFAULT_SETTLED_HZ, BudgetConfig
from engine.errors import UsageError

SettledHz = Annotated[float, typer.Option(
    "--settled-hz", min=0.0, help="Classifications per second (media time) of a face track "
    "whose verdict is settled; new and uncertain tracks are classified on every frame, and a "
    "crop that disagrees returns a track to every frame (0 = every track on every frame).")]
BudgetMargin = Annotated[float, typer.Option(
    "--budget-margin", min=0.01, max=1.0, help="A settled track returns to every frame when "
    "a crop's p_fake moves more than this from its settled mean.")]
FullDetectEvery = Annotated[int, typer.Option(
    "--full-detect-every", min=0, help="Frames between full-frame face detections; the "
    "detections in between search only around the tracked faces (0 = always the whole "
    "frame). A new face waits for the next full detection (20 frames: 0.8 s at 25 fps).")]
CropsPerS = Annotated[str, typer.Option(
    "--crops-per-s", help="Crops per second the box affords across live cameras, shared "
    "fairly when they ask for more (0 = no limit; 'auto' = 60 % of the classifier's "
    "measured rate). Files are never throttled.")]


def budget_config(settled_hz: float = DEFAULT_SETTLED_HZ, margin: float = 0.25,
                  crops_per_s: str = "0") -> BudgetConfig:
    """The :class:`BudgetConfig` of the command-line values.

    Raises:
        UsageError: ``crops_per_s`` is neither a number >= 0 nor ``auto``.
    """
    text = str(crops_per_s).strip().lower()
    if text == "auto":
        rate = -1.0
    else:
        try:
            rate = float(text)
        except ValueError:
            rate = -2.0
        if not rate >= 0 or rate == float("inf"):
            raise UsageError(f"--crops-per-s takes a number >= 0 or 'auto', got {crops_per_s!r}")
    try:
        return BudgetConfig(settled_hz=settled_hz, margin=margin, crops_per_s=rate)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
