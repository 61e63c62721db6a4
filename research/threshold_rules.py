"""Where should the decision threshold sit? Two rules, chosen on validation, judged on test.

Scores each ONNX classifier once on the registry's validation and test splits (canonical crops,
the face-detection cache shared with training and ``evaluate``), forms mean-logit ensembles from
those scores (what ``deepscreen export ensemble`` computes in one graph), and for each model
chooses a threshold on the validation faces only by

- ``eer``: the pooled equal-error-rate point, the rule training and ``export ensemble`` use;
  it is checked against the threshold stored in the model's metadata;
- ``worst-source``: the threshold maximising the lowest per-(source, class) validation rate
  (``train.metrics.worst_group_threshold``, groups of >= 50 faces).

It prints one markdown table per model: the threshold, the validation group each rule leaves
worst, and issue 12's eight test figures (``train.targets``) at each threshold, plus the
ffhq-vs-stylegan1 rates. Scores are saved in ``OUT/scores.npz`` and reused by a later run with
the same models.

Usage:
  .venv/bin/python research/threshold_rules.py --out runs/threshold_rules \\
      v9=runs/ship_v9/classifier.onnx v9s1=runs/ship_v9s1/classifier.onnx \\
      --ensemble v9+v9s1=v9,v9s1
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from probe_common import add_data_args, common_margin, val_test

from calibration.faces import DEFAULT_FACES
from train.labelled import Sample
from train.metrics import eer_threshold, logit, sigmoid, worst_group_threshold
from train.predict import open_scorer, score_crops
from train.source_eval import Detector, score_samples, source_rows
from train.targets import TARGETS, target_figures, targets_met

EXTRA = ("ffhq-vs-stylegan1/fake", "ffhq-vs-stylegan1/real")  # rates shown beside the targets


@dataclass(frozen=True)
class RuleResult:
    """One model under one threshold rule."""

    model: str
    rule: str
    threshold: float
    val_worst_group: str
    val_worst_rate: float
    test: dict[str, float]  # the targets' figures and EXTRA's rates on the test split
    met: int


def _named(pairs: list[str]) -> dict[str, str]:
    out = {}
    for p in pairs:
        name, sep, value = p.partition("=")
        if not sep or not name or not value:
            raise SystemExit(f"expected NAME=VALUE, got {p!r}")
        out[name] = value
    return out


def score_all(models: dict[str, str], samples: dict[str, list[Sample]], cache_dir: Path,
              saved: Path) -> dict[str, dict[str, np.ndarray]]:
    """p_fake per split per model, reusing ``saved`` for models scored before on these paths."""
    have: dict[str, np.ndarray] = dict(np.load(saved)) if saved.is_file() else {}
    scorers = {n: open_scorer(p) for n, p in models.items()}
    margin = common_margin(scorers.values())
    out: dict[str, dict[str, np.ndarray]] = {n: {} for n in models}
    for split, ss in samples.items():
        paths = np.array([s.path for s in ss])
        same_faces = f"{split}/paths" in have and np.array_equal(have[f"{split}/paths"], paths)
        todo = [n for n in models if not (same_faces and f"{split}/{n}" in have)]
        for n in models:
            if n not in todo:
                out[n][split] = have[f"{split}/{n}"]
        if todo:
            dets = [Detector(n, lambda c, sc=scorers[n]: score_crops(sc, c), 0.5) for n in todo]
            scored = score_samples(ss, dets, margin, cache_dir)
            for n in todo:
                out[n][split] = scored[n]
                have[f"{split}/{n}"] = scored[n]
            have[f"{split}/paths"] = paths
            saved.parent.mkdir(parents=True, exist_ok=True)
            np.savez(saved, **have)
    return out


def judge(name: str, p: dict[str, np.ndarray], samples: dict[str, list[Sample]]
          ) -> list[RuleResult]:
    """Both rules for one model's scores."""
    val, test = samples["val"], samples["test"]
    y_val = np.array([s.label for s in val])
    groups = np.array([s.source for s in val])
    worst = worst_group_threshold(y_val, p["val"], groups)
    thresholds = {"eer": eer_threshold(y_val, p["val"])[1], "worst-source": worst.threshold}
    results = []
    for rule, t in thresholds.items():
        rates = {g: float(np.mean((p["val"][groups == g] >= t) == g.endswith("/fake")))
                 for g in worst.rates}  # the groups the rule counts
        low = min(rates, key=rates.get)
        rows = source_rows(test, p["test"], "ours", float(t))
        figures = target_figures(rows)
        figures.update({f"{r.source} {r.metric}": r.rate for r in rows if r.source in EXTRA})
        results.append(RuleResult(name, rule, float(t), low, rates[low], figures,
                                  targets_met(figures)))
    return results


def markdown(results: list[RuleResult]) -> str:
    """One column per (model, rule); rows: threshold, validation worst group, test figures."""
    head = "| figure (target) | " + " | ".join(f"{r.model} {r.rule}" for r in results) + " |"
    lines = [head, "| --- |" + " ---: |" * len(results)]
    lines.append("| threshold | " + " | ".join(f"{r.threshold:.4f}" for r in results) + " |")
    lines.append("| validation: worst group, its rate | " + " | ".join(
        f"{r.val_worst_group} {r.val_worst_rate:.3f}" for r in results) + " |")
    for s, m, target in TARGETS:
        key = f"{s} {m}"
        cells = [f"**{r.test[key]:.3f}**" if r.test[key] >= target else f"{r.test[key]:.3f}"
                 for r in results]
        lines.append(f"| {key} (>= {target:.2f}) | " + " | ".join(cells) + " |")
    for s in EXTRA:
        key = f"{s} {'TPR' if s.endswith('fake') else 'TNR'}"
        lines.append(f"| {key} | " + " | ".join(f"{r.test[key]:.3f}" for r in results) + " |")
    lines.append("| targets met (of 8) | " + " | ".join(str(r.met) for r in results) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="NAME=MODEL.onnx")
    ap.add_argument("--ensemble", action="append", default=[],
                    help="NAME=A,B: the mean logit of named models (repeatable)")
    add_data_args(ap, DEFAULT_FACES)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    models = _named(args.models)
    ensembles = {n: v.split(",") for n, v in _named(args.ensemble).items()}
    for n, members in ensembles.items():
        if len(members) < 2 or any(m not in models for m in members):
            raise SystemExit(f"ensemble {n}: members must be two or more of {sorted(models)}")
    samples = val_test(args.faces)
    scores = score_all(models, samples, args.cache_dir, args.out / "scores.npz")
    for n, members in ensembles.items():
        scores[n] = {split: sigmoid(np.mean([logit(scores[m][split]) for m in members], axis=0))
                     for split in samples}
    results = [r for n in scores for r in judge(n, scores[n], samples)]
    stored = {n: open_scorer(p).contract.threshold for n, p in models.items()}
    text = markdown(results)
    text += "\n\nThreshold stored in each model (its training's validation EER): " + ", ".join(
        f"{n} {t:.4f}" for n, t in stored.items()) + ".\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "rules.md").write_text(text)
    (args.out / "rules.json").write_text(json.dumps([asdict(r) for r in results], indent=2))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
