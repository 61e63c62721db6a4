"""Read the weights of a Keras 2 HDF5 file with ``h5py`` alone (no TensorFlow).

Two layouts exist: ``model.save()`` puts the layers under a ``model_weights`` group next to a
``model_config`` attribute; ``model.save_weights()`` (what the MesoNet files are) puts them at the
root with no config at all. In both, each layer group carries a ``weight_names`` attribute with
the dataset paths of its weights (``<layer>/kernel:0``, ``<layer>/bias:0``, BatchNorm's
``gamma:0``/``beta:0``/``moving_mean:0``/``moving_variance:0``) in the order Keras built them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Keras 2's BatchNormalization default; used when the file carries no model_config to say otherwise.
KERAS_BN_EPSILON = 1e-3


class KerasH5Error(ValueError):
    """The file is not a Keras weights file of the expected shape."""


@dataclass
class KerasWeights:
    """Every layer's weights from one Keras HDF5 file.

    Attributes:
        path: the file read.
        layer_names: layer names in the file's (topological) order, weightless layers included.
        weights: layer name -> {short weight name ("kernel", "gamma", ...) -> array}.
        bn_epsilon: BatchNorm epsilon per layer name, from model_config where present.
        keras_version: the ``keras_version`` attribute, or "" when absent.
    """

    path: Path
    layer_names: list[str]
    weights: dict[str, dict[str, np.ndarray]]
    bn_epsilon: dict[str, float] = field(default_factory=dict)
    keras_version: str = ""

    def layers_of_kind(self, prefix: str) -> list[str]:
        """Layers named ``<prefix>_<n>`` sorted by ``n``.

        Keras numbers auto-named layers in construction order, which is the order they appear in
        the model's source code; ``layer_names`` is topological and interleaves parallel branches.
        """
        pattern = re.compile(rf"^{re.escape(prefix)}_(\d+)$")
        found = [(int(m.group(1)), n) for n in self.layer_names if (m := pattern.match(n))]
        return [name for _, name in sorted(found)]

    def get(self, layer: str, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """One weight array, checked against the shape the architecture expects."""
        try:
            array = self.weights[layer][name]
        except KeyError:
            raise KerasH5Error(f"{self.path}: layer {layer!r} has no weight {name!r}") from None
        if array.shape != shape:
            raise KerasH5Error(
                f"{self.path}: {layer}/{name} has shape {array.shape}, expected {shape}"
            )
        return array


def _decode(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _epsilons_from_config(raw: object) -> dict[str, float]:
    config = json.loads(_decode(raw))
    layers = config.get("config", {})
    layers = layers.get("layers", []) if isinstance(layers, dict) else layers
    return {
        layer["config"]["name"]: float(layer["config"]["epsilon"])
        for layer in layers
        if layer.get("class_name") == "BatchNormalization" and "epsilon" in layer.get("config", {})
    }


def read_keras_h5(path: str | Path) -> KerasWeights:
    """Load every weight of a Keras 2 HDF5 file into numpy arrays.

    Args:
        path: a ``.h5`` written by Keras' ``save()`` or ``save_weights()``.

    Returns:
        The weights, layer order and BatchNorm epsilons.

    Raises:
        FileNotFoundError: the file does not exist.
        KerasH5Error: it is not HDF5, or not a Keras weights file.
    """
    import h5py  # train extra; imported here so the package imports without it

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Keras weights file not found: {path}")
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise KerasH5Error(f"{path}: not an HDF5 file ({exc})") from exc
    with handle:
        root = handle["model_weights"] if "model_weights" in handle else handle
        if "layer_names" not in root.attrs:
            raise KerasH5Error(f"{path}: no 'layer_names' attribute; not a Keras weights file")
        layer_names = [_decode(n) for n in root.attrs["layer_names"]]
        weights: dict[str, dict[str, np.ndarray]] = {}
        for layer in layer_names:
            if layer not in root:
                raise KerasH5Error(f"{path}: layer {layer!r} is listed but has no group")
            group = root[layer]
            arrays = {}
            for full in (_decode(n) for n in group.attrs.get("weight_names", [])):
                # "conv2d_5/kernel:0" -> "kernel"
                short = full.rsplit("/", 1)[-1].split(":", 1)[0]
                arrays[short] = np.asarray(group[full], dtype=np.float32)
            weights[layer] = arrays
        epsilons = (
            _epsilons_from_config(handle.attrs["model_config"])
            if "model_config" in handle.attrs
            else {}
        )
        version = _decode(handle.attrs.get("keras_version", root.attrs.get("keras_version", "")))
    return KerasWeights(path, layer_names, weights, epsilons, version)
