"""The `deepscreen export` commands end to end on the seeded model (CLI output and exit codes)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deepscreen_cli.app import app
from tests.conftest import shared_path
from tests.export.seeded_model import seeded_classifier


def test_fp16_and_int8_commands(tmp_path: Path) -> None:
    faces = shared_path("faces", "ffhq-vs-stylegan1")
    _, fp32 = seeded_classifier()
    model = tmp_path / "classifier.onnx"
    shutil.copyfile(fp32, model)
    runner = CliRunner()
    fp16 = runner.invoke(app, ["export", "fp16", str(model), "--data", str(faces),
                               "--samples", "32"])
    assert fp16.exit_code == 0, fp16.output
    assert (tmp_path / "classifier.fp16.onnx").is_file() and "max |p16 - p32|" in fp16.output
    args = ["export", "int8", str(model), "--data", str(faces), "--calibration-samples", "32",
            "--validation-samples", "32", "--no-detect", "--max-auc-drop", "0.05",
            "--cache-dir", str(tmp_path / "cache")]
    int8 = runner.invoke(app, args)
    assert int8.exit_code == 0, int8.output
    assert (tmp_path / "classifier.int8.onnx").is_file() and "attempts: 0 layer(s)" in int8.output
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "(from cache)" in again.output


def test_trt_command_without_tensorrt_is_one_line(tmp_path: Path) -> None:
    if importlib.util.find_spec("tensorrt") is not None:
        pytest.skip("TensorRT is installed: the real build is checked on GPU machines")
    _, fp32 = seeded_classifier()
    out = subprocess.run(
        [sys.executable, "-m", "deepscreen_cli.app", "export", "trt", str(fp32),
         "--precision", "fp16"],
        capture_output=True, text=True,
    )
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "building a TensorRT engine needs TensorRT" in lines[0]
    assert "Traceback" not in out.stderr
