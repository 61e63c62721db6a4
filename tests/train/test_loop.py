"""A tiny training run on real shared images: deterministic with a seed, and resumable."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import shared_path
from train.checkpoint import build_model_from_checkpoint, load_checkpoint
from train.config import config_from_dict

pytestmark = pytest.mark.slow


def tiny_config(run_dir: Path, cache_dir: Path, root: Path) -> dict:
    return {
        "run_dir": str(run_dir),
        "seed": 3,
        "model": "spatial_spectral_tiny",
        "contract": {"input_size": 32, "spectrum_bins": 16, "margin": 0.25},
        "data": {"root": str(root), "cache_dir": str(cache_dir), "limit_per_class": 8},
        "sbi": {"fraction": 0.5},
        "optim": {"epochs": 2, "batch_size": 8, "num_workers": 0, "threads": 1,
                  "progress": False, "patience": 5},
    }


@pytest.fixture(scope="module")
def root() -> Path:
    return shared_path("faces", "ffhq-vs-stylegan1")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


def _log_rows(run: Path) -> list[dict]:
    with (run / "log.csv").open() as fh:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(fh)]


def _same_weights(a: Path, b: Path) -> bool:
    sa, sb = load_checkpoint(a)["state_dict"], load_checkpoint(b)["state_dict"]
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_same_seed_same_metrics_and_resume(tmp_path, root, cache_dir) -> None:
    from train.loop import train

    runs = {}
    for name in ("a", "b"):
        cfg = config_from_dict(tiny_config(tmp_path / name, cache_dir, root))
        runs[name] = train(cfg)
    assert _log_rows(tmp_path / "a") == _log_rows(tmp_path / "b")
    assert len(_log_rows(tmp_path / "a")) == 2
    assert runs["a"].test == runs["b"].test
    assert _same_weights(tmp_path / "a" / "last.pt", tmp_path / "b" / "last.pt")

    # Interrupted after one epoch, then resumed: ends exactly like the uninterrupted run.
    cfg = config_from_dict(tiny_config(tmp_path / "c", cache_dir, root))
    train(cfg, stop_after=1)
    assert len(_log_rows(tmp_path / "c")) == 1
    train(cfg, resume=True)
    assert _log_rows(tmp_path / "c") == _log_rows(tmp_path / "a")
    assert _same_weights(tmp_path / "c" / "last.pt", tmp_path / "a" / "last.pt")

    # A different seed trains a different model.
    other = config_from_dict({**tiny_config(tmp_path / "d", cache_dir, root), "seed": 4})
    train(other)
    assert not _same_weights(tmp_path / "d" / "last.pt", tmp_path / "a" / "last.pt")


def test_checkpoint_rebuilds_model_and_contract(tmp_path, root, cache_dir) -> None:
    from train.loop import train

    cfg = config_from_dict({**tiny_config(tmp_path / "e", cache_dir, root),
                            "optim": {"epochs": 1, "batch_size": 8, "num_workers": 0,
                                      "threads": 1, "progress": False}})
    result = train(cfg)
    data = torch.load(result.best_checkpoint, weights_only=True)  # no pickled classes
    assert data["model_name"] == "spatial_spectral_tiny"
    model, contract = build_model_from_checkpoint(result.best_checkpoint)
    assert contract.input_size == 32 and contract.spectrum_bins == 16
    assert contract.threshold == pytest.approx(data["threshold"])
    assert "train_state" not in data
    assert "train_state" in load_checkpoint(tmp_path / "e" / "last.pt")
    with torch.no_grad():
        assert model(torch.zeros(2, 3, 32, 32), torch.ones(2, 16)).shape == (2, 1)
    assert (tmp_path / "e" / "result.json").is_file()


def test_train_command_reports_progress_without_verbose(tmp_path, root) -> None:
    # A long run that prints nothing until it ends looks hung: epochs are logged by default.
    import json
    import subprocess
    import sys

    cfg = tiny_config(tmp_path / "run", tmp_path / "cache", root)
    cfg["optim"]["epochs"] = 1
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(cfg))
    proc = subprocess.run(
        [sys.executable, "-c", "from deepscreen_cli.app import main; main()",
         "train", "--config", str(path)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "epoch 0 loss" in proc.stderr
    assert "best epoch 0" in proc.stdout


def test_on_the_fly_loop_ships_the_weight_average(tmp_path, root, cache_dir) -> None:
    from train.loop import train

    raw = tiny_config(tmp_path / "ema", cache_dir, root)
    raw["optim"] = {**raw["optim"], "epochs": 1, "ema_decay": 0.9}
    train(config_from_dict(raw))
    last = load_checkpoint(tmp_path / "ema" / "last.pt")
    best = load_checkpoint(tmp_path / "ema" / "best.pt")["state_dict"]
    average = last["train_state"]["weight_average"]["weights"]
    assert all(torch.equal(best[k], v) for k, v in average.items())
    assert not _same_weights(tmp_path / "ema" / "best.pt", tmp_path / "ema" / "last.pt")


def test_balanced_draws_temper_a_large_source_and_key_views_by_position() -> None:
    from types import SimpleNamespace

    from train.dataset import Item
    from train.labelled import Sample
    from train.loop import balanced_draws

    # 900 fakes of one source, 100 of another, 100 reals: uniform draws would be 82 % "big".
    samples = ([Sample(f"big{i}", 1, "big/fake") for i in range(900)]
               + [Sample(f"small{i}", 1, "small/fake") for i in range(100)]
               + [Sample(f"real{i}", 0, "r/real") for i in range(100)])
    ds = SimpleNamespace(samples=samples, items=[Item(i, False) for i in range(len(samples))])
    draws = balanced_draws(ds, 0.5, 20000, seed=0, epoch=0)
    source = np.array([samples[i].source for i in draws])
    # power 0.5: big/small mass 900**0.5 : 100**0.5 = 3 : 1 within the fake half
    assert abs(np.mean(source == "big/fake") - 0.375) < 0.02
    assert abs(np.mean(source == "small/fake") - 0.125) < 0.02
    assert abs(np.mean(source == "r/real") - 0.5) < 0.02
    assert np.array_equal(draws, balanced_draws(ds, 0.5, 20000, seed=0, epoch=0))
    assert not np.array_equal(draws, balanced_draws(ds, 0.5, 20000, seed=0, epoch=1))


def test_body_learning_rate_scale_groups() -> None:
    from train.loop import _param_groups
    from train.models import create_model

    model = create_model("mobilenet_detector", {"spectral_hidden": 0})
    body, rest = _param_groups(model, 0.3)
    assert body["scale"] == 0.3 and rest["scale"] == 1.0
    assert len(body["params"]) + len(rest["params"]) == len(list(model.parameters()))
    (one,) = _param_groups(model, 1.0)  # the old single group: older runs resume
    assert one["scale"] == 1.0
    from engine.errors import UsageError

    with pytest.raises(UsageError, match="no pretrained 'body'"):
        _param_groups(create_model("spatial_spectral_tiny"), 0.3)


def test_train_items_skip_the_spectrum_only_when_told(tmp_path, root) -> None:
    """A model without the spectral branch gets zeros; the pixels it trains on are the same."""
    from engine.preprocess import InputContract
    from train.data import detect_faces
    from train.dataset import TrainDataset
    from train.labelled import find_labelled

    samples = [s for s in find_labelled(root) if s.label == 0][:2] + \
        [s for s in find_labelled(root) if s.label == 1][:2]
    faces = detect_faces([s.path for s in samples], tmp_path / "faces.npz", 0.25, 40)
    contract = InputContract(input_size=64, spectrum_bins=16, margin=0.25)
    full, pixels_only = (TrainDataset(samples, faces, contract, None, None, 5, spectra=flag)
                         for flag in (True, False))
    for k in range(len(samples)):
        (x1, s1, y1), (x2, s2, y2) = full[k], pixels_only[k]
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
        assert s1.shape == s2.shape == (16,)
        assert torch.count_nonzero(s2) == 0 and torch.count_nonzero(s1) > 0
