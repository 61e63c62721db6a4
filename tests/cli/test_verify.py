"""`deepscreen verify` on real faces: passes for faithful models, exits 1 when a gate fails."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from deepscreen_cli.app import app
from tests.conftest import shared_path
from tests.export.seeded_model import SHIPPED, seeded_classifier


def _run(*args: str):
    return CliRunner().invoke(app, ["verify", *args])


def test_verify_passes_fp32_and_fp16_and_fails_a_broken_model(tmp_path: Path) -> None:
    import onnx
    from onnx import numpy_helper

    from export.fp16 import convert_to_fp16

    faces = shared_path("faces", "ffhq-vs-stylegan1")
    # The trained shipped model: an untrained one scores every face nearly alike, so FP16's
    # rounding reorders near-ties. And 96 faces, not 24: with 12 x 12 faces one reordered pair
    # moves the AUC by 0.007, past the 0.002 gate; with 48 x 48 by 0.0004.
    model = tmp_path / "classifier.onnx"
    shutil.copyfile(SHIPPED, model)
    convert_to_fp16(model, tmp_path / "classifier.fp16.onnx")
    common = ["--data", str(faces), "--model", str(model), "--samples", "96", "--cpu-only",
              "--no-detect"]
    ok = _run(*common)
    assert ok.exit_code == 0, ok.output
    assert "ort-cpu" in ok.output and "fp16" in ok.output and "FAIL" not in ok.output

    # A "half-precision" sibling whose output layer was damaged (logit bias +3) must fail its gate.
    broken = onnx.load(str(model))
    # The classifier's last linear layer (with flip TTA the logit itself is the mean of two
    # halves of its output, so a bias shift moves the logit by the same amount).
    head = [n for n in broken.graph.node if n.op_type == "Gemm"][-1]
    bias = next(t for t in broken.graph.initializer if t.name == head.input[2])
    b = numpy_helper.to_array(bias)
    bias.CopyFrom(numpy_helper.from_array((b + 3.0).astype(b.dtype), bias.name))
    onnx.save(broken, str(tmp_path / "classifier.fp16.onnx"))
    bad = _run(*common)
    assert bad.exit_code == 1, bad.output
    assert "FAIL" in bad.output


def test_verify_without_data_is_a_usage_error(tmp_path: Path) -> None:
    from deepscreen_cli.verify_cmd import run_verify
    from engine.errors import UsageError

    _, fp32 = seeded_classifier()
    try:
        run_verify([], fp32)
    except UsageError as exc:
        assert "--data" in str(exc)
    else:
        raise AssertionError("verify without data must refuse")


def test_verify_fails_an_int8_model_that_ranks_faces_wrongly(tmp_path: Path) -> None:
    import onnx
    from onnx import numpy_helper

    from tests.export.seeded_model import SHIPPED

    if not SHIPPED.is_file():
        import pytest

        pytest.skip("needs the shipped (trained) classifier: an untrained one ranks at chance")
    faces = shared_path("faces", "ffhq-vs-stylegan1")
    model = tmp_path / "classifier.onnx"
    shutil.copyfile(SHIPPED, model)
    # Negated output layer: every probability moves, and the ranking of the faces inverts.
    broken = onnx.load(str(model))
    head = next(n for n in broken.graph.node if "logit" in n.output)
    for name in head.input[1:]:
        t = next(t for t in broken.graph.initializer if t.name == name)
        t.CopyFrom(numpy_helper.from_array(-numpy_helper.to_array(t), t.name))
    onnx.save(broken, str(tmp_path / "classifier.int8.onnx"))
    out = _run("--data", str(faces), "--model", str(model), "--samples", "48", "--cpu-only",
               "--no-detect")
    assert out.exit_code == 1, out.output
    assert "FAIL" in out.output and "AUC drop <= 0.005" in out.output
