"""deepscreen runtime: face detection, spectral features, classification and voting on video.

This package must never import torch: an edge box runs numpy + OpenCV + ONNX Runtime or
TensorRT. Training and export code lives in the sibling packages `train`, `export` and
`calibration`, which are only imported lazily from the CLI.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("deepscreen")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
