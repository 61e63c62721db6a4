"""Which inputs of an ONNX classifier its output actually depends on.

A model trained without the spectral branch keeps ``spectrum`` as a graph input (one interface
for every artefact), but no path leads from it to ``logit``. Knowing that, the engine can skip
the radial spectrum (an FFT per face) and feed zeros: the result is bit-identical. Export
writes the answer into the model's metadata (:mod:`engine.backends.model_traits`), so the runtime
needs no ``onnx`` package to know it.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import ModelError


def inputs_reaching(path: Path, output: str) -> set[str]:
    """Names of the graph inputs that some path of nodes connects to ``output``.

    Walks the nodes backwards from ``output`` (ONNX stores them in topological order), so a
    dead branch (e.g. a ``Cast`` of the unused input in an FP16 conversion) does not count.
    A node with a subgraph (If, Loop, Scan) conservatively needs every input it names and
    every outer-scope tensor its subgraphs read.

    Raises:
        ModelError: the file is not a readable ONNX model, or has no such output.
    """
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise ModelError(f"cannot read ONNX {path}: {exc}") from exc
    graph = model.graph
    if output not in {o.name for o in graph.output}:
        raise ModelError(f"{path} has no output {output!r}")
    needed = {output}
    for node in reversed(graph.node):
        if needed.isdisjoint(node.output):
            continue
        needed.update(name for name in node.input if name)
        for attr in node.attribute:
            for sub in (*([attr.g] if attr.HasField("g") else []), *attr.graphs):
                needed.update(_names_read(sub))
    return {i.name for i in graph.input} & needed


def _names_read(graph) -> set[str]:
    """Every tensor name a (sub)graph's nodes read, nested subgraphs included."""
    names: set[str] = set()
    for node in graph.node:
        names.update(name for name in node.input if name)
        for attr in node.attribute:
            for sub in (*([attr.g] if attr.HasField("g") else []), *attr.graphs):
                names.update(_names_read(sub))
    return names
