"""The single-pass twin of the shipped flip graph, and the runtime's mirror pass near the threshold.

On real face crops (a shared FF++ clip): the twin's crop and mirror logits average to exactly the
shipped graph's; the runtime reads ``flip_in_graph = false`` and ``mirror_band``; with band 1
every crop is mirrored and the scores are the shipped model's, with band 0 none is, and in
between exactly the crops near the threshold get the mirror pass.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.micro import collect_crops
from engine.backends import load_backend
from engine.classifier import Classifier
from engine.detect import MTCNNDetector
from engine.errors import ModelError
from engine.features.spectral import SpectralFeature
from tests.shared_data import shared_path
from tests.shipped import shipped_model

pytest.importorskip("onnx")

from export.single_pass import strip_flip  # noqa: E402


@pytest.fixture(scope="module")
def crops():
    clip = shared_path("videos", "ffpp-c23", "fake-deepfakes", "519_515.mp4")
    real = shared_path("videos", "ffpp-c23", "real", "634.mp4")
    detector = MTCNNDetector(min_face=40)
    return collect_crops(clip, detector, 8, 0.25, 10) + collect_crops(real, detector, 8, 0.25, 10)


def _classifier(path) -> Classifier:
    backend = load_backend("ort", path)
    return Classifier(backend, SpectralFeature(backend.contract.spectrum_bins, backend="cpu"))


def test_twin_with_mirror_everywhere_scores_as_the_flip_graph(tmp_path, crops) -> None:
    model = shipped_model()
    shipped = _classifier(model)
    assert shipped.backend.traits.flip_in_graph and shipped.mirror_band == 0.0
    twin = _classifier(strip_flip(model, tmp_path / "single.onnx", 1.0))
    assert not twin.backend.traits.flip_in_graph
    assert twin.mirror_band == 1.0  # read from the metadata the twin carries
    p_shipped = shipped.classify(crops)
    np.testing.assert_allclose(twin.classify(crops), p_shipped, atol=2e-5)
    assert twin.mirrored == len(crops)


def test_band_limits_the_mirror_pass_to_crops_near_the_threshold(tmp_path, crops) -> None:
    model = shipped_model()
    p_shipped = _classifier(model).classify(crops)
    alone = _classifier(strip_flip(model, tmp_path / "none.onnx", 0.0))
    p_alone = alone.classify(crops)
    assert alone.mirrored == 0
    assert np.abs(p_alone - p_shipped).max() > 1e-4  # the mirror pass does change scores
    band = 0.2
    twin = _classifier(strip_flip(model, tmp_path / "band.onnx", band))
    p_band = twin.classify(crops)
    near = np.abs(p_alone - twin.contract.threshold) < band
    assert twin.mirrored == int(near.sum())
    np.testing.assert_allclose(p_band[near], p_shipped[near], atol=2e-5)
    np.testing.assert_array_equal(p_band[~near], p_alone[~near])


def test_a_graph_without_the_flip_is_refused(tmp_path) -> None:
    twin = strip_flip(shipped_model(), tmp_path / "single.onnx", 0.1)
    with pytest.raises(ModelError, match="no in-graph flip"):
        strip_flip(twin, tmp_path / "again.onnx", 0.1)
    with pytest.raises(ModelError, match="mirror band"):
        strip_flip(shipped_model(), tmp_path / "bad.onnx", 1.5)


def test_twin_of_an_ensemble_cuts_every_members_mirror(tmp_path, crops) -> None:
    # `deepscreen export ensemble` of two flip graphs has two mirrors: the twin cuts both, and
    # its crop and mirror logits average to the ensemble's exactly (mean of means).
    import onnx
    from onnx import numpy_helper

    from export.ensemble import export_ensemble

    other = onnx.load(str(shipped_model()))  # a second, different flip network: head halved
    w = next(i for i in other.graph.initializer if i.name == "classifier.1.weight")
    w.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(w) * 0.5, w.name))
    onnx.save(other, str(tmp_path / "other.onnx"))
    ens = export_ensemble([shipped_model(), tmp_path / "other.onnx"], tmp_path / "ens.onnx",
                          threshold=0.5, parity_n=4).path
    whole = _classifier(ens)
    assert whole.backend.traits.flip_in_graph
    twin = _classifier(strip_flip(ens, tmp_path / "ens.single.onnx", 1.0))
    assert not twin.backend.traits.flip_in_graph
    cut = onnx.load(str(tmp_path / "ens.single.onnx"))
    assert not any(n.op_type == "Concat" and "crops" in n.input for n in cut.graph.node)
    np.testing.assert_allclose(twin.classify(crops), whole.classify(crops), atol=2e-5)
    assert twin.mirrored == len(crops)


# ------------------------------------------------------------------ the shipped twin (issue 32)
SHIPPED_TWIN = "classifier.single.onnx"


def test_the_shipped_twin_is_what_export_makes_of_the_shipped_classifier(tmp_path) -> None:
    import hashlib

    from typer.testing import CliRunner

    from deepscreen_cli.app import app
    from engine.backends.factory import single_pass_path
    from export.single_pass import DEFAULT_MIRROR_BAND

    model = shipped_model()
    twin = single_pass_path(model)
    assert twin.name == SHIPPED_TWIN and twin.is_file()
    again = tmp_path / SHIPPED_TWIN
    r = CliRunner().invoke(app, ["export", "single-pass", str(model), "--out", str(again)])
    assert r.exit_code == 0, r.output
    assert f"mirror band {DEFAULT_MIRROR_BAND:g}" in r.output
    # Byte for byte: the shipped twin is reproducible from the shipped flip graph.
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(twin.read_bytes()).digest()


def test_the_default_cpu_classifier_is_the_twin_and_a_named_model_runs_as_given() -> None:
    model = shipped_model()
    default = load_backend("ort")
    assert default.model_path.name == SHIPPED_TWIN
    assert not default.traits.flip_in_graph and default.traits.mirror_band == 0.5
    named = load_backend("ort", model)
    assert named.model_path == model and named.traits.flip_in_graph
    assert load_backend("auto").model_path.name == SHIPPED_TWIN  # no GPU here: ort-cpu


def _shipped_pair(tmp_path, monkeypatch):
    """Copies of the shipped classifier and its twin, made the factory's default."""
    import shutil

    import engine.backends.factory as factory

    flip = tmp_path / "classifier.onnx"
    shutil.copyfile(shipped_model(), flip)
    shutil.copyfile(factory.single_pass_path(shipped_model()), tmp_path / SHIPPED_TWIN)
    monkeypatch.setattr(factory, "DEFAULT_MODEL", flip)
    return flip


