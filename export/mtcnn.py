"""Convert facenet-pytorch's MTCNN weights (P-, R-, O-Net) to three ONNX files.

The weights ship inside the facenet-pytorch wheel (``facenet_pytorch/data/{pnet,rnet,onet}.pt``,
MIT licence). The network definitions are facenet-pytorch's own classes, so the exported graphs
compute exactly what ``facenet_pytorch.MTCNN`` computes; the runtime cascade in
:mod:`engine.detect` then needs neither torch nor facenet-pytorch.

Graph interface (all float32, NCHW, RGB normalised as ``(x - 127.5) / 128``):

- ``pnet.onnx``: input ``image`` (N, 3, H, W), every axis dynamic (H, W >= 12);
  outputs ``reg`` (N, 4, H', W') and ``prob`` (N, 2, H', W') with H' = ceil((H - 2) / 2) - 4.
- ``rnet.onnx``: input ``image`` (N, 3, 24, 24); outputs ``reg`` (N, 4), ``prob`` (N, 2).
- ``onet.onnx``: input ``image`` (N, 3, 48, 48); outputs ``reg`` (N, 4), ``landmarks`` (N, 10)
  (five x values, then five y values, relative to the box), ``prob`` (N, 2).
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from engine.errors import BackendUnavailable, ModelError

log = logging.getLogger(__name__)

OPSET = 18
NET_NAMES = ("pnet", "rnet", "onet")
OUTPUT_NAMES = {
    "pnet": ["reg", "prob"],
    "rnet": ["reg", "prob"],
    "onet": ["reg", "landmarks", "prob"],
}
INPUT_SIZE = {"pnet": (37, 53), "rnet": (24, 24), "onet": (48, 48)}
# Largest |torch - ORT| accepted when checking an export (observed: ~5e-6).
TOLERANCE = 1e-4
# Its wheel pins torch<2.3 and numpy<2, so it goes in without its dependencies (Makefile).
FACENET_INSTALL = "pip install -e '.[train]' && pip install --no-deps facenet-pytorch==2.6.0"


def facenet_module(name: str, what: str) -> ModuleType:
    """The facenet-pytorch module ``name`` (``facenet_pytorch`` or one below it; torch comes
    with it), for everything that runs facenet-pytorch's torch MTCNN.

    Raises:
        BackendUnavailable: torch or facenet-pytorch is not installed; says that ``what`` needs
            them and how to install them.
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise BackendUnavailable(
            f"{what} needs torch and facenet-pytorch ({FACENET_INSTALL}): {exc}"
        ) from exc


@dataclass(frozen=True)
class ExportResult:
    """One exported net.

    Attributes:
        name: "pnet", "rnet" or "onet".
        path: where the ONNX file was written.
        max_abs_diff: largest absolute difference between torch and ONNX Runtime outputs over
            the verification inputs.
        size_bytes: size of the ONNX file.
    """

    name: str
    path: Path
    max_abs_diff: float
    size_bytes: int


def load_torch_nets() -> dict:
    """Load facenet-pytorch's P/R/O-Net with their shipped weights, in eval mode.

    Returns:
        {"pnet": PNet, "rnet": RNet, "onet": ONet}.

    Raises:
        BackendUnavailable: torch or facenet-pytorch is not installed.
    """
    mtcnn = facenet_module("facenet_pytorch.models.mtcnn", "exporting MTCNN")
    nets = {"pnet": mtcnn.PNet(), "rnet": mtcnn.RNet(), "onet": mtcnn.ONet()}
    for net in nets.values():
        net.eval()
    return nets


def _export_one(name: str, net, path: Path) -> None:
    import torch

    h, w = INPUT_SIZE[name]
    example = (torch.rand(2, 3, h, w) * 2 - 1,)
    batch = torch.export.Dim("batch", min=1, max=4096)
    if name == "pnet":
        # Dims are declared directly on the input; P-Net accepts any size from 12 px up.
        height = torch.export.Dim("height", min=12, max=8192)
        width = torch.export.Dim("width", min=12, max=8192)
        dynamic_shapes = ({0: batch, 2: height, 3: width},)
    else:
        dynamic_shapes = ({0: batch},)
    with torch.no_grad():
        program = torch.onnx.export(
            net,
            example,
            dynamo=True,
            input_names=["image"],
            output_names=OUTPUT_NAMES[name],
            dynamic_shapes=dynamic_shapes,
            opset_version=OPSET,
            external_data=False,
            verbose=False,
        )
    program.save(str(path), external_data=False)


def _verify_one(name: str, net, path: Path, rng: np.random.Generator) -> float:
    """Check the ONNX graph and compare it with torch in ONNX Runtime; return the max error."""
    import onnx
    import onnxruntime as ort
    import torch

    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    h, w = INPUT_SIZE[name]
    shapes = [(1, 3, h, w), (5, 3, h, w)]
    if name == "pnet":
        shapes += [(1, 3, 12, 12), (1, 3, 480, 640), (2, 3, 97, 31)]
    worst = 0.0
    for shape in shapes:
        x = rng.uniform(-1, 1, size=shape).astype(np.float32)
        with torch.no_grad():
            expected = [t.numpy() for t in net(torch.from_numpy(x))]
        got = session.run(OUTPUT_NAMES[name], {"image": x})
        for e, g in zip(expected, got, strict=True):
            if e.shape != g.shape:
                raise ModelError(f"{path}: output shape {g.shape} != torch {e.shape}")
            worst = max(worst, float(np.abs(e - g).max()))
    if worst > TOLERANCE:
        raise ModelError(f"{path}: ONNX Runtime differs from torch by {worst:.2e} > {TOLERANCE}")
    return worst


def export_mtcnn(out_dir: Path, seed: int = 0) -> list[ExportResult]:
    """Export P-, R- and O-Net to ``out_dir/{pnet,rnet,onet}.onnx`` and verify each file.

    Args:
        out_dir: destination folder, created if missing.
        seed: seed of the random verification inputs.

    Returns:
        One :class:`ExportResult` per net.

    Raises:
        BackendUnavailable: torch or facenet-pytorch is missing.
        ModelError: an exported graph fails the ONNX checker or differs from torch.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    nets = load_torch_nets()
    rng = np.random.default_rng(seed)
    results = []
    for name in NET_NAMES:
        path = out_dir / f"{name}.onnx"
        _export_one(name, nets[name], path)
        diff = _verify_one(name, nets[name], path, rng)
        log.info("exported %s (max |torch - ort| = %.2e)", path, diff)
        results.append(ExportResult(name, path, diff, path.stat().st_size))
    return results
