"""PyTorch -> ONNX conversion (MTCNN nets, classifier). Imports torch lazily, inside functions."""
