"""`deepscreen verify` on real faces: passes for faithful models, exits 1 when a gate fails."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from engine.cli.app import app
from tests.conftest import shared_path
from tests.export.seeded_model import seeded_classifier


def _run(*args: str):
    return CliRunner().invoke(app, ["verify", *args])


def test_verify_passes_fp32_and_fp16_and_fails_a_broken_model(tmp_path: Path) -> None:
    import onnx
    from onnx import numpy_helper

    from export.fp16 import convert_to_fp16

    faces = shared_path("faces", "ffhq-vs-stylegan1")
    _, fp32 = seeded_classifier()
    model = tmp_path / "classifier.onnx"
    shutil.copyfile(fp32, model)
    convert_to_fp16(model, tmp_path / "classifier.fp16.onnx")
    common = ["--data", str(faces), "--model", str(model), "--samples", "24", "--cpu-only",
              "--no-detect"]
    ok = _run(*common)
    assert ok.exit_code == 0, ok.output
    assert "ort-cpu" in ok.output and "fp16" in ok.output and "FAIL" not in ok.output

    # A "quantized" sibling whose output layer was damaged (logit bias +3) must fail its gate.
    broken = onnx.load(str(model))
    head = next(n for n in broken.graph.node if "logit" in n.output)
    assert head.op_type == "Gemm"
    bias = next(t for t in broken.graph.initializer if t.name == head.input[2])
    b = numpy_helper.to_array(bias)
    bias.CopyFrom(numpy_helper.from_array((b + 3.0).astype(b.dtype), bias.name))
    onnx.save(broken, str(tmp_path / "classifier.int8.onnx"))
    bad = _run(*common)
    assert bad.exit_code == 1, bad.output
    assert "FAIL" in bad.output


def test_verify_without_data_is_a_usage_error(tmp_path: Path) -> None:
    from engine.backends.verify import run_verify
    from engine.errors import UsageError

    _, fp32 = seeded_classifier()
    try:
        run_verify([], fp32)
    except UsageError as exc:
        assert "--data" in str(exc)
    else:
        raise AssertionError("verify without data must refuse")
