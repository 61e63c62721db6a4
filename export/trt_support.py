"""Will TensorRT's ONNX parser take this graph? Checked without TensorRT, from data in the repo.

The operator table (``export/data/trt10_onnx_ops.json``) is the support matrix of onnx-tensorrt
for TensorRT 10.x, with its source and version inside the file. A graph passes when every node
of the default ONNX domain is a supported op not refused by the project (DFT/STFT: the FFT runs
outside the network), every other domain is absent, and the opset lies in the range TensorRT
10.0 (JetPack 6 era) already parses.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelError

OP_TABLE = Path(__file__).resolve().parent / "data" / "trt10_onnx_ops.json"


@dataclass(frozen=True)
class OpSupport:
    """Result of checking one graph.

    Attributes:
        path: the ONNX file.
        opset: default-domain opset.
        ops: sorted op types used (``domain::Op`` for non-default domains).
        problems: human-readable reasons it would not parse (empty = ready).
    """

    path: Path
    opset: int
    ops: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


@functools.cache
def op_table() -> dict:
    """The operator table as loaded from the JSON file."""
    return json.loads(OP_TABLE.read_text())


def _walk(graph, seen: set[str]) -> None:
    for node in graph.node:
        domain = node.domain if node.domain not in ("", "ai.onnx") else ""
        seen.add(f"{domain}::{node.op_type}" if domain else node.op_type)
        for attr in node.attribute:  # If/Loop/Scan bodies
            if attr.g is not None and attr.g.node:
                _walk(attr.g, seen)
            for sub in attr.graphs:
                _walk(sub, seen)


def check_onnx_ops(path: Path) -> OpSupport:
    """Check every node of ``path`` (subgraphs included) against the TensorRT 10 table."""
    import onnx

    path = Path(path)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise ModelError(f"cannot read ONNX {path}: {exc}") from exc
    table = op_table()
    supported = set(table["supported"])
    refused = set(table["refused_by_project"])
    seen: set[str] = set()
    _walk(model.graph, seen)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    problems = []
    lo, hi = table["opset_range"]["min"], table["opset_range"]["max_tensorrt_10_0"]
    if not lo <= opset <= hi:
        problems.append(f"opset {opset} outside {lo}..{hi} (TensorRT 10.0)")
    for op in sorted(seen):
        if "::" in op:
            problems.append(f"{op}: custom-domain op (TensorRT would need a plugin)")
        elif op in refused:
            problems.append(f"{op}: refused for TensorRT deployment (not in early 10.x parsers)")
        elif op not in supported:
            problems.append(f"{op}: not supported by TensorRT 10's ONNX parser")
    return OpSupport(path, opset, tuple(sorted(seen)), tuple(problems))
