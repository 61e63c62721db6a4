"""Several classifier ONNX files -> one ONNX whose logit is the mean of theirs (a logit ensemble).

Why: two detectors trained on different framings of the same data make different mistakes
(one leans on the border of pre-cropped faces, one was trained not to); the mean of their logits
scores better on validation than either (docs/experiments/2026-11-30-v8-ensemble-v5-v7.md). The
merged file keeps the runtime's interface (``crops``, ``spectrum`` -> ``logit``) and its contract,
so the engine, the FP16/INT8 exporters, TensorRT and Triton take it like any other classifier.

Each member's graph is copied in with every internal name prefixed ``m<i>/``; the graph inputs
are shared. The decision threshold is the equal-error-rate point of the merged model on the
training registry's validation split, as training chooses it for a single model. The export
only counts when the merged logit equals the mean of the members' logits (ONNX Runtime, real
face crops) to :data:`PARITY_TOLERANCE`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from engine.backends.base import INPUT_CROPS, INPUT_SPECTRUM, OUTPUT_LOGIT
from engine.backends.trt_manifest import file_sha256
from engine.errors import ModelError
from engine.preprocess import InputContract
from export.onnx_export import PARITY_TOLERANCE, check_graph, onnx_logits

log = logging.getLogger(__name__)

MODEL_NAME = "logit_ensemble"
# Contract fields every member must share: they decide how a crop is cut and normalised.
SHARED_FIELDS = ("input_size", "spectrum_bins", "mean", "std", "margin")


@dataclass(frozen=True)
class Member:
    """One input model of an ensemble."""

    path: Path
    sha256: str
    threshold: float
    model_name: str
    model_config: dict


@dataclass(frozen=True)
class EnsembleReport:
    """Result of a verified ensemble export.

    Attributes:
        path: the written ONNX file.
        members: the input models, in graph order.
        contract: the merged model's contract (threshold included).
        threshold_from: how the threshold was chosen ("given" or the validation set used).
        val_auc: AUC of the merged model on that validation set (None when given).
        val_samples: faces in it (0 when given).
        max_abs_diff: largest |merged logit - mean member logit| over the parity crops.
        parity_crops: real face crops compared.
        size_bytes, sha256, ops: of the written file.
    """

    path: Path
    members: tuple[Member, ...]
    contract: InputContract
    threshold_from: str
    val_auc: float | None
    val_samples: int
    max_abs_diff: float
    parity_crops: int
    size_bytes: int
    sha256: str
    ops: tuple[str, ...]


def read_member(path: Path) -> tuple[Member, InputContract]:
    """A member's identity and contract from its ONNX metadata.

    Raises:
        ModelError: unreadable file, not a classifier (wrong interface), or not FP32.
    """
    import onnx

    try:
        proto = onnx.load(str(path))
    except Exception as exc:  # onnx raises DecodeError / OSError variants
        raise ModelError(f"cannot read ensemble member {path}: {exc}") from exc
    meta = {p.key: p.value for p in proto.metadata_props}
    precision = meta.get("deepscreen.precision", "fp32")
    if precision != "fp32":
        # FP16/INT8 are made from the merged FP32 model, so their gates judge the whole.
        raise ModelError(f"ensemble member {path} is {precision}: merge the FP32 models, then "
                         "run `deepscreen export fp16/int8` on the result")
    contract = InputContract.from_metadata(meta)
    check_graph(path, contract)
    name = json.loads(meta.get("deepscreen.model_name", '"unknown"'))
    config = json.loads(meta.get("deepscreen.model_config", "{}"))
    return Member(path, file_sha256(path), contract.threshold, name, config), contract


def shared_contract(contracts: Sequence[InputContract], paths: Sequence[Path]) -> InputContract:
    """The one contract every member agrees on (threshold left as the first member's).

    Raises:
        ModelError: members crop, resize or normalise differently: one input cannot serve all.
    """
    first = contracts[0]
    for contract, path in zip(contracts[1:], paths[1:], strict=True):
        for field in SHARED_FIELDS:
            if getattr(contract, field) != getattr(first, field):
                raise ModelError(
                    f"ensemble members disagree on {field}: {paths[0]} has "
                    f"{getattr(first, field)!r}, {path} has {getattr(contract, field)!r}"
                )
    return first


def merge_graphs(models: Sequence, shared: Sequence[str] = (INPUT_CROPS, INPUT_SPECTRUM)):
    """One ``onnx.ModelProto`` computing every member and the mean of their ``logit`` outputs.

    Args:
        models: member ``ModelProto``s with the classifier interface.
        shared: graph input names the members share (never renamed).

    Raises:
        ModelError: members use different default-domain opsets, or contain sub-graphs
            (If/Loop), which this merge does not rename.
    """
    import onnx
    from onnx import TensorProto, helper

    opsets = {next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
              for m in models}
    if len(opsets) != 1:
        raise ModelError(f"ensemble members use different opsets {sorted(opsets)}: re-export them")
    nodes, inits, infos, logits = [], [], [], []
    for i, model in enumerate(models):
        prefix = f"m{i}/"
        g = model.graph

        def rename(name: str, prefix: str = prefix) -> str:
            return name if (not name or name in shared) else prefix + name

        for init in g.initializer:
            copy = onnx.TensorProto()
            copy.CopyFrom(init)
            copy.name = rename(init.name)
            inits.append(copy)
        for node in g.node:
            if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
                   for a in node.attribute):
                raise ModelError(
                    f"ensemble member {i} has a sub-graph ({node.op_type}): not supported"
                )
            copy = onnx.NodeProto()
            copy.CopyFrom(node)
            copy.name = prefix + (node.name or f"{node.op_type}_{len(nodes)}")
            copy.input[:] = [rename(n) for n in node.input]
            copy.output[:] = [rename(n) for n in node.output]
            nodes.append(copy)
        for vi in g.value_info:
            copy = onnx.ValueInfoProto()
            copy.CopyFrom(vi)
            copy.name = rename(vi.name)
            infos.append(copy)
        logits.append(rename(OUTPUT_LOGIT))
    # mean = (l0 + l1 + ...) * (1 / n): Add and Mul run everywhere (ORT, TensorRT, the INT8
    # quantizer leaves them in float).
    total = logits[0]
    for k, name in enumerate(logits[1:], start=1):
        out = f"ensemble/sum{k}"
        nodes.append(helper.make_node("Add", [total, name], [out], name=f"ensemble/add{k}"))
        total = out
    inits.append(helper.make_tensor("ensemble/scale", TensorProto.FLOAT, [], [1.0 / len(models)]))
    nodes.append(helper.make_node("Mul", [total, "ensemble/scale"], [OUTPUT_LOGIT],
                                  name="ensemble/mean"))
    first = models[0].graph
    graph = helper.make_graph(nodes, "deepscreen_logit_ensemble", list(first.input),
                              list(first.output), initializer=inits, value_info=infos)
    merged = helper.make_model(graph, opset_imports=list(models[0].opset_import),
                               producer_name="deepscreen")
    merged.ir_version = max(m.ir_version for m in models)
    return merged


def validation_threshold(
    model: Path, faces: Path, cache_dir: Path | None = None
) -> tuple[float, float, int]:
    """EER threshold, AUC and size of ``model`` on the registry's validation split of ``faces``.

    ``cache_dir`` holds the face detections (``faces.npz``, shared with training and evaluate).

    The same split and rule training uses to pick a single model's threshold
    (``train.sources``, ``train.metrics.eer_threshold``), on the canonical crops.
    """
    from train.metrics import binary_metrics, eer_threshold
    from train.predict import open_scorer, score_crops
    from train.source_eval import Detector, score_samples
    from train.sources import split_samples

    val = split_samples(faces, "val")
    if not val or len({s.label for s in val}) < 2:
        raise ModelError(f"no two-class validation split under {faces}: pass --threshold")
    scorer = open_scorer(model)
    det = Detector("ensemble", lambda crops: score_crops(scorer, crops), 0.5)
    p = score_samples(val, [det], scorer.contract.margin, cache_dir)["ensemble"]
    labels = np.array([s.label for s in val])
    _, threshold = eer_threshold(labels, p)
    return threshold, binary_metrics(labels, p, threshold).auc, len(val)


def export_ensemble(
    members: Sequence[Path],
    out: Path,
    threshold: float | None = None,
    faces: Path | None = None,
    parity_n: int = 16,
    cache_dir: Path | None = None,
) -> EnsembleReport:
    """Merge classifier ONNX files into one mean-logit model, verified before success.

    Args:
        members: two or more classifier ONNX files (FP32) with the same crop contract.
        out: the ONNX file to write (a failed export leaves nothing there).
        threshold: the decision threshold; None chooses it on the validation split of ``faces``.
        faces: the labelled face registry root (default ``../shared/data/faces``).
        parity_n: real face crops on which the merged logit must equal the members' mean.
        cache_dir: face-detection cache for the validation split (e.g. ``runs/cache``).

    Raises:
        ModelError: fewer than two members, members that disagree on the contract or opset,
            no validation data for the threshold, or a failed parity check.
    """
    import onnx

    from calibration.faces import DEFAULT_FACES, parity_crops, prepare_images
    from export.onnx_export import write_metadata

    if len(members) < 2:
        raise ModelError(f"an ensemble needs at least two models, got {len(members)}")
    read = [read_member(Path(p)) for p in members]
    contract = shared_contract([c for _, c in read], [Path(p) for p in members])
    merged = merge_graphs([onnx.load(str(p)) for p in members])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # The suffix stays .onnx: the validation scorer picks ONNX Runtime by it.
    tmp = out.with_name(out.stem + ".partial.onnx")
    info = [{"file": m.path.name, "sha256": m.sha256, "threshold": m.threshold,
             "model_name": m.model_name, "model_config": m.model_config} for m, _ in read]
    extra = {
        "deepscreen.model_name": json.dumps(MODEL_NAME),
        "deepscreen.model_config": json.dumps({"members": info}, sort_keys=True),
        "deepscreen.source_checkpoint": ",".join(m.path.name for m, _ in read),
        "deepscreen.precision": "fp32",
    }
    try:
        onnx.save(merged, str(tmp))
        write_metadata(tmp, contract, extra)
        check_graph(tmp, contract)
        crops, spectrum = prepare_images(parity_crops(parity_n), contract)
        want = np.mean([onnx_logits(Path(p), crops, spectrum) for p in members], axis=0)
        diff = float(np.abs(onnx_logits(tmp, crops, spectrum) - want).max())
        if not np.isfinite(diff) or diff > PARITY_TOLERANCE:
            raise ModelError(f"merged ensemble differs from its members' mean by {diff:.3g}")
        if threshold is None:
            threshold, auc, n = validation_threshold(tmp, Path(faces or DEFAULT_FACES), cache_dir)
            source = f"validation EER on {n} faces"
        else:
            auc, n, source = None, 0, "given"
        contract = replace(contract, threshold=float(threshold))
        write_metadata(tmp, contract, extra)
        _, ops = check_graph(tmp, contract)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("ensemble %s of %d members, threshold %.4f (%s)", out, len(read), threshold, source)
    return EnsembleReport(out, tuple(m for m, _ in read), contract, source, auc, n, diff,
                          len(crops), out.stat().st_size, file_sha256(out), ops)
