"""The probes' shared command line and table (research/probe_common.py), on real ONNX models."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from tests.conftest import shared_path
from tests.engine.backends.tiny_classifier import TINY_CONTRACT, write_tiny_classifier
from train.predict import DEFAULT_MODEL, score_crops

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "research"))

from probe_common import markdown_table, model_names, probe_inputs  # noqa: E402


def test_markdown_table_sorts_rows_and_marks_missing_cells() -> None:
    table = {"b TNR": {"m1": "0.900"}, "a TPR": {"m1": "0.800", "m2": "0.700"}}
    assert markdown_table(table, ["m1", "m2"]).splitlines() == [
        "| source | m1 | m2 |",
        "| --- | ---: | ---: |",
        "| a TPR | 0.800 | 0.700 |",
        "| b TNR | 0.900 | - |",
    ]


def test_model_names_are_unique_where_file_names_repeat() -> None:
    # Scores are collected per column name: two models named alike would mix their scores.
    paths = [Path("runs/ship_v4/classifier.onnx"), Path("engine/models/classifier.onnx"),
             Path("runs/v5.onnx")]
    assert model_names(paths) == {paths[0]: "ship_v4/classifier.onnx",
                                  paths[1]: "models/classifier.onnx", paths[2]: "v5.onnx"}


def test_models_with_different_margins_are_refused(tmp_path: Path) -> None:
    a = write_tiny_classifier(tmp_path / "a.onnx")
    b = write_tiny_classifier(tmp_path / "b.onnx", replace(TINY_CONTRACT, margin=0.4))
    with pytest.raises(SystemExit, match="disagree on the crop margin"):
        probe_inputs("probe", [str(a), str(b), "--faces", str(tmp_path)])


def test_shipped_model_and_the_evaluate_test_split() -> None:
    faces = shared_path("faces")
    inputs = probe_inputs("probe", [str(DEFAULT_MODEL), "--faces", str(faces)])
    assert list(inputs.scorers) == [DEFAULT_MODEL] and inputs.margin == 0.25
    assert inputs.samples and {s.split for s in inputs.samples} == {"test"}
    assert {"dfdc-faces/fake", "utkface/real"} <= {s.source for s in inputs.samples}
    (det,) = inputs.detectors()
    scorer = inputs.scorers[DEFAULT_MODEL]
    assert det.name == DEFAULT_MODEL.name and det.threshold == scorer.contract.threshold
    crops = [cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)[0:300, 100:400]]
    assert np.allclose(det.score(crops), score_crops(scorer, crops))
