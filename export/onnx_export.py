"""Classifier checkpoint -> single-file ONNX with the runtime's interface, verified before success.

Graph interface: inputs ``crops`` (N, 3, S, S) and ``spectrum`` (N, bins), float32; output
``logit`` (N, 1) float32; the batch axis is dynamic. The InputContract travels in the model's
``metadata_props`` (``deepscreen.*`` keys). An export only counts when the file passes
``onnx.checker``, full shape inference, and matches PyTorch on real face crops to
:data:`PARITY_TOLERANCE`.
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.backends.base import INPUT_CROPS, INPUT_SPECTRUM, OUTPUT_LOGIT
from engine.backends.model_traits import (
    KEY_FLIP_IN_GRAPH,
    KEY_MIN_FACE_PX,
    KEY_USES_SPECTRUM,
    probe_flip_in_graph,
)
from engine.backends.trt_manifest import file_sha256
from engine.errors import ModelError
from engine.preprocess import InputContract

log = logging.getLogger(__name__)

OPSET = 18
PARITY_TOLERANCE = 1e-4
# Ops that TensorRT's parser cannot run: a classifier that contains them is not exportable.
FORBIDDEN_OPS = frozenset({"DFT", "STFT", "MelWeightMatrix"})


@dataclass(frozen=True)
class ExportReport:
    """Result of a verified classifier export.

    Attributes:
        path: the written ONNX file.
        opset: default-domain opset of the graph.
        contract: the InputContract stored in the metadata.
        max_abs_diff: largest |logit_torch - logit_onnxruntime| over the parity crops.
        parity_crops: number of real face crops compared.
        size_bytes: file size.
        sha256: hex digest of the file.
        ops: sorted op types in the graph.
    """

    path: Path
    opset: int
    contract: InputContract
    max_abs_diff: float
    parity_crops: int
    size_bytes: int
    sha256: str
    ops: tuple[str, ...]


def _trace_to_onnx(model, contract: InputContract, path: Path) -> None:
    import torch

    s, bins = contract.input_size, contract.spectrum_bins
    example = (torch.rand(2, 3, s, s) * 2 - 1, torch.rand(2, bins) + 0.5)
    batch = torch.export.Dim("batch", min=1, max=65536)
    with torch.no_grad(), warnings.catch_warnings():
        # Both inputs share the batch Dim on purpose; torch warns that it merges the names.
        warnings.filterwarnings("ignore", message=".*axis name.*")
        program = torch.onnx.export(
            model,
            example,
            dynamo=True,
            input_names=[INPUT_CROPS, INPUT_SPECTRUM],
            output_names=[OUTPUT_LOGIT],
            dynamic_shapes=({0: batch}, {0: batch}),
            opset_version=OPSET,
            external_data=False,
            verbose=False,
        )
    # One file: the weights must not go to a side file (the runtime ships a single .onnx).
    program.save(str(path), external_data=False)


def write_metadata(
    path: Path, contract: InputContract, extra: dict[str, str] | None = None
) -> None:
    """Store the InputContract, the model traits and extra keys in ``metadata_props``, in place.

    The traits (:class:`engine.backends.model_traits.ModelTraits`) are measured on the file
    itself unless ``extra`` gives them: ``uses_spectrum`` by graph reachability,
    ``flip_in_graph`` by the same ONNX Runtime symmetry probe the runtime uses on older files.
    """
    import onnx

    from export.graph_inputs import inputs_reaching

    extra = dict(extra or {})
    if KEY_USES_SPECTRUM not in extra:
        extra[KEY_USES_SPECTRUM] = json.dumps(INPUT_SPECTRUM in inputs_reaching(path, OUTPUT_LOGIT))
    if KEY_FLIP_IN_GRAPH not in extra:
        flip = probe_flip_in_graph(lambda c, s: onnx_logits(path, c, s), contract)
        extra[KEY_FLIP_IN_GRAPH] = json.dumps(flip)
    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    props.update(contract.to_metadata())
    props.update(extra)
    del model.metadata_props[:]
    for key, value in sorted(props.items()):
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))


def check_graph(path: Path, contract: InputContract) -> tuple[int, tuple[str, ...]]:
    """onnx.checker + strict shape inference + interface check.

    Returns:
        (opset, op types).

    Raises:
        ModelError: the graph is invalid, has the wrong interface or contains forbidden ops.
    """
    import onnx

    model = onnx.load(str(path))
    try:
        onnx.checker.check_model(model, full_check=True)
        inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except Exception as exc:  # onnx raises ValidationError / InferenceError
        raise ModelError(f"{path} fails the ONNX checker: {exc}".splitlines()[0]) from exc
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < 17:
        raise ModelError(f"{path}: opset {opset} < 17")

    def dims(vi) -> list:
        return [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]

    inputs = {i.name: dims(i) for i in inferred.graph.input}
    outputs = {o.name: dims(o) for o in inferred.graph.output}
    s, bins = contract.input_size, contract.spectrum_bins
    if set(inputs) != {INPUT_CROPS, INPUT_SPECTRUM} or list(outputs) != [OUTPUT_LOGIT]:
        raise ModelError(f"{path}: interface {inputs} -> {outputs} is not crops, spectrum -> logit")
    if inputs[INPUT_CROPS][1:] != [3, s, s] or inputs[INPUT_SPECTRUM][1:] != [bins]:
        raise ModelError(f"{path}: input shapes {inputs} do not match the contract ({s}, {bins})")
    if outputs[OUTPUT_LOGIT][1:] != [1]:
        raise ModelError(f"{path}: logit shape {outputs[OUTPUT_LOGIT]} is not (N, 1)")
    for name, shape in {**inputs, **outputs}.items():
        if not isinstance(shape[0], str):
            raise ModelError(f"{path}: batch axis of {name} is fixed ({shape[0]}), not dynamic")
    ops = tuple(sorted({n.op_type for n in model.graph.node}))
    bad = FORBIDDEN_OPS.intersection(ops)
    if bad:
        raise ModelError(f"{path}: contains {sorted(bad)}, which TensorRT cannot run")
    return opset, ops


def torch_logits(model, crops: np.ndarray, spectrum: np.ndarray, batch: int = 64) -> np.ndarray:
    """Reference logits from the PyTorch model, (N,) float32."""
    import torch

    out = []
    with torch.no_grad():
        for i in range(0, len(crops), batch):
            y = model(
                torch.from_numpy(crops[i : i + batch]), torch.from_numpy(spectrum[i : i + batch])
            )
            out.append(y.reshape(-1).float().numpy())
    return np.concatenate(out) if out else np.zeros((0,), np.float32)


def onnx_logits(path: Path, crops: np.ndarray, spectrum: np.ndarray) -> np.ndarray:
    """Logits from ONNX Runtime on the CPU, (N,) float32, no graph rewriting beyond ORT's."""
    import onnxruntime as ort

    from engine.backends.ort import session_options

    sess = ort.InferenceSession(str(path), session_options(), providers=["CPUExecutionProvider"])
    (logit,) = sess.run([OUTPUT_LOGIT], {INPUT_CROPS: crops, INPUT_SPECTRUM: spectrum})
    return logit.reshape(-1)


