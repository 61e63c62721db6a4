"""``logit_ensemble``: the eager twin of a merged ONNX, rebuilt from the ONNX metadata alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxscript")

from bench.torch_model import build_torch_model, onnx_architecture  # noqa: E402
from calibration.faces import parity_crops, prepare_images  # noqa: E402
from export.ensemble import export_ensemble  # noqa: E402
from export.onnx_export import export_classifier, onnx_logits  # noqa: E402
from tests.export.seeded_model import CONTRACT, MODEL_NAME, write_checkpoint  # noqa: E402
from train.checkpoint import load_checkpoint  # noqa: E402
from train.models import create_model, list_models  # noqa: E402


def test_eager_ensemble_matches_the_merged_onnx(tmp_path: Path) -> None:
    ckpts = [write_checkpoint(tmp_path / f"m{seed}.pt", seed=seed) for seed in (0, 1)]
    onnxs = [export_classifier(c, tmp_path / f"m{i}.onnx").path for i, c in enumerate(ckpts)]
    merged = export_ensemble(onnxs, tmp_path / "ens.onnx", threshold=0.5).path

    name, config, contract = onnx_architecture(merged)
    assert name == "logit_ensemble" and name in list_models()
    assert [m["model_name"] for m in config["members"]] == [MODEL_NAME, MODEL_NAME]
    model, got_contract, spec = build_torch_model(None, merged)
    assert got_contract.input_size == CONTRACT.input_size and len(model.members) == 2
    assert spec.model_name == "logit_ensemble"
    # With the members' trained weights loaded, the eager ensemble computes the merged graph.
    for member, ckpt in zip(model.members, ckpts, strict=True):
        member.load_state_dict(load_checkpoint(ckpt)["state_dict"])
    crops, spectrum = prepare_images(parity_crops(6), contract)
    with torch.no_grad():
        eager = model(torch.from_numpy(crops), torch.from_numpy(spectrum)).reshape(-1).numpy()
    np.testing.assert_allclose(eager, onnx_logits(merged, crops, spectrum), atol=1e-4)


def test_ensemble_needs_two_members() -> None:
    one = [{"model_name": MODEL_NAME, "model_config": {}}]
    with pytest.raises(ValueError, match="at least two"):
        create_model("logit_ensemble", {"members": one})
