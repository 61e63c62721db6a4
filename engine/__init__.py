"""deepscreen runtime: face detection, spectral features, classification and voting on video.

This package must never import torch: an edge box runs numpy + OpenCV + ONNX Runtime or
TensorRT. Training and export code lives in the sibling packages `train`, `export` and
`calibration`, and the command line in `deepscreen_cli`: they import the runtime, never the
other way round (tests/engine/test_layers.py reads the source to hold that line).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("deepscreen")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
