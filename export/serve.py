"""A local Open Inference Protocol server for the classifier (MLServer), for tests and demos.

Triton Inference Server cannot be installed from PyPI; MLServer can, speaks the same KServe v2
protocol, and runs the same ONNX file with :mod:`export.mlserver_runtime`. It lives in its own
virtual environment (``.venv-serve``) because its dependencies differ from the engine's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from engine.backends.base import INPUT_CROPS, INPUT_SPECTRUM, OUTPUT_LOGIT
from engine.preprocess import InputContract

RUNTIME = Path(__file__).with_name("mlserver_runtime.py")


def write_mlserver_folder(
    folder: Path,
    onnx: Path,
    contract: InputContract,
    http_port: int,
    grpc_port: int,
    name: str = "deepscreen",
) -> Path:
    """Write an MLServer folder (settings.json, model-settings.json, runtime, model.onnx).

    Start it with ``mlserver start FOLDER``; it listens on 127.0.0.1 only.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(onnx, folder / "model.onnx")
    shutil.copyfile(RUNTIME, folder / "mlserver_runtime.py")
    s, bins = contract.input_size, contract.spectrum_bins
    settings = {
        "host": "127.0.0.1",
        "http_port": http_port,
        "grpc_port": grpc_port,
        "metrics_endpoint": None,
        "parallel_workers": 0,
        "debug": False,
    }
    model_settings = {
        "name": name,
        "implementation": "mlserver_runtime.DeepscreenOnnx",
        "parameters": {"uri": str((folder / "model.onnx").resolve())},
        "inputs": [
            {"name": INPUT_CROPS, "datatype": "FP32", "shape": [-1, 3, s, s]},
            {"name": INPUT_SPECTRUM, "datatype": "FP32", "shape": [-1, bins]},
        ],
        "outputs": [{"name": OUTPUT_LOGIT, "datatype": "FP32", "shape": [-1, 1]}],
    }
    (folder / "settings.json").write_text(json.dumps(settings, indent=2))
    (folder / "model-settings.json").write_text(json.dumps(model_settings, indent=2))
    return folder
