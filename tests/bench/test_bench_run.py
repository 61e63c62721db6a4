"""A tiny real `deepscreen bench` run: real detector, real ONNX Runtime, real files written."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deepscreen_cli.app import app

STAGES = {"decode", "track", "crop", "spectral", "preprocess", "classify", "vote"}
# Detection is timed as "detect" (whole frame) or "detect_regions" (around the tracks, between
# full-frame detections): a short timed part may hold only one of the two.
DETECT_STAGES = {"detect", "detect_regions"}


def _bench(args: list[str]):
    return CliRunner().invoke(app, ["bench", *args])


def test_tiny_bench_writes_valid_json_csv_and_plot(
    tmp_path: Path, portrait_clip: Path, classifier_onnx: Path
) -> None:
    out = tmp_path / "out"
    result = _bench([
        "--video", str(portrait_clip), "--model", str(classifier_onnx),
        "--backends", "ort,tensorrt", "--batch-sizes", "1,4", "--warmup", "1",
        "--iterations", "10", "--streams", "1,2", "--no-baseline", "--no-limits",
        "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "bench.json").read_text())

    machine = doc["machine"]
    assert machine["usable_cpus"] >= 1 and machine["cpu_model"]
    assert len(machine["files"]["classifier_fp32"]["sha256"]) == 64
    assert "tensorrt" in doc["unavailable"] or "tensorrt" in doc["backends"]

    runs = doc["pipeline"]
    assert [(r["bench_backend"], r["max_batch"]) for r in runs] == [("ort", 1), ("ort", 4)]
    for r in runs:
        # Two halves (ABBA order) of 5 timed frames each, merged.
        assert r["frames"] == 10 and r["streams"] == 1 and r["parts"] == 2
        assert r["faces"] >= 3  # the portrait is found and classified on most frames
        assert r["fps"] > 0 and r["peak_rss_mib"] > 0
        assert STAGES <= set(r["stages"]) and DETECT_STAGES & set(r["stages"])
        for s in r["stages"].values():
            assert s["p50_ms"] <= s["p90_ms"] <= s["p99_ms"] <= s["max_ms"]
        assert r["stages"]["decode"]["count"] == 10
        # Each half times frames 1..5 (frame 0 is warm-up); the detector runs on every 5th,
        # around the tracks when the last full-frame detection is recent.
        assert sum(r["stages"].get(s, {}).get("count", 0) for s in DETECT_STAGES) == 2
    assert r["mean_batch"] > 1  # batch 4 really batches crops

    assert len(doc["classifier"]) == 2 and len(doc["spectral"]) == 2
    scaling = doc["scaling"]
    assert [row["streams"] for row in scaling["rows"]] == [1, 2]
    assert [run["frames"] for run in scaling["runs"]] == [10, 20]
    assert scaling["max_realtime_streams"] in (0, 1, 2)
    # The threaded engine (deepscreen screen's pipeline) screened the same streams losslessly.
    engine_runs = scaling["engine_runs"]
    # Warm-up + timed frames per stream, in each of the two halves.
    assert [e["frames"] for e in engine_runs] == [12, 24]
    assert all(e["error"] == "" and e["fps"] > 0 for e in engine_runs)

    with (out / "bench.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    sections = {row["section"] for row in rows}
    assert {"classifier", "spectral", "pipeline", "scaling"} <= sections
    totals = [row for row in rows if row["stage"] == "total"]
    assert len(totals) == 4 and all(float(row["fps"]) > 0 for row in totals)
    assert (out / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "bench.md").read_text()
    assert "### One stream, end to end" in md and "| ort | fp32 | 4 |" in md
    assert "### Targets" in md and "no INT8 model measured" in md
    assert "pipeline, 1 stream" in result.output

    # A finished run re-renders identically from its JSON, measuring nothing.
    again = _bench(["--from-json", str(out / "bench.json"), "--out", str(tmp_path / "again")])
    assert again.exit_code == 0, again.output
    assert (tmp_path / "again" / "bench.md").read_text() == md


def test_bad_option_is_one_line_usage_error(tmp_path: Path) -> None:
    from deepscreen_cli.app import main

    with pytest.raises(SystemExit) as exc:
        main(["bench", "--batch-sizes", "one", "--out", str(tmp_path)])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--backends", "ort,nonsense", "--out", str(tmp_path)])
    assert exc.value.code == 2


@pytest.mark.slow
def test_baseline_and_torch_rows_in_child_processes(
    tmp_path: Path, portrait_clip: Path, classifier_onnx: Path
) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("facenet_pytorch")
    out = tmp_path / "out"
    result = _bench([
        "--video", str(portrait_clip), "--model", str(classifier_onnx), "--backends", "ort,torch",
        "--batch-sizes", "2", "--warmup", "1", "--iterations", "3", "--streams", "",
        "--baseline-frames", "2", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "bench.json").read_text())
    base = doc["baseline"]
    assert base["frames"] == 2 and base["faces"] >= 1 and base["fps"] > 0
    assert base["process_loaded_onnxruntime"] is False
    assert {"detect", "classify", "spectral"} <= set(base["stages"])
    names = [r["bench_backend"] for r in doc["pipeline"]]
    assert names == ["ort", "torch"]
    for r in doc["pipeline"]:
        assert r["speedup_vs_baseline"] == pytest.approx(r["fps"] / base["fps"])
    limits = doc["limits"]
    assert limits["classifier_macs_per_crop"] > 0
    assert limits["rates"]["matmul_gflops"] > 0 and limits["rates"]["bandwidth_gbs"] > 0
