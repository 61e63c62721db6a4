"""Benchmark tooling behind `deepscreen bench`.

Importing this package is cheap and never imports torch: the PyTorch baseline, the PyTorch
backend and the GPU probes import torch inside the functions that need it.
"""
