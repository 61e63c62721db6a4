"""Face detection: the MTCNN cascade on ONNX Runtime (no torch)."""

from engine.detect.mtcnn import MTCNNDetector

__all__ = ["MTCNNDetector"]
