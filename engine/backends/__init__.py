"""Classifier backends: ONNX Runtime, TensorRT, PyTorch reference and a remote inference server.

Use :func:`load_backend`; every backend implements :class:`Backend`
(``predict(crops, spectrum) -> p_fake``). Heavy libraries (tensorrt, pycuda, torch,
tritonclient) are imported only when their backend is opened.
"""

from engine.backends.base import INPUT_CROPS, INPUT_SPECTRUM, OUTPUT_LOGIT, Backend, sigmoid
from engine.backends.factory import BACKEND_NAMES, DEFAULT_MODEL, engine_path_for, load_backend

__all__ = [
    "BACKEND_NAMES",
    "DEFAULT_MODEL",
    "INPUT_CROPS",
    "INPUT_SPECTRUM",
    "OUTPUT_LOGIT",
    "Backend",
    "engine_path_for",
    "load_backend",
    "sigmoid",
]
