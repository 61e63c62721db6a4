"""Durall's classifiers, the ONNX export of a linear spectral model, and `deepscreen spectra`."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from tests.conftest import shared_path

pytest.importorskip("sklearn")
ort = pytest.importorskip("onnxruntime")

from train.durall import (  # noqa: E402
    SpectraSet,
    divide_by_first,
    evaluate_protocol,
    export_onnx,
    fit_linear,
    load_inputs,
    load_npz,
)


@pytest.fixture(scope="module")
def upsampled_folder(tmp_path_factory) -> Path:
    """real/: astronaut crops; fake/: the same scene at half size, upsampled 2x with nearest
    neighbour (the periodic spectral peak that GAN upsampling leaves, in its plainest form)."""
    root = tmp_path_factory.mktemp("faces") / "toy-source"
    (root / "real").mkdir(parents=True)
    (root / "fake").mkdir()
    img = np.ascontiguousarray(skdata.astronaut()[..., ::-1])
    rng = np.random.default_rng(0)
    for i in range(24):
        y, x = rng.integers(0, 512 - 96, 2)
        crop = img[y : y + 96, x : x + 96]
        cv2.imwrite(str(root / "real" / f"{i:02d}.png"), crop)
        small = cv2.resize(crop, (48, 48), interpolation=cv2.INTER_AREA)
        fake = cv2.resize(small, (96, 96), interpolation=cv2.INTER_NEAREST)
        cv2.imwrite(str(root / "fake" / f"{i:02d}.png"), fake)
    return root


def test_celeba_row_is_reproduced():
    data = load_npz(shared_path("spectra", "durall_celeba_low_1000.npz"))
    result = evaluate_protocol(data, ["lr", "svm_linear"], runs=3)
    scores = {s.classifier: s for s in result.scores}
    assert scores["lr"].mean >= 0.99 and scores["svm_linear"].mean >= 0.99
    assert scores["lr"].paper == 1.0 and len(scores["lr"].runs) == 3


def test_folder_features_separate_upsampled_fakes(upsampled_folder):
    data = load_inputs([upsampled_folder], bins=80)
    assert data.spectra.shape == (48, 80) and data.is_fake.sum() == 24
    assert set(data.sources) == {"toy-source/real", "toy-source/fake"}
    result = evaluate_protocol(data, ["lr", "kmeans"], runs=3)
    assert {s.classifier: s.mean for s in result.scores}["lr"] >= 0.9


@pytest.mark.parametrize("kind", ["lr", "svm_linear"])
def test_onnx_export_reproduces_sklearn(tmp_path, upsampled_folder, kind):
    data = load_inputs([upsampled_folder], bins=80)
    model = fit_linear(data, kind)
    path = export_onnx(model, tmp_path / f"{kind}.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = data.spectra.astype(np.float32)
    decision, p_fake = session.run(["decision", "p_fake"], {"spectrum": x})
    expected = model.pipeline.decision_function(data.spectra)
    np.testing.assert_allclose(decision[:, 0], expected, rtol=1e-4, atol=1e-4)
    if kind == "lr":
        proba = model.pipeline.predict_proba(data.spectra)[:, 1]
        np.testing.assert_allclose(p_fake[:, 0], proba, atol=1e-5)
    np.testing.assert_allclose(p_fake[:, 0], model.p_fake(data.spectra), atol=1e-5)
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["deepscreen.spectrum_bins"] == "80"
    assert meta["deepscreen.model"] == f"spectral-{kind}"


def test_only_linear_models_export():
    from engine.errors import UsageError

    data = SpectraSet(np.random.default_rng(0).normal(size=(20, 8)), np.arange(20) % 2)
    with pytest.raises(UsageError):
        fit_linear(data, "svm_rbf")


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run the console entry point in-process (no interpreter start-up per call)."""
    from deepscreen_cli.app import main

    with pytest.raises(SystemExit) as info:
        main(list(args))
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


def test_cli_fit_export_and_plot(tmp_path, upsampled_folder, capsys):
    onnx_path, png = tmp_path / "m.onnx", tmp_path / "s.png"
    code, stdout, stderr = _cli(capsys, "spectra", "fit", str(upsampled_folder), "--runs", "2",
                                "--classifiers", "lr", "--export", str(onnx_path))
    assert code == 0, stderr
    assert "logistic regression" in stdout and onnx_path.is_file()
    code, _, stderr = _cli(capsys, "spectra", "plot", str(upsampled_folder), "--out", str(png),
                           "--band", "p10-90")
    assert code == 0, stderr
    assert cv2.imread(str(png)) is not None
    npz = tmp_path / "toy.npz"
    code, _, stderr = _cli(capsys, "spectra", "compute", str(upsampled_folder), "--out", str(npz))
    assert code == 0, stderr
    saved = load_npz(npz)
    np.testing.assert_allclose(saved.spectra, load_inputs([upsampled_folder]).spectra)
    paper = divide_by_first(saved)
    np.testing.assert_allclose(paper.spectra[:, 0], 1.0)
    np.testing.assert_allclose(paper.spectra * saved.spectra[:, :1], saved.spectra, rtol=1e-12)
    code, _, stderr = _cli(capsys, "spectra", "fit", str(tmp_path / "missing.npz"))
    assert code == 2 and "not an .npz file" in stderr and "Traceback" not in stderr
