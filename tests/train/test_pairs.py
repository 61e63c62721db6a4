"""The twin ranking loss: DFDC's real/fake pairs found, drawn together, ranked; trained for real."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.shared_data import shared_path
from tests.train.tiny_run import tiny_config
from train.checkpoint import load_checkpoint
from train.config import config_from_dict
from train.labelled import Sample
from train.loop import train
from train.pairs import ViewIndex, pair_batch, pair_loss, twin_index, twin_ranking
from train.sources import load_sources


def _s(i: int, label: int, group: str) -> Sample:
    return Sample(f"/x/{i}.jpg", label, "src/fake" if label else "src/real", "train", group)


def test_twins_are_one_real_and_one_fake_of_one_group() -> None:
    samples = [
        _s(0, 0, "a"), _s(1, 1, "a"),          # a pair
        _s(2, 0, "b"), _s(3, 0, "b"),          # two reals: no pair
        _s(4, 1, "c"), _s(5, 0, "c"), _s(6, 1, "c"),  # three: no pair
        _s(7, 1, ""), _s(8, 0, ""),            # no group: never paired
        _s(9, 1, "d"), _s(10, 0, "d"),         # a pair, fake listed first
    ]
    np.testing.assert_array_equal(twin_index(samples),
                                  [1, 0, -1, -1, -1, -1, -1, -1, -1, 10, 9])


def test_every_dfdc_training_face_has_its_twin_and_nothing_else_does() -> None:
    samples = load_sources(shared_path("faces"))
    twins = twin_index(samples)
    for i, s in enumerate(samples):
        if s.source.startswith("dfdc-faces/"):
            t = samples[twins[i]]
            assert twins[i] >= 0 and twins[twins[i]] == i
            assert t.group == s.group and t.label == 1 - s.label and t.split == s.split
        else:
            assert twins[i] == -1, s  # LFW persons hold many reals; other sources group by file
    assert (twins >= 0).sum() >= 2000


def _cache(n_samples: int = 8, views: int = 3):
    """A cache's index arrays: ``views`` plain views per sample, then one SBI view of each real."""
    labels = np.array([i % 2 for i in range(n_samples)])  # pairs (0,1), (2,3), ... real first
    sample, sbi, label = [], [], []
    for i in range(n_samples):
        sample += [i] * views
        sbi += [False] * views
        label += [int(labels[i])] * views
        if labels[i] == 0:
            sample.append(i)
            sbi.append(True)
            label.append(1)
    return np.array(sample), np.array(sbi), np.array(label)


def test_pair_batch_puts_each_eligible_draw_beside_its_twin() -> None:
    sample, sbi, label = _cache()
    # Samples 0..5 are three twin pairs; 6 and 7 have no twin.
    twins = np.array([1, 0, 3, 2, 5, 4, -1, -1])
    views = ViewIndex.of(sample, sbi, 8)
    assert views.count.tolist() == [3] * 8
    sbi_entry = int(np.flatnonzero(sbi)[0])
    lone6, lone7 = (int(np.flatnonzero(sample == k)[0]) for k in (6, 7))
    # Entries: sample 0 -> 0-2 (+3 SBI), 1 -> 4-6, 2 -> 7-9 (+10), 3 -> 11-13, 4 -> 14-16 ...
    batch = np.array([0, lone6, 7, sbi_entry, 4, 13, 16, lone7, 9])
    rng = np.random.default_rng(0)
    out, pairs = pair_batch(batch, sample, sbi, label, twins, views, rng)
    assert len(out) == len(batch)
    # Eligible draws (plain views of paired samples) at positions 0, 2, 4, 5, 6, 8: pairs
    # (0, 2), (4, 5), (6, 8); every other draw is untouched.
    for p in (1, 3, 7):
        assert out[p] == batch[p]
    for first, second in ((0, 2), (4, 5), (6, 8)):
        assert out[first] == batch[first]
        assert sample[out[second]] == twins[sample[batch[first]]] and not sbi[out[second]]
    assert sorted(map(tuple, np.sort(pairs, axis=1).tolist())) == [(0, 2), (4, 5), (6, 8)]
    assert (label[out[pairs[:, 0]]] == 0).all() and (label[out[pairs[:, 1]]] == 1).all()


