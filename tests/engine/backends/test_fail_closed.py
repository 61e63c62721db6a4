"""A broken model fails closed: an error and exit 1, never a "real" verdict or invalid JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.backends.ort import OrtBackend
from engine.errors import ModelError
from engine.paths import ASSETS_DIR
from engine.preprocess import InputContract
from tests.engine.backends.tiny_classifier import write_pooled_model


def _constant_model(path: Path, value: float, contract: InputContract) -> Path:
    """A graph with the classifier's interface whose logit is ``value`` * pooled pixels."""
    return write_pooled_model(path, np.full((3, 1), value, np.float32), contract, "constant")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_backend_refuses_non_finite_scores(tmp_path: Path, value: float) -> None:
    contract = InputContract(input_size=64, spectrum_bins=16)
    backend = OrtBackend(_constant_model(tmp_path / "m.onnx", value, contract))
    crops = np.full((2, 3, 64, 64), 0.5, np.float32)
    with pytest.raises(ModelError, match="non-finite"):
        backend.predict(crops, np.ones((2, 16), np.float32))


def test_screen_with_a_nan_model_exits_1_and_writes_no_verdict(tmp_path: Path) -> None:
    contract = InputContract(input_size=224, spectrum_bins=80)
    model = _constant_model(tmp_path / "nan.onnx", float("nan"), contract)
    images = tmp_path / "images"
    images.mkdir()
    (images / "hopper.jpg").write_bytes((ASSETS_DIR / "grace_hopper_512x512.jpg").read_bytes())
    events = tmp_path / "events.jsonl"
    out = subprocess.run(
        [sys.executable, "-m", "deepscreen_cli.app", "screen", str(images), "--model", str(model),
         "--events", str(events)],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert "non-finite" in out.stderr
    # Whatever was written is strict JSON and carries no verdict of "real".
    for line in events.read_text().splitlines() if events.exists() else []:
        record = json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
        assert record.get("verdict") != "real", record
