"""Finding tracked faces again between full detections: the windows' pyramid against refinement.

On frame pairs of the 1080p street clip (``street.mp4``, 4-7 faces), the faces a full-frame
MTCNN finds on frame ``s`` play the tracks; on frame ``s + gap`` three searches run: the full
frame (the reference), the P-Net pyramid in windows around the tracks (``RegionDetector``,
``refine=False``) and R-/O-Net refinement from candidate boxes around them (``refine=True``,
what `screen --full-detect-every` runs). Reported per gap: faces each search returns, how many
of the reference's faces near a track (IoU > 0.3 with one) it finds again (IoU > 0.7), and
its median milliseconds::

    .venv/bin/python bench/region_recall.py --gaps 1,5,10,20
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.inputs import read_frames  # noqa: E402
from bench.street import STREET  # noqa: E402


@dataclass
class RecallRow:
    """One gap's figures over every frame pair.

    Attributes:
        gap: frames between the tracks' frame and the searched one.
        pairs: frame pairs measured.
        full / pyramid / refine: faces each search returned, summed over the pairs.
        near: the full detection's faces near a track (what a region search can find).
        pyramid_found / refine_found: of those, found again by each region search.
        full_ms / pyramid_ms / refine_ms: median milliseconds per frame.
    """

    gap: int
    pairs: int
    full: int
    pyramid: int
    refine: int
    near: int
    pyramid_found: int
    refine_found: int
    full_ms: float
    pyramid_ms: float
    refine_ms: float


def _timed(fn, *args) -> tuple[list, float]:
    t0 = time.perf_counter()
    out = fn(*args)
    return out, (time.perf_counter() - t0) * 1000.0


def measure(gaps: list[int], step: int = 4, min_face: int = 40,
            clip: Path = STREET) -> list[RecallRow]:
    """The table's rows, one per gap (frame pairs every ``step`` frames of the clip)."""
    from engine.detect import MTCNNDetector
    from engine.detect.regions import RegionDetector
    from engine.track import iou

    frames = read_frames(clip, count=10**6)  # the whole clip (105 frames)
    if not frames:
        raise SystemExit(f"cannot read {clip}")
    detector = MTCNNDetector(min_face=min_face)
    pyramid, refine = RegionDetector(detector), RegionDetector(detector, refine=True)
    rows = []
    for gap in gaps:
        counts = {"full": 0, "pyramid": 0, "refine": 0, "near": 0, "pf": 0, "rf": 0}
        ms: dict[str, list[float]] = {"full": [], "pyramid": [], "refine": []}
        starts = range(0, len(frames) - gap, step)
        for s in starts:
            tracked = [d.box for d in detector.detect(frames[s])]
            later = frames[s + gap]
            full, t_full = _timed(detector.detect, later)
            by_pyramid, t_pyr = _timed(pyramid.detect, later, tracked)
            by_refine, t_ref = _timed(refine.detect, later, tracked)
            for key, found, t in (("full", full, t_full), ("pyramid", by_pyramid, t_pyr),
                                  ("refine", by_refine, t_ref)):
                counts[key] += len(found)
                ms[key].append(t)
            for face in full:
                if not tracked or max(iou(face.box, t) for t in tracked) <= 0.3:
                    continue
                counts["near"] += 1
                counts["pf"] += max((iou(face.box, d.box) for d in by_pyramid), default=0) > 0.7
                counts["rf"] += max((iou(face.box, d.box) for d in by_refine), default=0) > 0.7
        rows.append(RecallRow(
            gap=gap, pairs=len(starts), full=counts["full"], pyramid=counts["pyramid"],
            refine=counts["refine"], near=counts["near"], pyramid_found=counts["pf"],
            refine_found=counts["rf"], full_ms=statistics.median(ms["full"]),
            pyramid_ms=statistics.median(ms["pyramid"]),
            refine_ms=statistics.median(ms["refine"])))
    return rows


def markdown(rows: list[RecallRow]) -> str:
    """The rows as the table in docs/BENCHMARKS_BUDGET.md."""
    lines = ["| gap (frames) | pairs | faces: full / pyramid / refine | near a track | found "
             "again: pyramid / refine | ms per frame: full / pyramid / refine |",
             "| ---: | ---: | --- | ---: | --- | --- |"]
    for r in rows:
        lines.append(f"| {r.gap} | {r.pairs} | {r.full} / {r.pyramid} / {r.refine} | {r.near} "
                     f"| {r.pyramid_found} / {r.refine_found} | {r.full_ms:.1f} / "
                     f"{r.pyramid_ms:.1f} / {r.refine_ms:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the table (and write the rows as JSON with ``--out``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gaps", default="1,5,10,20", help="Comma-separated frame gaps.")
    parser.add_argument("--step", type=int, default=4, help="Frames between pair starts.")
    parser.add_argument("--out", type=Path, help="JSON file for the rows.")
    args = parser.parse_args(argv)
    if not STREET.is_file():
        print(f"{STREET} is not here", file=sys.stderr)
        return 2
    rows = measure([int(g) for g in args.gaps.split(",")], step=args.step)
    print(markdown(rows))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
