"""Cached-view training of the MobileNet detector on real shared faces: runs, resumes exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import UsageError
from tests.shared_data import shared_path
from tests.train.tiny_run import tiny_config
from train.checkpoint import load_checkpoint
from train.config import config_from_dict
from train.loop import train
from train.view_cache import open_cache

pytestmark = pytest.mark.slow


def tiny(run_dir: Path, cache: Path, root: Path, epochs: int = 2) -> dict:
    """Six images per class of two shared sources, one self-blend per real."""
    data = {"root": str(root), "sources": ["dfdc-faces", "lfw"], "limit_per_class": 6}
    return tiny_config(run_dir, cache, data, epochs=epochs)


@pytest.fixture(scope="module")
def root() -> Path:
    return shared_path("faces")


def test_cached_training_writes_per_source_results_and_resumes_exactly(root, tmp_path) -> None:
    cache = tmp_path / "cache"
    full = train(config_from_dict(tiny(tmp_path / "full", cache, root)))
    result = json.loads((full.run_dir / "result.json").read_text())
    sources = {r["source"] for r in result["test_per_source"]}
    assert {"dfdc-faces/fake", "dfdc-faces/real"} <= sources
    assert 0.0 <= result["threshold"] <= 1.0

    # The train cache: 2 augmented views per image plus one SBI view per real with landmarks.
    views = [p for p in (cache / "views").iterdir() if p.name.startswith("train-")]
    c = open_cache(views[0])
    n_images = len(set(c.sample.tolist()))
    assert (~c.sbi).sum() == 2 * n_images
    assert c.sbi.sum() > 0 and set(c.label[c.sbi].tolist()) == {1}
    assert c.stem.dtype == np.float16 and c.stem.shape[1:] == (32, 8, 8)

    # Interrupted after one epoch and resumed: the same weights as the uninterrupted run.
    cfg = config_from_dict(tiny(tmp_path / "split", cache, root))
    train(cfg, stop_after=1)
    resumed = train(cfg, resume=True)
    a = load_checkpoint(full.run_dir / "last.pt")["state_dict"]
    b = load_checkpoint(resumed.run_dir / "last.pt")["state_dict"]
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)


def test_flip_tta_validates_and_tests_on_crop_and_mirror(root, tmp_path) -> None:
    """A flip-TTA model is validated and tested as its graph runs: two clean entries per image
    (the crop, then its mirror, sharing the crop's spectrum), averaged into one score each."""
    cache = tmp_path / "cache"
    cfg = tiny(tmp_path / "tta", cache, root, epochs=1)
    cfg["model_config"]["flip_tta"] = True
    run = train(config_from_dict(cfg))
    result = json.loads((run.run_dir / "result.json").read_text())
    for name in ("val", "test"):
        folders = [p for p in (cache / "views").iterdir() if p.name.startswith(f"{name}-")]
        assert len(folders) == 1
        c = open_cache(folders[0])
        n = len(set(c.sample.tolist()))
        assert len(c) == 2 * n and (np.bincount(c.sample) == 2).all()
        np.testing.assert_array_equal(c.spectrum[0::2], c.spectrum[1::2])
        assert not np.array_equal(c.stem[0::2], c.stem[1::2])  # the mirror is another input
        if name == "test":
            # One row per test image, not per entry.
            per_source = [r for r in result["test_per_source"] if r["metric"] != "AUC"]
            assert sum(r["n"] for r in per_source) == n
    assert load_checkpoint(run.run_dir / "best.pt")["model_config"]["flip_tta"] is True


def test_weight_average_is_validated_shipped_and_resumed_exactly(root, tmp_path) -> None:
    """With ``optim.ema_decay`` the averaged weights are what validation scores and best.pt
    holds; an interrupted run resumes both the trained weights and the average exactly."""
    cache = tmp_path / "cache"
    raw = tiny(tmp_path / "full", cache, root)
    raw["optim"]["ema_decay"] = 0.9
    full = train(config_from_dict(raw))
    last = load_checkpoint(full.run_dir / "last.pt")
    average = last["train_state"]["weight_average"]
    assert average["updates"] > 0
    trained, averaged = last["state_dict"], average["weights"]
    head = [k for k in trained if k.startswith(("neck.", "classifier."))]
    assert head and any(not torch.equal(trained[k], averaged[k]) for k in head)

    raw["run_dir"] = str(tmp_path / "split")
    cfg = config_from_dict(raw)
    train(cfg, stop_after=1)
    # After one epoch that epoch is the best: best.pt holds the average, not the trained weights.
    first = load_checkpoint(tmp_path / "split" / "last.pt")
    best = load_checkpoint(tmp_path / "split" / "best.pt")["state_dict"]
    for key, value in first["train_state"]["weight_average"]["weights"].items():
        assert torch.equal(best[key], value), key
    assert any(not torch.equal(best[k], first["state_dict"][k]) for k in head)
    resumed = load_checkpoint(train(cfg, resume=True).run_dir / "last.pt")
    for ours, theirs in ((resumed["state_dict"], trained),
                         (resumed["train_state"]["weight_average"]["weights"], averaged)):
        for key in theirs:
            torch.testing.assert_close(ours[key], theirs[key], rtol=0, atol=1e-6)

    # A run that did not average cannot be resumed as one that does.
    plain = tiny(tmp_path / "plain", cache, root, epochs=2)
    train(config_from_dict(plain), stop_after=1)
    plain["optim"]["ema_decay"] = 0.9
    with pytest.raises(UsageError, match="ema_decay"):
        train(config_from_dict(plain), resume=True)


def test_exclusions_drop_whole_sources_or_only_one_sources_pseudo_swaps() -> None:
    """``sbi:SOURCE`` zeroes only the self-blended views made from SOURCE's images."""
    from types import SimpleNamespace

    from train.cached_loop import _draw_weights
    from train.labelled import Sample

    samples = [Sample("a.jpg", 0, "lfw/real"), Sample("b.jpg", 0, "deepfacelive/real"),
               Sample("c.jpg", 1, "deepfacelive/fake"), Sample("d.jpg", 1, "dfdc-faces/fake")]
    # Views: one plain view of each image, one pseudo-swap of each real image.
    index = SimpleNamespace(sample=np.array([0, 1, 2, 3, 0, 1]),
                            sbi=np.array([False, False, False, False, True, True]))

    everything = _draw_weights(samples, index, 0.5)
    assert (everything > 0).all()
    p = _draw_weights(samples, index, 0.5, ("sbi:deepfacelive",))
    assert p[5] == 0 and p[4] > 0 and (p[:4] > 0).all()
    assert p.sum() == pytest.approx(1.0)
    p = _draw_weights(samples, index, 0.5, ("deepfacelive", "sbi:deepfacelive"))
    assert p[1] == p[2] == p[5] == 0 and p[0] > 0 and p[3] > 0 and p[4] > 0
    p = _draw_weights(samples, index, 0.5, ("sbi",))
    assert p[4] == p[5] == 0 and (p[:4] > 0).all()
    with pytest.raises(ValueError, match="both classes"):
        _draw_weights(samples, index, 0.5, ("sbi", "deepfacelive", "dfdc-faces"))