def test_pair_batch_leaves_an_odd_last_draw_unpaired_and_keeps_the_draw_distribution() -> None:
    sample, sbi, label = _cache(views=2)
    twins = np.array([1, 0, 3, 2, 5, 4, 7, 6])
    views = ViewIndex.of(sample, sbi, 8)
    plain = np.flatnonzero(~sbi)
    out, pairs = pair_batch(plain[:3], sample, sbi, label, twins, views,
                            np.random.default_rng(1))
    assert len(pairs) == 1 and out[2] == plain[2]
    # Twinning is a bijection on paired samples: uniform draws stay uniform over samples.
    rng = np.random.default_rng(2)
    seen: Counter[int] = Counter()
    for _ in range(2000):
        out, _ = pair_batch(rng.choice(plain, 16), sample, sbi, label, twins, views, rng)
        seen.update(sample[out].tolist())
    freq = np.array([seen[i] for i in range(8)]) / (2000 * 16)
    np.testing.assert_allclose(freq, 1 / 8, atol=0.01)


def test_pair_loss_is_logistic_ranking_and_pushes_the_fake_above_its_twin() -> None:
    z = torch.tensor([0.5, -1.0, 2.0, 0.0], requires_grad=True)
    pairs = np.array([[0, 1], [3, 2]])  # (real, fake)
    loss = pair_loss(z, pairs)
    expected = (np.log1p(np.exp(0.5 - -1.0)) + np.log1p(np.exp(0.0 - 2.0))) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert z.grad[0] > 0 and z.grad[1] < 0  # descent lowers the real, raises the fake
    assert abs(z.grad[0]) > abs(z.grad[3])  # the mis-ranked pair pulls harder
    empty = pair_loss(z, np.zeros((0, 2), np.int64))
    assert empty.item() == 0.0 and empty.requires_grad


def test_view_index_refuses_a_sample_without_views() -> None:
    views = ViewIndex.of(np.array([0, 0, 2]), np.array([False, False, False]), 3)
    with pytest.raises(ValueError, match="sample 1"):
        views.random_view(1, np.random.default_rng(0))


def test_twin_ranking_separates_pair_skill_from_scene_offsets() -> None:
    # Three pairs: each fake above its own twin, but scene 2 scores high for both faces.
    samples = [_s(0, 0, "a"), _s(1, 1, "a"), _s(2, 0, "b"), _s(3, 1, "b"),
               _s(4, 0, "c"), _s(5, 1, "c"), _s(6, 0, "")]
    p = np.array([0.10, 0.30, 0.20, 0.40, 0.70, 0.90, 0.99])
    r = twin_ranking(samples, p, threshold=0.5)
    assert r.pairs == 3 and r.pair_accuracy == 1.0
    # Fakes 0.3, 0.4 lie below the real 0.7: 7 of 9 fake/real comparisons right.
    assert r.auc == pytest.approx(7 / 9)
    logit = np.log(p / (1 - p))
    assert r.median_gap == pytest.approx(np.median([logit[1] - logit[0], logit[3] - logit[2],
                                                    logit[5] - logit[4]]))
    assert r.real_flagged_with_fake == 1.0  # the one real flagged (0.70) has its fake flagged
    assert r.fake_flagged == pytest.approx(1 / 3)  # only 0.90 of the fakes reaches 0.5
    tied = twin_ranking(samples, np.full(7, 0.5), threshold=0.9)
    assert tied.pair_accuracy == 0.5 and tied.real_flagged_with_fake == 0.0
    with pytest.raises(ValueError, match="no real/fake twin pairs"):
        twin_ranking([samples[6]], p[6:], 0.5)
    with pytest.raises(ValueError, match="6 scores for 7"):
        twin_ranking(samples, p[:6], 0.5)


