"""`deepscreen export ensemble`: several classifier ONNX files -> one mean-logit ONNX.

Real graphs only: the tiny closed-form classifier (two variants that score differently) and
the shipped MobileNet classifier; scores come from ONNX Runtime on real face crops.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from calibration.faces import parity_crops, prepare_images
from deepscreen_cli.app import app
from engine.backends.ort import OrtBackend
from engine.errors import ModelError, UsageError
from export.ensemble import MODEL_NAME, export_ensemble, merge_graphs
from export.onnx_export import onnx_logits
from tests.conftest import mini_registry
from tests.engine.backends.tiny_classifier import TINY_CONTRACT, tiny_logits, write_tiny_classifier

SHIPPED = Path(__file__).resolve().parents[2] / "engine" / "models" / "classifier.onnx"


@pytest.fixture
def members(tmp_path: Path) -> list[Path]:
    """Two tiny classifiers that score differently (one reads the spectrum, one ignores it)."""
    return [write_tiny_classifier(tmp_path / "a.onnx"),
            write_tiny_classifier(tmp_path / "b.onnx", spectral=False)]


def test_merged_logit_is_the_mean_of_the_members(members: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "ens.onnx"
    r = export_ensemble(members, out, threshold=0.42)
    crops, spectrum = prepare_images(parity_crops(8), TINY_CONTRACT)
    a, b = (onnx_logits(m, crops, spectrum) for m in members)
    assert not np.allclose(a, b)  # the members really differ
    np.testing.assert_allclose(onnx_logits(out, crops, spectrum), (a + b) / 2, atol=1e-5)
    np.testing.assert_allclose(a, tiny_logits(crops, spectrum), atol=1e-4)
    assert r.max_abs_diff <= 1e-4 and r.threshold_from == "given" and r.val_auc is None
    # The engine reads it like any classifier: same contract, the given threshold, and it
    # still needs the spectrum because one member reads it.
    backend = OrtBackend(out)
    assert backend.contract == replace(TINY_CONTRACT, threshold=0.42)
    assert backend.uses_spectrum
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(meta["deepscreen.model_name"]) == MODEL_NAME
    info = json.loads(meta["deepscreen.model_config"])["members"]
    assert [m["file"] for m in info] == ["a.onnx", "b.onnx"]
    assert [m["threshold"] for m in info] == [pytest.approx(0.4)] * 2
    assert r.sha256 != r.members[0].sha256 == info[0]["sha256"]


def test_ensemble_of_models_that_ignore_the_spectrum_skips_it(tmp_path: Path) -> None:
    parts = [write_tiny_classifier(tmp_path / f"{k}.onnx", spectral=False) for k in "ab"]
    out = export_ensemble(parts, tmp_path / "ens.onnx", threshold=0.5).path
    assert not OrtBackend(out).uses_spectrum


def test_shipped_model_merged_with_itself_scores_like_itself(tmp_path: Path) -> None:
    """The renaming holds on the real 224 px MobileNet graph (89 nodes, flip TTA inside)."""
    out = tmp_path / "twice.onnx"
    r = export_ensemble([SHIPPED, SHIPPED], out, threshold=0.3864)
    contract = OrtBackend(SHIPPED).contract
    crops, spectrum = prepare_images(parity_crops(8), contract)
    np.testing.assert_allclose(onnx_logits(out, crops, spectrum),
                               onnx_logits(SHIPPED, crops, spectrum), atol=1e-5)
    assert len(onnx.load(str(out)).graph.node) == 2 * len(onnx.load(str(SHIPPED)).graph.node) + 2
    assert "Conv" in r.ops and not OrtBackend(out).uses_spectrum


def test_threshold_is_the_validation_eer_of_the_merged_model(
    members: list[Path], tmp_path: Path
) -> None:
    """A small registry of real and StyleGAN faces: the threshold is chosen on its val split."""
    from train.metrics import eer_threshold
    from train.predict import open_scorer, score_crops
    from train.source_eval import Detector, score_samples
    from train.sources import split_samples

    faces = mini_registry(tmp_path)
    r = export_ensemble(members, tmp_path / "ens.onnx", faces=faces, cache_dir=tmp_path)
    val = split_samples(faces, "val")
    assert {s.label for s in val} == {0, 1} and r.val_samples == len(val)
    scorer = open_scorer(r.path)
    det = Detector("e", lambda c: score_crops(scorer, c), 0.5)
    p = score_samples(val, [det], TINY_CONTRACT.margin, tmp_path)["e"]
    _, want = eer_threshold(np.array([s.label for s in val]), p)
    assert r.contract.threshold == pytest.approx(want)
    assert OrtBackend(r.path).contract.threshold == pytest.approx(want)
    assert r.threshold_from == f"validation EER on {len(val)} faces"
    assert 0.0 <= r.val_auc <= 1.0


def test_bad_members_are_refused_and_nothing_is_written(
    members: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "ens.onnx"
    with pytest.raises(ModelError, match="at least two"):
        export_ensemble(members[:1], out, threshold=0.5)
    other = write_tiny_classifier(tmp_path / "c.onnx", replace(TINY_CONTRACT, margin=0.4))
    with pytest.raises(ModelError, match="disagree on margin"):
        export_ensemble([members[0], other], out, threshold=0.5)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx file")
    with pytest.raises(ModelError, match="cannot read ensemble member"):
        export_ensemble([members[0], broken], out, threshold=0.5)
    from export.fp16 import convert_to_fp16

    half = convert_to_fp16(members[0], tmp_path / "a.fp16.onnx")
    with pytest.raises(ModelError, match="is fp16: merge the FP32 models"):
        export_ensemble([members[1], half], out, threshold=0.5)
    models = [onnx.load(str(m)) for m in members]
    models[1].opset_import[0].version = 18
    with pytest.raises(ModelError, match="different opsets"):
        merge_graphs(models)
    assert not out.exists() and not list(tmp_path.glob("*.partial*"))


def test_cli_writes_the_ensemble(members: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "ens.onnx"
    res = CliRunner().invoke(app, ["export", "ensemble", *map(str, members), "--out", str(out),
                                   "--threshold", "0.45"])
    assert res.exit_code == 0, res.output
    assert "2 members" in res.output and "threshold 0.4500 (given)" in res.output
    assert OrtBackend(out).contract.threshold == pytest.approx(0.45)
    res = CliRunner().invoke(app, ["export", "ensemble", str(members[0]),
                                   str(tmp_path / "missing.onnx"), "--out", str(out)])
    # `deepscreen` (main) prints UsageError as one line and exits 2; the bare app raises it.
    assert isinstance(res.exception, UsageError) and "not found" in str(res.exception)
