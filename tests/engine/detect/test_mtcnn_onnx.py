"""The committed MTCNN ONNX files compute what facenet-pytorch's torch nets compute."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from engine.detect.nets import DEFAULT_MODEL_DIR

SHAPES = {
    "pnet": [(1, 3, 12, 12), (1, 3, 217, 301), (3, 3, 40, 64)],
    "rnet": [(1, 3, 24, 24), (17, 3, 24, 24)],
    "onet": [(1, 3, 48, 48), (9, 3, 48, 48)],
}


@pytest.fixture(scope="module")
def torch_nets():
    pytest.importorskip("facenet_pytorch")
    from export.mtcnn import load_torch_nets

    return load_torch_nets()


@pytest.mark.parametrize("name", ["pnet", "rnet", "onet"])
def test_committed_onnx_matches_torch(name, torch_nets) -> None:
    import torch

    path = DEFAULT_MODEL_DIR / f"{name}.onnx"
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    for shape in SHAPES[name]:
        x = rng.uniform(-1, 1, size=shape).astype(np.float32)
        with torch.no_grad():
            expected = [t.numpy() for t in torch_nets[name](torch.from_numpy(x))]
        got = session.run(None, {"image": x})
        assert len(got) == len(expected)
        for e, g in zip(expected, got, strict=True):
            assert g.shape == e.shape
            np.testing.assert_allclose(g, e, atol=1e-4, rtol=0)


@pytest.mark.slow
def test_export_command_writes_checked_files(tmp_path) -> None:
    pytest.importorskip("facenet_pytorch")
    from deepscreen_cli.app import main

    with pytest.raises(SystemExit) as done:
        main(["export", "mtcnn", "--out", str(tmp_path)])
    assert done.value.code in (0, None)
    rng = np.random.default_rng(2)
    for name in ("pnet", "rnet", "onet"):
        path = tmp_path / f"{name}.onnx"
        onnx.checker.check_model(onnx.load(str(path)))
        # A fresh export computes what the committed file computes.
        x = rng.uniform(-1, 1, size=SHAPES[name][-1]).astype(np.float32)
        fresh = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        committed = ort.InferenceSession(
            str(DEFAULT_MODEL_DIR / f"{name}.onnx"), providers=["CPUExecutionProvider"]
        )
        for a, b in zip(
            fresh.run(None, {"image": x}), committed.run(None, {"image": x}), strict=True
        ):
            np.testing.assert_allclose(a, b, atol=1e-6, rtol=0)
