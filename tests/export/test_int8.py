"""INT8 Q/DQ quantization that TensorRT accepts, the accuracy gate and its cache."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from calibration.ranges import ArrayReader
from calibration.splits import calibration_sample, validation_sample
from engine.backends import load_backend
from engine.errors import ModelError
from export.quantize import check_tensorrt_qdq, quantize_int8
from tests.conftest import shared_path
from tests.export.seeded_model import CONTRACT, SHIPPED, seeded_classifier
from train.labelled import find_labelled


@pytest.fixture(scope="module")
def faces():
    return find_labelled(shared_path("faces", "ffhq-vs-stylegan1"))


@pytest.fixture(scope="module")
def ranges_dir(faces, tmp_path_factory) -> Path:
    """Calibration ranges of every method, computed once (512 histogram bins instead of 2048:
    entropy's KL search grows with the bin count and this is about behaviour, not quality)."""
    from calibration.ranges import calibrate

    _, fp32 = seeded_classifier()
    calib = calibration_sample(faces, CONTRACT, n=32, detect=False)
    folder = tmp_path_factory.mktemp("ranges")
    for method in ("minmax", "entropy", "percentile"):
        calibrate(fp32, ArrayReader(calib.crops, calib.spectrum), method,
                  folder / f"{method}-ranges.json", bins=512)
    return folder


@pytest.mark.parametrize("method", ["minmax", "entropy", "percentile"])
def test_each_method_writes_symmetric_per_channel_qdq(
    method: str, faces, ranges_dir: Path, tmp_path: Path
) -> None:
    import onnx

    _, fp32 = seeded_classifier()
    out = quantize_int8(fp32, tmp_path / f"{method}.onnx", None, method=method,
                        cache=ranges_dir / f"{method}-ranges.json")
    counts = check_tensorrt_qdq(out)
    assert counts["quantize"] > 0 and counts["per_channel"] > 0
    ops = {n.op_type for n in onnx.load(str(out)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
    backend = load_backend("ort", out)
    assert backend.contract == CONTRACT
    val = validation_sample(faces, CONTRACT, n=16, detect=False)
    p8 = backend.predict(val.crops, val.spectrum)
    p32 = load_backend("ort", fp32).predict(val.crops, val.spectrum)
    assert np.abs(p8 - p32).max() < 0.05


def test_gate_passes_then_rerun_is_cached(faces, tmp_path: Path) -> None:
    from export.int8 import export_int8

    _, fp32 = seeded_classifier()
    data = [shared_path("faces", "ffhq-vs-stylegan1")]
    kwargs = dict(calibration_n=64, validation_n=64, cache_dir=tmp_path / "cache", detect=False)
    first = export_int8(fp32, tmp_path / "a.int8.onnx", data, max_auc_drop=0.05, **kwargs)
    assert not first.cached and first.auc_drop <= 0.05 and first.qdq["quantize"] > 0
    assert first.attempts[-1][1] == first.auc_drop
    t0 = time.perf_counter()
    second = export_int8(fp32, tmp_path / "b.int8.onnx", data, max_auc_drop=0.05, **kwargs)
    assert second.cached and time.perf_counter() - t0 < 5
    assert (tmp_path / "b.int8.onnx").read_bytes() == (tmp_path / "a.int8.onnx").read_bytes()
    assert second.auc_int8 == first.auc_int8


@pytest.mark.slow
def test_gate_failure_reports_sensitivity(tmp_path: Path) -> None:
    from export.int8 import export_int8

    _, fp32 = seeded_classifier()
    data = [shared_path("faces", "ffhq-vs-stylegan1")]
    # A gate no model can pass (AUC must rise by 1): every retry runs and the failure names the
    # layers it measured.
    with pytest.raises(ModelError, match="Most sensitive layers: node_") as info:
        export_int8(fp32, tmp_path / "x.onnx", data, calibration_n=32, validation_n=32,
                    max_auc_drop=-1.0, cache_dir=tmp_path / "cache", detect=False)
    assert "8 in float" in str(info.value)
    assert not (tmp_path / "x.onnx").exists()


@pytest.mark.slow
def test_shipped_classifier_passes_the_int8_gate(tmp_path: Path) -> None:
    if not SHIPPED.is_file():
        pytest.skip("no trained classifier shipped yet (engine/models/classifier.onnx)")
    from export.int8 import MAX_AUC_DROP, export_int8

    data = [shared_path("faces", "ffhq-vs-stylegan1")]
    report = export_int8(SHIPPED, tmp_path / "c.int8.onnx", data, calibration_n=256,
                         validation_n=200, cache_dir=tmp_path / "cache")
    assert report.auc_drop <= MAX_AUC_DROP
    assert report.validation_samples >= 200 and report.qdq["per_channel"] > 0


def test_histogram_methods_clip_where_minmax_does_not(ranges_dir: Path) -> None:
    from onnxruntime.quantization.calibrate import load_tensors_data

    ranges = {}
    for method in ("minmax", "entropy", "percentile"):
        data = load_tensors_data(ranges_dir / f"{method}-ranges.json").data
        ranges[method] = {k: float(np.max(np.abs(v.range_value))) for k, v in data.items()}
    mm = ranges["minmax"]
    for method in ("entropy", "percentile"):
        r = ranges[method]
        assert set(r) == set(mm)
        assert all(r[k] <= mm[k] * (1 + 1e-6) for k in mm)  # never wider than the data
        assert sum(r[k] < 0.99 * mm[k] for k in mm) > 0, f"{method} clipped nothing"


def test_minmax_ranges_do_not_depend_on_the_batching(faces, tmp_path: Path) -> None:
    """Calibration runs in small batches to bound memory; the ranges must be the same."""
    import json

    from calibration.ranges import calibrate

    _, fp32 = seeded_classifier()
    calib = calibration_sample(faces, CONTRACT, n=24, detect=False)
    got = {}
    for batch in (24, 5):
        path = calibrate(fp32, ArrayReader(calib.crops, calib.spectrum, batch=batch), "minmax",
                         tmp_path / f"b{batch}.json")
        got[batch] = json.loads(Path(path).read_text())
    assert got[24] == got[5] and len(got[24]) > 0
