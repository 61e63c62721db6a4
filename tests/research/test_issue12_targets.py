"""research/issue12_targets.py reads what `deepscreen evaluate` and bench/video_accuracy.py
write."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from bench.video_accuracy import summarise
from train.labelled import Sample
from train.source_eval import source_rows, write_comparison

REPO = Path(__file__).resolve().parents[2]

# (source, label, how many, fraction scored right): the per-source rates the test expects back.
SOURCES = [
    ("dfdc-faces/fake", 1, 100, 0.90), ("dfdc-faces/real", 0, 100, 0.80),
    ("ffhq-vs-stylegan1/fake", 1, 50, 0.96), ("ffhq-vs-stylegan1/real", 0, 50, 0.96),
    ("lfw/real", 0, 40, 1.00), ("sd21-sdfd/fake", 1, 20, 0.85),
    ("stylegan2-tpdne/fake", 1, 20, 0.95), ("utkface/real", 0, 50, 0.70),
]


def _ship_folder(tmp_path: Path) -> Path:
    """A ship folder whose eval/ was written by the evaluator's own row and file writers."""
    samples, scores = [], []
    rng = np.random.default_rng(0)
    for source, label, n, right in SOURCES:
        k = round(n * right)
        for i in range(n):
            ok = i < k
            samples.append(Sample(f"/x/{source}/{i}.png", label, source))
            # p_fake on the right side of the 0.5 threshold for the first k, wrong for the rest.
            hi = rng.uniform(0.6, 0.99)
            scores.append(hi if ok == bool(label) else 1.0 - hi)
    rows = source_rows(samples, np.array(scores), "ours", 0.5)
    out = tmp_path / "ship_x"
    write_comparison(out / "eval", rows)
    replays = [
        {"clip": c, "label": lab, "verdict": v, "source": src, "score": 0.5, "first_fake": None,
         "alarms": 0, "duration_s": 10.0}
        for c, lab, v, src in [("a.mp4", "fake", "fake", "fake-deepfakes"),
                               ("b.mp4", "fake", "real", "fake-neuraltextures"),
                               ("c.mp4", "real", "real", "real"),
                               ("street.mp4", "real", "real", "multiface")]]
    (out / "video-eval").mkdir()
    (out / "video-eval" / "videos.json").write_text(json.dumps(
        {"variants": {"any-track|none|on": {"overall": summarise(replays), "clips": replays}}}))
    return out


def test_targets_table_counts_met_figures_margins_and_ffpp_clips(tmp_path: Path) -> None:
    folder = _ship_folder(tmp_path)
    out = subprocess.run([sys.executable, "research/issue12_targets.py", str(folder)],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = {line.split("|")[1].strip(): line.split("|")[2].strip()
             for line in out.stdout.splitlines() if line.startswith("| ")}
    assert lines["dfdc-faces/fake TPR (>= 0.85)"] == "**0.900** (+0.050)"
    assert lines["dfdc-faces/real TNR (>= 0.85)"] == "0.800 (-0.050)"
    assert lines["utkface/real TNR (>= 0.85)"] == "0.700 (-0.150)"
    assert lines["sd21-sdfd/fake TPR (>= 0.85)"] == "**0.850** (+0.000)"  # the bound counts
    # The two-class AUCs are the evaluator's own, with their margins.
    rows = json.loads((folder / "eval" / "sources.json").read_text())
    auc = {r["source"]: r["auc"] for r in rows if r["metric"] == "AUC"}
    for source, target in (("dfdc-faces", 0.90), ("ffhq-vs-stylegan1", 0.95)):
        cell = lines[f"{source} AUC (>= {target:.2f})"]
        assert cell.replace("*", "") == f"{auc[source]:.3f} ({auc[source] - target:+.3f})"
    # Met: dfdc fake, tpdne, sd21, lfw and whichever AUCs reach their targets.
    met = 4 + (auc["dfdc-faces"] >= 0.90) + (auc["ffhq-vs-stylegan1"] >= 0.95)
    assert int(lines["targets met (of 8)"]) == met
    assert lines["above MesoNet-4's AUC on every source"] == "-"  # no peer rows
    assert lines["FF++ c23 clips right (default rule)"] == "2/3"  # street.mp4 is not FF++


def test_missing_source_is_a_clear_error(tmp_path: Path) -> None:
    folder = _ship_folder(tmp_path)
    rows = json.loads((folder / "eval" / "sources.json").read_text())
    (folder / "eval" / "sources.json").write_text(
        json.dumps([r for r in rows if r["source"] != "utkface/real"]))
    out = subprocess.run([sys.executable, "research/issue12_targets.py", str(folder)],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "no row for utkface/real" in out.stderr


def test_intervals_bracket_each_figure(tmp_path: Path) -> None:
    folder = _ship_folder(tmp_path)
    out = subprocess.run([sys.executable, "research/issue12_targets.py", "--intervals",
                          str(folder)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    cells = {line.split("|")[1].strip(): line.split("|")[2].strip()
             for line in out.stdout.splitlines() if line.startswith("| ")}
    # 90 of 100 DFDC fakes: the Wilson 95 % interval [0.826, 0.945].
    assert cells["dfdc-faces/fake TPR (>= 0.85)"] == "**0.900** (+0.050) [0.826, 0.945]"
    for key, cell in cells.items():
        if "(>= " not in key:
            continue
        value = float(cell.replace("*", "").split()[0])
        lo, hi = (float(x) for x in cell.split("[")[1].rstrip("]").split(","))
        assert 0.0 <= lo <= value <= hi <= 1.0, key
