#!/usr/bin/env python3
"""Compare two `deepscreen predict --csv` outputs of the same images (e.g. x86-64 vs arm64).

Faces are matched per image by box overlap (IoU), not by index, because a detector running on
another CPU may list the same faces in another order. For every face of the reference run it
prints both p_fake values, their difference and both verdicts; a face passes when its match has
IoU >= --min-iou and |p_fake difference| <= --tol. A verdict that flips while the difference is
within the tolerance is reported as `at-threshold` (the two runs agree to the tolerance; the
face simply sits on the threshold) and does not fail.

Usage:
    compare_predictions.py REF.csv OTHER.csv [--tol 0.01] [--min-iou 0.8]
                           [--labels x86-64 arm64] [--markdown]
Exit: 0 every face agrees, 1 a face differs or is missing, 2 usage error. Standard library only
(it runs on the host's python3, outside any venv).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Face:
    path: str
    face: int
    box: tuple[float, float, float, float] | None
    p_fake: float | None
    verdict: str


def read_rows(path: str) -> dict[str, list[Face]]:
    """Rows of a predict CSV grouped by image path (unreadable images keep p_fake None)."""
    by_path: dict[str, list[Face]] = defaultdict(list)
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            try:
                box = tuple(float(row[k]) for k in ("x1", "y1", "x2", "y2"))
                p_fake = float(row["p_fake"])
            except (ValueError, TypeError):
                box, p_fake = None, None
            by_path[row["path"]].append(
                Face(row["path"], int(row["face"]), box, p_fake, row["verdict"])
            )
    return by_path


def iou(a: tuple[float, ...] | None, b: tuple[float, ...] | None) -> float:
    if a is None or b is None:
        return 1.0 if a is b else 0.0
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def fmt(p: float | None) -> str:
    return "-" if p is None else f"{p:.6f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reference")
    parser.add_argument("other")
    parser.add_argument("--tol", type=float, default=0.01, help="largest |p_fake difference|")
    parser.add_argument("--min-iou", type=float, default=0.8, help="smallest box IoU of a match")
    parser.add_argument("--labels", nargs=2, default=("x86-64", "arm64"), metavar=("REF", "OTHER"))
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)

    ref, other = read_rows(args.reference), read_rows(args.other)
    la, lb = args.labels
    header = ["image", "face", f"p_fake {la}", f"p_fake {lb}", "|diff|", "box IoU",
              f"verdict {la}", f"verdict {lb}", "result"]
    rows: list[list[str]] = []
    failures = 0
    worst = 0.0
    for path in sorted(set(ref) | set(other)):
        mine, theirs = ref.get(path, []), list(other.get(path, []))
        for face in mine:
            match = max(theirs, key=lambda f: iou(face.box, f.box), default=None)
            overlap = iou(face.box, match.box) if match else 0.0
            if match is None or overlap < args.min_iou:
                rows.append([path, str(face.face), fmt(face.p_fake), "-", "-", f"{overlap:.3f}",
                             face.verdict, "-", "FAIL: no matching face"])
                failures += 1
                continue
            theirs.remove(match)
            if face.p_fake is None or match.p_fake is None:
                both_none = face.p_fake is None and match.p_fake is None
                same = both_none and face.verdict == match.verdict
                rows.append([path, str(face.face), fmt(face.p_fake), fmt(match.p_fake), "-", "-",
                             face.verdict, match.verdict, "ok" if same else "FAIL"])
                failures += 0 if same else 1
                continue
            diff = abs(face.p_fake - match.p_fake)
            worst = max(worst, diff)
            if diff > args.tol:
                result = "FAIL: p_fake differs"
                failures += 1
            elif face.verdict != match.verdict:
                result = "at-threshold"
            else:
                result = "ok"
            rows.append([path, str(face.face), fmt(face.p_fake), fmt(match.p_fake), f"{diff:.1e}",
                         f"{overlap:.3f}", face.verdict, match.verdict, result])
        for extra in theirs:
            rows.append([path, str(extra.face), "-", fmt(extra.p_fake), "-", "-", "-",
                         extra.verdict, f"FAIL: extra face in {lb}"])
            failures += 1

    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("| " + " | ".join("---" for _ in header) + " |")
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
                  for i, h in enumerate(header)]
        print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        for row in rows:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    faces = len(rows)
    print(f"{faces} faces, max |p_fake diff| {worst:.2e} (tolerance {args.tol:g}), "
          f"{failures} failing", file=sys.stderr if args.markdown else sys.stdout)
    if faces == 0:
        print("no faces to compare", file=sys.stderr)
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