def export_classifier(
    checkpoint: Path, out: Path, parity_n: int = 16, tolerance: float = PARITY_TOLERANCE,
    min_face_px: float | None = None,
) -> ExportReport:
    """Export a checkpoint to ONNX and verify it against PyTorch on real face crops.

    Args:
        checkpoint: a deepscreen training checkpoint (``train.checkpoint`` format).
        out: destination ``.onnx`` path (parent folders are created).
        parity_n: number of real face crops compared (batch sizes 1 and N are both run).
        tolerance: largest accepted |logit difference|.
        min_face_px: the model's vote floor (``deepscreen.min_face_px``: faces with a smaller
            side get no vote), measured with ``deepscreen evaluate --quality-bins ...
            --bin-sides ...``; None writes no key (the runtime's default applies).

    Returns:
        An :class:`ExportReport`.

    Raises:
        ModelError: unreadable checkpoint, invalid graph, or parity failure (the file is removed
            so a failed export never looks like a good one).
    """
    from calibration.faces import parity_crops, prepare_images
    from train.checkpoint import build_model_from_checkpoint, load_checkpoint

    model, contract = build_model_from_checkpoint(checkpoint)
    # The architecture travels too, so tools can rebuild the eager model (benchmarks, Grad-CAM).
    data = load_checkpoint(checkpoint)
    extra = {
        "deepscreen.source_checkpoint": Path(checkpoint).name,
        "deepscreen.model_name": json.dumps(data["model_name"]),
        "deepscreen.model_config": json.dumps(data["model_config"], sort_keys=True),
        "deepscreen.precision": "fp32",
        KEY_FLIP_IN_GRAPH: json.dumps(bool(getattr(getattr(model, "cfg", None), "flip_tta",
                                                   False))),
    }
    if min_face_px is not None:
        extra[KEY_MIN_FACE_PX] = json.dumps(float(min_face_px))
    model.eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    try:
        _trace_to_onnx(model, contract, tmp)
        write_metadata(tmp, contract, extra)
        opset, ops = check_graph(tmp, contract)
        crops, spectrum = prepare_images(parity_crops(parity_n), contract)
        ref = torch_logits(model, crops, spectrum)
        got = onnx_logits(tmp, crops, spectrum)
        single = onnx_logits(tmp, crops[:1], spectrum[:1])
        diff = float(max(np.abs(ref - got).max(), np.abs(ref[:1] - single).max()))
        if not np.isfinite(diff) or diff > tolerance:
            raise ModelError(
                f"ONNX export of {checkpoint} differs from PyTorch by {diff:.3g} "
                f"(> {tolerance:g}) on {len(ref)} real face crops; not writing {out}"
            )
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("exported %s (max |torch - ort| logit = %.2e)", out, diff)
    return ExportReport(
        path=out,
        opset=opset,
        contract=contract,
        max_abs_diff=diff,
        parity_crops=len(ref),
        size_bytes=out.stat().st_size,
        sha256=file_sha256(out),
        ops=ops,
    )
