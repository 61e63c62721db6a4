"""Issue 12's per-source targets, read from the output folders of ``scripts/ship_detector.sh``.

Usage: python research/issue12_targets.py [--intervals] runs/ship_v9 [runs/ship_v11 ...]

Prints one markdown table: each of the eight per-source figures (two AUCs, three fake TPRs,
three real TNRs) per ship folder with its margin to the target, whether the model is above
MesoNet-4's AUC on every source (from the same ``deepscreen evaluate`` run), and the FF++ c23
clips right under the engine's default stream rule (``bench/video_accuracy.py``). Nothing is
scored here: it only reads ``eval/sources.json`` and ``video-eval/videos.json``, so a decision
rule written before a run can be applied to it mechanically.

``--intervals`` adds each figure's 95 % interval over the sampling of the test faces (Wilson for
a rate, Hanley-McNeil for an AUC): how far a figure could move on another draw of test faces of
the same sizes. It does not include the variation between training runs.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from train.metrics import auc_standard_error, wilson_interval
from train.targets import TARGETS

DEFAULT_RULE = "any-track|none|on"  # the engine's default stream rule (docs/STREAMING.md)
NOT_FFPP = "multiface"  # street.mp4, the one clip of bench/video_accuracy.py that is not FF++


@dataclass(frozen=True)
class ShipFigures:
    """The target figures of one ship folder."""

    name: str
    values: dict[str, float]  # "source metric" -> value
    intervals: dict[str, tuple[float, float]]  # "source metric" -> 95 % interval
    met: int
    above_peer: bool | None  # None: no MesoNet-4 rows in the evaluation
    ffpp_right: int | None
    ffpp_clips: int | None


def _value(row: dict, metric: str) -> float:
    return float(row["auc"] if metric == "AUC" else row["rate"])


def _interval(ours: dict, source: str, metric: str, v: float) -> tuple[float, float]:
    """95 % interval of one figure over the sampling of its test faces."""
    if metric == "AUC":
        n_pos, n_neg = (int(ours.get(f"{source}/{c}", {}).get("n", 0)) for c in ("fake", "real"))
        if not (n_pos and n_neg):
            return float("nan"), float("nan")
        half = 1.96 * auc_standard_error(v, n_pos, n_neg)
        return max(0.0, v - half), min(1.0, v + half)
    n = int(ours[source]["n"])
    return wilson_interval(round(v * n), n)


def read_ship(folder: Path) -> ShipFigures:
    """The eight figures, the peer comparison and the FF++ clip count of one ship folder."""
    rows = json.loads((folder / "eval" / "sources.json").read_text())
    ours = {r["source"]: r for r in rows if r["detector"] == "ours"}
    peers = [r for r in rows if r["detector"] != "ours"]
    values, intervals, met = {}, {}, 0
    for source, metric, target in TARGETS:
        if source not in ours:
            raise SystemExit(f"{folder}: no row for {source} in eval/sources.json")
        v = _value(ours[source], metric)
        values[f"{source} {metric}"] = v
        intervals[f"{source} {metric}"] = _interval(ours, source, metric, v)
        met += v >= target
    above = None
    if peers:
        above = all(ours[r["source"]]["auc"] > r["auc"] for r in peers
                    if r["source"] in ours and r["auc"] == r["auc"])
    right = clips = None
    videos = folder / "video-eval" / "videos.json"
    if videos.is_file():
        replays = json.loads(videos.read_text())["variants"][DEFAULT_RULE]["clips"]
        ffpp = [r for r in replays if r["source"] != NOT_FFPP]
        clips = len(ffpp)
        right = sum(r["verdict"] == r["label"] for r in ffpp)
    return ShipFigures(folder.name, values, intervals, met, above, right, clips)


def table(ships: list[ShipFigures], intervals: bool = False) -> str:
    """Markdown: one row per figure, one column per ship folder (value and margin, and with
    ``intervals`` the 95 % interval over the test faces)."""
    head = "| figure (target) | " + " | ".join(s.name for s in ships) + " |"
    lines = [head, "| --- |" + " ---: |" * len(ships)]
    for source, metric, target in TARGETS:
        key = f"{source} {metric}"
        cells = []
        for s in ships:
            v = s.values[key]
            cell = (f"{'**' if v >= target else ''}{v:.3f}{'**' if v >= target else ''}"
                    f" ({v - target:+.3f})")
            if intervals:
                lo, hi = s.intervals[key]
                cell += f" [{lo:.3f}, {hi:.3f}]"
            cells.append(cell)
        lines.append(f"| {key} (>= {target:.2f}) | " + " | ".join(cells) + " |")
    lines.append("| targets met (of 8) | " + " | ".join(str(s.met) for s in ships) + " |")
    lines.append("| above MesoNet-4's AUC on every source | " + " | ".join(
        "-" if s.above_peer is None else ("yes" if s.above_peer else "no") for s in ships) + " |")
    lines.append("| FF++ c23 clips right (default rule) | " + " | ".join(
        "-" if s.ffpp_right is None else f"{s.ffpp_right}/{s.ffpp_clips}" for s in ships) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    intervals = "--intervals" in argv
    folders = [a for a in argv if a != "--intervals"]
    if not folders:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    print(table([read_ship(Path(a)) for a in folders], intervals))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
