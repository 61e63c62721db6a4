"""A single-pass twin of a classifier whose graph averages each crop with its mirror image.

The shipped classifier runs the flip inside the graph (``flip_tta``): ``crops`` is concatenated
with its mirror image along the batch, the network runs on ``2N`` crops, and the two halves of
the logits are averaged. Half of every classification is the mirror pass. This module cuts it
out of the exported graph (no retraining, the same weights): the twin scores the crop alone,
costs half the MACs, and carries ``deepscreen.flip_in_graph = false`` plus
``deepscreen.mirror_band``, the band of p_fake around the threshold inside which the runtime
scores the mirror as well and averages the two logits exactly as the graph did
(:class:`engine.classifier.Classifier`). Outside the band the single pass decides alone: the
band is chosen from measurements (bench/flip_check.py, `deepscreen evaluate`; docs/EXPORT.md):
at :data:`DEFAULT_MIRROR_BAND` 34 % of the shared clips' crops and 69 % of the still test faces
get the mirror, no crop of either changes side of the threshold, and every shared clip ends as
with the flip graph; 0.4 (20 % of clip crops) already moved one near-tie clip's verdict.

The twin also records the sha256 of the graph it was cut from (``deepscreen.twin_of``): the
shipped twin (``engine/models/classifier.single.onnx``) replaces the shipped classifier on ONNX
Runtime's CPU only while the two still match (engine/backends/factory.py).

Needs ``onnx`` (the export extra); the runtime reads the result with ONNX Runtime alone.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from engine.backends.model_traits import KEY_FLIP_IN_GRAPH, KEY_MIRROR_BAND, KEY_TWIN_OF
from engine.errors import ModelError

# The band of the shipped twin: bench/flip_check.py on v9 (docs/EXPORT.md, "The mirror pass").
DEFAULT_MIRROR_BAND = 0.5


def strip_flip(src: Path, dst: Path, mirror_band: float) -> Path:
    """Write ``dst``: ``src`` without its in-graph mirror pass (see the module docstring).

    Args:
        src: a deepscreen classifier ONNX with the flip in its graph.
        dst: where to write the single-pass twin.
        mirror_band: the runtime scores the mirror too when |p_fake - threshold| < this
            (0 = never, 1 = always: the flip graph's scores at the flip graph's cost).

    Raises:
        ModelError: the graph does not have the exported flip pattern (Concat of ``crops``
            and its mirror Slice at the input; two Slices of one tensor added and halved at
            the network's logit), once per network (an ensemble's members each have one).
    """
    import onnx

    if not 0.0 <= mirror_band <= 1.0:
        raise ModelError(f"mirror band must be in [0, 1], got {mirror_band}")
    model = onnx.load(str(src))
    g = model.graph
    cats, halvings = _flip_patterns(g)
    if not cats or len(cats) != len(halvings):
        raise ModelError(f"{src}: no in-graph flip to remove (expected the flip_tta export)")
    drop = {id(n) for cut in (*cats, *halvings) for n in cut}
    # Each network's logits of all 2N crops are, once its flip is gone, the logits of N crops:
    # an Identity takes each halving Mul's place, so the node list stays topologically sorted.
    relink = {id(mul): onnx.helper.make_node(
        "Identity", [first.input[0]], [mul.output[0]],
        name="single_pass_logit" if len(halvings) == 1 else f"single_pass_logit_{k}")
        for k, (mul, _add, first, _second) in enumerate(halvings)}
    into_crops = {concat.output[0] for concat, _mirror in cats}
    nodes = [relink.get(id(n), n) for n in g.node if id(n) not in drop or id(n) in relink]
    for n in nodes:
        n.input[:] = ["crops" if i in into_crops else i for i in n.input]
    del g.node[:]
    g.node.extend(nodes)
    # Constants only the removed nodes used (the batch Shape among them) are pruned here so
    # the twin holds no dead nodes.
    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    alive = [n for n in g.node if any(o in used for o in n.output)]
    del g.node[:]
    g.node.extend(alive)
    inits = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(inits)
    props = {p.key: p.value for p in model.metadata_props}
    props[KEY_FLIP_IN_GRAPH] = json.dumps(False)
    props[KEY_MIRROR_BAND] = json.dumps(float(mirror_band))
    props[KEY_TWIN_OF] = hashlib.sha256(Path(src).read_bytes()).hexdigest()
    del model.metadata_props[:]
    for k, v in props.items():
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model)
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dst))
    return dst


def _flip_patterns(g) -> tuple[list, list]:
    """The exported flips in ``g``: one for a single network, one per member of an ensemble.

    Returns the input doublings, ``(Concat, Slice)`` for ``Concat(crops, Slice(crops))``, and
    the output halvings, ``(Mul, Add, Slice, Slice)`` for ``Mul(Add(Slice(X), Slice(X)), 0.5)``;
    a graph that is the export has as many of each. Cutting all of them keeps an ensemble's mean
    of its members, which is exact: the mean of each member's crop and mirror average equals
    the average of the crop's and the mirror's member means (the runtime's mirror pass).
    """
    producer = {out: n for n in g.node for out in n.output}
    cats = [(n, producer[n.input[1]]) for n in g.node
            if n.op_type == "Concat" and len(n.input) == 2 and n.input[0] == "crops"
            and n.input[1] in producer and producer[n.input[1]].op_type == "Slice"
            and producer[n.input[1]].input[0] == "crops"]
    halvings = []
    for mul in g.node:
        add = producer.get(mul.input[0]) if mul.op_type == "Mul" and mul.input else None
        halves = [producer.get(i) for i in add.input] if add is not None \
            and add.op_type == "Add" else []
        if len(halves) == 2 and all(h is not None and h.op_type == "Slice" for h in halves) \
                and halves[0].input[0] == halves[1].input[0]:
            halvings.append((mul, add, halves[0], halves[1]))
    return cats, halvings


def recut_twin(model: Path) -> float | None:
    """Keep the single-pass twin beside ``model`` in step after ``model`` was rewritten.

    A stale twin would be skipped at load (with a warning) and the new graph would run with the
    mirror on every crop, so the twin is cut again from the new graph with its own band (the
    default band when the old twin cannot be read). A new graph without the in-graph mirror has
    no twin: the old one is removed.

    Returns:
        the band of the re-cut twin; None when there was no twin.

    Raises:
        ModelError: the new graph has no in-graph mirror (the old twin has been removed).
    """
    import onnx

    from engine.backends.factory import single_pass_path

    twin = single_pass_path(model)
    if not twin.is_file():
        return None
    try:
        meta = {p.key: p.value for p in onnx.load(str(twin), load_external_data=False)
                .metadata_props}
        band = float(meta.get(KEY_MIRROR_BAND, DEFAULT_MIRROR_BAND))
    except Exception:  # an unreadable twin is replaced with the default band
        band = DEFAULT_MIRROR_BAND
    try:
        strip_flip(model, twin, band)
    except ModelError:
        twin.unlink()
        raise
    return band