def test_twin_probe_scores_real_dfdc_test_pairs(tmp_path: Path) -> None:
    """The probe on the shipped model and eight real DFDC twin pairs of the test split."""
    faces = shared_path("faces")
    test = [s for s in load_sources(faces, ["dfdc-faces"]) if s.split == "test"]
    by_group: dict[str, list[Sample]] = {}
    for s in test:
        by_group.setdefault(s.group, []).append(s)
    pairs = [g for g in by_group.values() if len(g) == 2][:8]
    root = tmp_path / "faces" / "dfdc-faces"
    for label in ("real", "fake"):
        (root / label).mkdir(parents=True)
    with (root / "manifest.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "source_video"])
        for group in pairs:
            for s in group:
                kind = "fake" if s.label else "real"
                name = Path(s.path).name
                os.symlink(s.path, root / kind / name)
                w.writerow([f"{kind}/{name}", kind, s.group.rsplit("/", 1)[-1]])
    out = subprocess.run(
        [sys.executable, "research/twin_probe.py", "engine/models/classifier.onnx",
         "--faces", str(tmp_path / "faces"), "--cache-dir", str(tmp_path / "cache")],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr
    rows = {line.split("|")[1].strip(): line.split("|")[2].strip()
            for line in out.stdout.splitlines() if line.startswith("| ") and "---" not in line}
    assert 0.0 <= float(rows["pair accuracy (fake above its own real twin)"]) <= 1.0
    assert 0.0 <= float(rows["AUC, every fake against every real of these pairs"]) <= 1.0
    assert "pairs: 8 (dfdc-faces; test split)" in out.stdout


# --- the cached training loop with the loss on real DFDC pairs ----------------------------------

def _twin_manifest(out: Path) -> Path:
    """A split manifest of real DFDC twin pairs: 6 pairs train, 3 val, 2 test."""
    root = shared_path("faces") / "dfdc-faces"
    with (root / "manifest.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_video: dict[str, list[dict]] = {}
    for r in rows:
        by_video.setdefault(r["source_video"], []).append(r)
    videos = [v for v, rs in by_video.items() if len(rs) == 2][:11]
    path = out / "twins.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "source", "group", "split"])
        for k, v in enumerate(videos):
            split = "train" if k < 6 else "val" if k < 9 else "test"
            for r in by_video[v]:
                label = 1 if r["label"] == "fake" else 0
                w.writerow([str(root / r["path"]), label, f"dfdc-faces/{r['label']}",
                            f"dfdc-faces/source_video/{v}", split])
    return path


def _config(run_dir: Path, cache: Path, manifest: Path, weight: float) -> dict:
    return tiny_config(run_dir, cache, {"manifest": str(manifest)}, seed=3, spectral_hidden=0,
                       sbi_views=0, pair_weight=weight)


@pytest.mark.slow
def test_cached_training_with_twin_pairs_trains_differently_and_resumes_exactly(tmp_path) -> None:
    manifest = _twin_manifest(tmp_path)
    cache = tmp_path / "cache"
    plain = train(config_from_dict(_config(tmp_path / "plain", cache, manifest, 0.0)))
    paired = train(config_from_dict(_config(tmp_path / "paired", cache, manifest, 1.0)))
    assert json.loads((paired.run_dir / "result.json").read_text())["test_per_source"]
    a = load_checkpoint(plain.run_dir / "last.pt")["state_dict"]
    b = load_checkpoint(paired.run_dir / "last.pt")["state_dict"]
    assert any(not torch.equal(a[k], b[k]) for k in a)  # the pairs changed what was trained

    cfg = config_from_dict(_config(tmp_path / "split", cache, manifest, 1.0))
    train(cfg, stop_after=1)
    resumed = load_checkpoint(train(cfg, resume=True).run_dir / "last.pt")["state_dict"]
    for key in b:
        torch.testing.assert_close(resumed[key], b[key], rtol=0, atol=1e-6)


@pytest.mark.slow
def test_pair_weight_without_twins_is_refused(tmp_path) -> None:
    manifest = _twin_manifest(tmp_path)
    # Same faces, each its own group: no twins to pair.
    rows = list(csv.DictReader(manifest.open(newline="")))
    with manifest.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({**r, "group": r["path"]})
    cfg = config_from_dict(_config(tmp_path / "run", tmp_path / "cache", manifest, 1.0))
    with pytest.raises(ValueError, match="no real/fake twin pairs"):
        train(cfg)
