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
from dataclasses import dataclass
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
    cuts = _flip_patterns(g)
    if not cuts:
        raise ModelError(f"{src}: no in-graph flip to remove (expected the flip_tta export)")
    drop = {id(n) for cut in cuts for n in cut.nodes}
    # Each network's logits of all 2N crops are, once its flip is gone, the logits of N crops:
    # an Identity takes the halving Mul's place, so the node list stays topologically sorted.
    relink = {id(cut.nodes[-1]): onnx.helper.make_node(
        "Identity", [cut.full], [cut.logit],
        name="single_pass_logit" if len(cuts) == 1 else f"single_pass_logit_{k}")
        for k, cut in enumerate(cuts)}
    into_crops = {cut.cat_output for cut in cuts}
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


@dataclass(frozen=True)
class _FlipCut:
    """One network's in-graph mirror: what to remove and what to reconnect."""

    nodes: tuple  # Concat, its mirror Slice, the two halving Slices, Add, Mul
    cat_output: str  # the 2N-crop batch, read as ``crops`` once cut
    full: str  # the logits of all 2N crops
    logit: str  # the halved logit the rest of the graph reads


def _flip_patterns(g) -> list[_FlipCut]:
    """Every exported flip in ``g``: one for a single network, one per member of an ensemble.

    A flip is ``Concat(crops, Slice(crops))`` at the input and, at that network's output,
    ``Mul(Add(Slice(X), Slice(X)), 0.5)``. The halving is followed back to the Concat it came
    from, so that each member's pair is cut together; an ensemble's mean of the members'
    logits stays, which is exact: the mean of each member's crop and mirror average equals the
    average of the crop's and the mirror's member means (the runtime's mirror pass).
    """
    producer = {out: n for n in g.node for out in n.output}
    cats = {n.output[0]: n for n in g.node
            if n.op_type == "Concat" and len(n.input) == 2 and n.input[0] == "crops"
            and n.input[1] in producer and producer[n.input[1]].op_type == "Slice"
            and producer[n.input[1]].input[0] == "crops"}
    cuts: list[_FlipCut] = []
    for mul in g.node:
        add = producer.get(mul.input[0]) if mul.op_type == "Mul" and mul.input else None
        if add is None or add.op_type != "Add":
            continue
        halves = [producer.get(i) for i in add.input]
        if len(halves) != 2 or any(h is None or h.op_type != "Slice" for h in halves) \
                or halves[0].input[0] != halves[1].input[0]:
            continue
        cat = _upstream_cat(halves[0].input[0], producer, cats)
        if cat is None:
            continue
        cuts.append(_FlipCut((cat, producer[cat.input[1]], halves[0], halves[1], add, mul),
                             cat.output[0], halves[0].input[0], mul.output[0]))
    # Every flip cut, each Concat once: anything else is not the exported pattern.
    one_each = len({id(cut.nodes[0]) for cut in cuts}) == len(cuts) == len(cats)
    return cuts if one_each else []


def _upstream_cat(name: str, producer: dict, cats: dict):
    """The flip Concat that ``name`` is computed from (its inputs walked back), or None."""
    seen, todo = set(), [name]
    while todo:
        cur = todo.pop()
        if cur in cats:
            return cats[cur]
        if cur in seen or cur not in producer:
            continue
        seen.add(cur)
        todo.extend(producer[cur].input)
    return None


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
