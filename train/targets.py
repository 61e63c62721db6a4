"""Issue 12's per-source accuracy targets and how a set of evaluation rows scores against them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only a type: reading ship folders must not import the image pipeline
    from train.source_eval import SourceRow

# (row source, metric, target), in the order of issue 12's "Targets" section. A "TPR"/"TNR"
# figure is the row's rate at the model's threshold, an "AUC" figure the two-class row's AUC.
TARGETS: tuple[tuple[str, str, float], ...] = (
    ("dfdc-faces", "AUC", 0.90),
    ("ffhq-vs-stylegan1", "AUC", 0.95),
    ("dfdc-faces/fake", "TPR", 0.85),
    ("stylegan2-tpdne/fake", "TPR", 0.85),
    ("sd21-sdfd/fake", "TPR", 0.85),
    ("dfdc-faces/real", "TNR", 0.85),
    ("utkface/real", "TNR", 0.85),
    ("lfw/real", "TNR", 0.85),
)


def target_figures(rows: Sequence[SourceRow], detector: str = "ours") -> dict[str, float]:
    """``"source metric" -> value`` for each target, from ``train.source_eval`` rows.

    Raises:
        KeyError: a target's source has no row for ``detector``.
    """
    by_source = {r.source: r for r in rows if r.detector == detector}
    return {f"{s} {m}": (by_source[s].auc if m == "AUC" else by_source[s].rate)
            for s, m, _ in TARGETS}


def targets_met(figures: dict[str, float]) -> int:
    """How many of the targets ``figures`` (from :func:`target_figures`) reach."""
    return sum(figures[f"{s} {m}"] >= t for s, m, t in TARGETS)
