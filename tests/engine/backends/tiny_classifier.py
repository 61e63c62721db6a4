"""A small but real classifier ONNX (built with onnx.helper, no torch) for backend tests.

The graph has the exact interface of the shipped classifier (inputs ``crops`` and ``spectrum``,
output ``logit``, dynamic batch, InputContract metadata), and a closed form that the tests
recompute in NumPy: logit = w_c . mean_hw(crops) + w_s . spectrum + b.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.preprocess import InputContract

TINY_CONTRACT = InputContract(input_size=64, spectrum_bins=16, threshold=0.4)


def tiny_weights() -> tuple[np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(7)
    return (
        rng.normal(size=3).astype(np.float32),
        rng.normal(size=TINY_CONTRACT.spectrum_bins).astype(np.float32) * 0.1,
        0.25,
    )


def tiny_logits(crops: np.ndarray, spectrum: np.ndarray) -> np.ndarray:
    w_c, w_s, b = tiny_weights()
    pooled = crops.astype(np.float64).mean(axis=(2, 3))
    return pooled @ w_c + spectrum.astype(np.float64) @ w_s + b


def write_tiny_classifier(
    path: Path, contract: InputContract = TINY_CONTRACT, spectral: bool = True
) -> Path:
    """The tiny classifier; ``spectral=False`` keeps the ``spectrum`` input but only a dead
    branch reads it (as in the shipped model and its FP16 conversion): logit = w_c . pooled + b.
    """
    from onnx import TensorProto, helper, numpy_helper

    w_c, w_s, b = tiny_weights()
    s, bins = contract.input_size, contract.spectrum_bins
    nodes = [
        helper.make_node("GlobalAveragePool", ["crops"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
    ]
    if spectral:
        weight = np.concatenate([w_c, w_s])[:, None].astype(np.float32)
        nodes += [
            helper.make_node("Concat", ["flat", "spectrum"], ["features"], axis=1),
            helper.make_node("Gemm", ["features", "W", "B"], ["logit"]),
        ]
    else:
        weight = w_c[:, None].astype(np.float32)
        nodes += [
            helper.make_node("Cast", ["spectrum"], ["spectrum_half"], to=TensorProto.FLOAT16),
            helper.make_node("Gemm", ["flat", "W", "B"], ["logit"]),
        ]
    graph = helper.make_graph(
        nodes,
        "tiny_classifier",
        [
            helper.make_tensor_value_info("crops", TensorProto.FLOAT, ["batch", 3, s, s]),
            helper.make_tensor_value_info("spectrum", TensorProto.FLOAT, ["batch", bins]),
        ],
        [helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["batch", 1])],
        initializer=[
            numpy_helper.from_array(weight, "W"),
            numpy_helper.from_array(np.array([b], dtype=np.float32), "B"),
        ],
    )
    return _save(graph, contract, path, check=True)


def write_pooled_model(path: Path, weight: np.ndarray, contract: InputContract = TINY_CONTRACT,
                       name: str = "pooled") -> Path:
    """A graph with the classifier's inputs whose output is the pooled pixels times ``weight``
    (3 x outputs, no bias, spectrum unread): a constant or malformed model for failure tests."""
    from onnx import TensorProto, helper, numpy_helper

    s, bins = contract.input_size, contract.spectrum_bins
    outputs = weight.shape[1]
    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["crops"], ["pooled"]),
         helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
         helper.make_node("Gemm", ["flat", "W"], ["logit"])],
        name,
        [helper.make_tensor_value_info("crops", TensorProto.FLOAT, ["batch", 3, s, s]),
         helper.make_tensor_value_info("spectrum", TensorProto.FLOAT, ["batch", bins])],
        [helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["batch", outputs])],
        initializer=[numpy_helper.from_array(weight.astype(np.float32), "W")],
    )
    return _save(graph, contract, path, check=False)


def _save(graph, contract: InputContract, path: Path, check: bool) -> Path:
    """Opset 17, IR 8, the contract as metadata; ``check`` runs the ONNX checker first."""
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in contract.to_metadata().items():
        model.metadata_props.add(key=key, value=value)
    if check:
        onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path)
    return path
