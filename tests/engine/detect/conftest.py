"""Fixtures for the detector tests: facenet-pytorch's torch MTCNN as the reference."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def facenet_mtcnn():
    """A factory of facenet-pytorch MTCNN instances (skip when it is not installed)."""
    pytest.importorskip("torch")
    facenet = pytest.importorskip("facenet_pytorch")
    import torch

    torch.set_num_threads(2)

    def make(**kwargs):
        return facenet.MTCNN(keep_all=True, device="cpu", **kwargs)

    return make