def test_a_stale_twin_is_not_run(tmp_path, monkeypatch, caplog) -> None:
    import onnx

    flip = _shipped_pair(tmp_path, monkeypatch)
    assert load_backend("ort").model_path.name == SHIPPED_TWIN
    # The classifier is re-exported (here: only its metadata changes) and the twin is not.
    m = onnx.load(str(flip))
    m.metadata_props.add(key="deepscreen.note", value="re-exported")
    onnx.save(m, str(flip))
    with caplog.at_level("WARNING"):
        backend = load_backend("ort")
    assert backend.model_path == flip and backend.traits.flip_in_graph
    assert "was not cut from classifier.onnx" in caplog.text
    assert "deepscreen export single-pass" in caplog.text


def test_an_unreadable_twin_falls_back_to_the_flip_graph(tmp_path, monkeypatch, caplog) -> None:
    flip = _shipped_pair(tmp_path, monkeypatch)
    (tmp_path / SHIPPED_TWIN).write_bytes(b"not an onnx file")
    with caplog.at_level("WARNING"):
        backend = load_backend("ort")
    assert backend.model_path == flip and backend.traits.flip_in_graph
    assert f"ignoring {SHIPPED_TWIN}" in caplog.text


def test_evaluation_scores_the_twin_as_the_engine_does(tmp_path, crops) -> None:
    # `deepscreen evaluate` (train.predict.score_crops) must add the mirror pass near the
    # threshold as the engine's Classifier does, or the twin's figures would not be screen's.
    from train.predict import open_scorer, score_crops

    model = shipped_model()
    twin_path = strip_flip(model, tmp_path / "band.onnx", 0.2)
    engine_p = _classifier(twin_path).classify(crops)
    np.testing.assert_allclose(score_crops(open_scorer(twin_path), crops), engine_p, atol=1e-5)
    every = strip_flip(model, tmp_path / "all.onnx", 1.0)
    np.testing.assert_allclose(score_crops(open_scorer(every), crops),
                               score_crops(open_scorer(model), crops), atol=2e-5)


def test_rewriting_the_classifier_re_cuts_its_twin(tmp_path) -> None:
    # `deepscreen export onnx|ensemble` over a classifier with a twin beside it keeps the pair
    # in step (the twin's own band), instead of leaving a stale twin the runtime would skip.
    import hashlib
    import shutil

    import onnx

    from deepscreen_cli.export_model_cmd import refresh_twin

    flip = tmp_path / "classifier.onnx"
    shutil.copyfile(shipped_model(), flip)
    strip_flip(flip, tmp_path / SHIPPED_TWIN, 0.2)
    m = onnx.load(str(flip))
    m.metadata_props.add(key="deepscreen.note", value="re-exported")
    onnx.save(m, str(flip))
    assert "re-cut the single-pass twin" in refresh_twin(flip)
    twin = load_backend("ort", tmp_path / SHIPPED_TWIN).traits
    assert twin.twin_of == hashlib.sha256(flip.read_bytes()).hexdigest()
    assert twin.mirror_band == 0.2
    assert refresh_twin(tmp_path / "other.onnx") == ""  # no twin beside it: nothing to do


def test_exporting_a_graph_without_the_mirror_removes_the_old_twin(tmp_path) -> None:
    import shutil

    from typer.testing import CliRunner

    from deepscreen_cli.app import app
    from tests.export.seeded_model import seeded_classifier

    ckpt, _ = seeded_classifier()  # the tiny seeded network: no flip in its graph
    shutil.copyfile(strip_flip(shipped_model(), tmp_path / "t.onnx", 0.5),
                    tmp_path / SHIPPED_TWIN)
    r = CliRunner().invoke(app, ["export", "onnx", str(ckpt), "--out",
                                 str(tmp_path / "classifier.onnx"), "--parity-crops", "4"])
    assert r.exit_code == 0, r.output
    assert f"removed {SHIPPED_TWIN}" in r.output and not (tmp_path / SHIPPED_TWIN).exists()
