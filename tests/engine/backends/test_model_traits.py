"""What the runtime knows about a model comes from its metadata, or a load-time ORT probe."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from engine.backends.model_traits import KEY_FLIP_IN_GRAPH, KEY_USES_SPECTRUM
from engine.backends.ort import OrtBackend
from engine.errors import ModelError
from engine.paths import DEFAULT_CLASSIFIER
from engine.preprocess import InputContract
from export.onnx_export import write_metadata
from tests.engine.backends.tiny_classifier import (
    TINY_CONTRACT,
    write_pooled_model,
    write_tiny_classifier,
)


def _set_meta(path: Path, **props: str) -> None:
    model = onnx.load(str(path))
    keep = {p.key: p.value for p in model.metadata_props}
    keep.update(props)
    del model.metadata_props[:]
    for key, value in keep.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))


def test_shipped_model_without_keys_is_probed() -> None:
    meta = {p.key for p in onnx.load(str(DEFAULT_CLASSIFIER)).metadata_props}
    if KEY_USES_SPECTRUM in meta:
        pytest.skip("the shipped model carries its traits; the probe is covered below")
    traits = OrtBackend(DEFAULT_CLASSIFIER).traits
    # v9 has no spectral branch and averages each crop with its mirror inside the graph.
    assert (traits.uses_spectrum, traits.flip_in_graph, traits.source) == (False, True, "probe")


def test_export_writes_the_keys_and_the_runtime_reads_them(tmp_path: Path) -> None:
    spectral = write_tiny_classifier(tmp_path / "spectral.onnx")
    plain = write_tiny_classifier(tmp_path / "plain.onnx", spectral=False)
    write_metadata(spectral, TINY_CONTRACT)
    write_metadata(plain, TINY_CONTRACT)
    props = {p.key: p.value for p in onnx.load(str(plain)).metadata_props}
    # The tiny graph pools each crop before anything else: it is mirror-symmetric.
    assert json.loads(props[KEY_USES_SPECTRUM]) is False
    assert json.loads(props[KEY_FLIP_IN_GRAPH]) is True
    a, b = OrtBackend(spectral).traits, OrtBackend(plain).traits
    assert (a.uses_spectrum, a.source) == (True, "metadata")
    assert (b.uses_spectrum, b.flip_in_graph, b.source) == (False, True, "metadata")


def test_probe_agrees_with_graph_reachability(tmp_path: Path) -> None:
    """The ORT probe (no onnx package needed) gives what the export-time graph walk gives."""
    for spectral in (True, False):
        path = write_tiny_classifier(tmp_path / f"m{spectral}.onnx", spectral=spectral)
        traits = OrtBackend(path).traits
        assert traits.source == "probe" and traits.uses_spectrum is spectral


def test_metadata_wins_over_the_probe(tmp_path: Path) -> None:
    path = write_tiny_classifier(tmp_path / "m.onnx")
    _set_meta(path, **{KEY_USES_SPECTRUM: "true", KEY_FLIP_IN_GRAPH: "false"})
    traits = OrtBackend(path).traits
    assert (traits.flip_in_graph, traits.source) == (False, "metadata")


def test_a_bad_key_is_one_line_error(tmp_path: Path) -> None:
    path = write_tiny_classifier(tmp_path / "m.onnx")
    _set_meta(path, **{KEY_USES_SPECTRUM: '"maybe"'})
    with pytest.raises(ModelError, match="not true/false") as err:
        OrtBackend(path)
    assert "\n" not in str(err.value)


def test_wrong_input_size_is_rejected_at_load(tmp_path: Path) -> None:
    path = write_tiny_classifier(tmp_path / "m.onnx")
    # The graph takes 64 px crops; metadata that promises 128 px is a broken artefact.
    wrong = InputContract(input_size=128, spectrum_bins=TINY_CONTRACT.spectrum_bins)
    _set_meta(path, **wrong.to_metadata())
    with pytest.raises(ModelError, match="input crops has shape") as err:
        OrtBackend(path)
    assert "\n" not in str(err.value)


def test_wrong_output_shape_is_rejected_at_load(tmp_path: Path) -> None:
    write_pooled_model(tmp_path / "two.onnx", np.ones((3, 2), np.float32), name="two_logits")
    with pytest.raises(ModelError, match="one float32 logit per face") as err:
        OrtBackend(tmp_path / "two.onnx")
    assert "\n" not in str(err.value)
