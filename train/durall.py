"""Durall et al.'s classifiers on 1D spectra, their evaluation protocol, and ONNX export.

Protocol of the paper ("Unmasking DeepFakes with simple features"): random 80/20 train/test
splits, accuracy averaged over 10 runs, for logistic regression, a linear SVM, an RBF SVM and
k-means (2 clusters, mapped to the class most of their training members have). Every classifier
sees standardised features (a StandardScaler fitted on the training split).

Inputs are either an NPZ with ``spectra`` (N, bins) and ``is_fake`` (N,) (the shared Durall
files, or the output of ``deepscreen spectra compute``), or image folders labelled by real*/fake*
folder names (see :mod:`train.splits`), whose spectra are computed with
:func:`engine.features.radial_spectrum` from the centre-cropped image, never resized.

A fitted linear model (scaler + LR or linear SVM) exports to a plain ONNX graph (Sub, Div,
MatMul, Add, Sigmoid) built with ``onnx.helper``, so the runtime needs ONNX Runtime only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import InputError, UsageError
from engine.io import IMAGE_SUFFIXES

CLASSIFIERS = ("lr", "svm_linear", "svm_rbf", "kmeans")
CLASSIFIER_NAMES = {
    "lr": "logistic regression",
    "svm_linear": "SVM (linear)",
    "svm_rbf": "SVM (RBF)",
    "kmeans": "k-means (2 clusters)",
}
# Per-frame accuracies the paper reports for the shared NPZ files (by file stem).
PAPER_ACCURACY = {
    "durall_celeba_low_1000": {"lr": 1.00, "svm_linear": 1.00, "kmeans": 0.96},
    "durall_test_1000": {"lr": 0.78, "svm_linear": 0.85},
}


@dataclass
class SpectraSet:
    """Spectra with labels. ``sources`` names where each row came from (folder or file)."""

    spectra: np.ndarray
    is_fake: np.ndarray
    sources: list[str] = field(default_factory=list)
    name: str = ""


@dataclass(frozen=True)
class ClassifierScore:
    """Accuracy of one classifier over the runs."""

    classifier: str
    mean: float
    std: float
    runs: tuple[float, ...]
    paper: float | None = None


@dataclass(frozen=True)
class ProtocolResult:
    """The protocol's outcome on one data set."""

    name: str
    n_samples: int
    n_fake: int
    bins: int
    runs: int
    test_size: float
    scores: tuple[ClassifierScore, ...]


def load_npz(path: str | Path) -> SpectraSet:
    """Read ``spectra`` and ``is_fake`` from an NPZ (the shared Durall files or our own)."""
    path = Path(path)
    try:
        data = np.load(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    if "spectra" not in data or "is_fake" not in data:
        raise InputError(f"{path}: needs arrays 'spectra' and 'is_fake', has {list(data)}")
    spectra = np.asarray(data["spectra"], dtype=np.float64)
    is_fake = np.asarray(data["is_fake"]).astype(np.int64).ravel()
    if spectra.ndim != 2 or len(spectra) != len(is_fake):
        raise InputError(f"{path}: spectra {spectra.shape} and is_fake {is_fake.shape} disagree")
    return SpectraSet(spectra, is_fake, [path.stem] * len(is_fake), path.stem)


def spectra_from_folder(folder: str | Path, bins: int = 80, limit: int | None = None) -> SpectraSet:
    """Our feature for every image below ``folder`` that sits in a real*/fake* folder.

    Args:
        folder: a tree with real*/fake* folders (e.g. faces/ffhq-vs-stylegan1), or one such folder.
        bins: spectrum length.
        limit: at most this many images per source (taken in sorted order), for quick runs.
    """
    import cv2

    from engine.features import radial_spectrum
    from train.splits import split_tree

    items = split_tree(folder, val=0.0, test=0.0).items
    per_source: dict[str, int] = {}
    crops, labels, sources = [], [], []
    for item in items:
        if Path(item.path).suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if limit is not None and per_source.get(item.source, 0) >= limit:
            continue
        img = cv2.imread(str(item.path))
        if img is None:
            raise InputError(f"cannot decode image {item.path}")
        per_source[item.source] = per_source.get(item.source, 0) + 1
        crops.append(img)
        labels.append(item.label)
        sources.append(item.source)
    if not crops:
        raise UsageError(f"no labelled image below {folder}")
    spectra = radial_spectrum(crops, bins).astype(np.float64)
    return SpectraSet(spectra, np.asarray(labels, np.int64), sources, Path(folder).name)


def load_inputs(
    inputs: Sequence[str | Path], bins: int = 80, limit: int | None = None
) -> SpectraSet:
    """Concatenate NPZ files and image folders into one set (all must share ``bins``)."""
    sets = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            sets.append(spectra_from_folder(p, bins, limit))
        elif p.suffix == ".npz" and p.is_file():
            sets.append(load_npz(p))
        else:
            raise UsageError(f"not an .npz file or a folder: {p}")
    widths = {s.spectra.shape[1] for s in sets}
    if len(widths) != 1:
        raise UsageError(f"inputs have different spectrum lengths {sorted(widths)}; use one --bins")
    return SpectraSet(
        np.concatenate([s.spectra for s in sets]),
        np.concatenate([s.is_fake for s in sets]),
        [src for s in sets for src in s.sources],
        "+".join(s.name for s in sets),
    )


def divide_by_first(data: SpectraSet) -> SpectraSet:
    """The paper's normalisation (each spectrum over its first value) applied to any spectra.

    For our mean-normalised feature this gives exactly the paper's ``s / s[0]``.
    """
    first = data.spectra[:, :1]
    if np.any(first == 0):
        raise InputError("a spectrum starts with 0: cannot divide by the first value")
    return SpectraSet(data.spectra / first, data.is_fake, data.sources, data.name)


def make_classifier(kind: str, seed: int = 0):
    """A scikit-learn pipeline (StandardScaler + model) for one of :data:`CLASSIFIERS`."""
    from sklearn.cluster import KMeans
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    models = {
        "lr": lambda: LogisticRegression(max_iter=5000),
        "svm_linear": lambda: SVC(kernel="linear"),
        "svm_rbf": lambda: SVC(kernel="rbf", gamma="scale"),
        "kmeans": lambda: KMeans(n_clusters=2, n_init=10, random_state=seed),
    }
    if kind not in models:
        raise UsageError(f"unknown classifier {kind!r}; choose from {CLASSIFIERS}")
    return make_pipeline(StandardScaler(), models[kind]())


def _kmeans_accuracy(model, x_train, y_train, x_test, y_test) -> float:
    # Clusters carry no label: each takes the majority label of its training members.
    train_clusters = model.predict(x_train)
    mapping = {}
    for c in (0, 1):
        members = y_train[train_clusters == c]
        mapping[c] = int(np.round(members.mean())) if len(members) else c
    pred = np.vectorize(mapping.get)(model.predict(x_test))
    return float(np.mean(pred == y_test))


def evaluate_protocol(
    data: SpectraSet,
    classifiers: Sequence[str] = CLASSIFIERS,
    runs: int = 10,
    test_size: float = 0.2,
    seed: int = 0,
) -> ProtocolResult:
    """Durall's protocol: ``runs`` random stratified splits, mean and std of test accuracy."""
    from sklearn.model_selection import train_test_split

    if len(np.unique(data.is_fake)) != 2:
        raise UsageError("need both real and fake samples")
    if not 0 < test_size < 1:
        raise UsageError(f"test size must be in (0, 1), got {test_size}")
    accs: dict[str, list[float]] = {k: [] for k in classifiers}
    for run in range(runs):
        x_tr, x_te, y_tr, y_te = train_test_split(
            data.spectra, data.is_fake, test_size=test_size, random_state=seed + run,
            stratify=data.is_fake,
        )
        for kind in classifiers:
            model = make_classifier(kind, seed + run)
            if kind == "kmeans":
                model.fit(x_tr)
                accs[kind].append(_kmeans_accuracy(model, x_tr, y_tr, x_te, y_te))
            else:
                model.fit(x_tr, y_tr)
                accs[kind].append(float(np.mean(model.predict(x_te) == y_te)))
    paper = PAPER_ACCURACY.get(data.name, {})
    scores = tuple(
        ClassifierScore(k, float(np.mean(v)), float(np.std(v)), tuple(v), paper.get(k))
        for k, v in accs.items()
    )
    return ProtocolResult(data.name, len(data.is_fake), int(data.is_fake.sum()),
                          data.spectra.shape[1], runs, test_size, scores)


@dataclass
class LinearSpectralModel:
    """Scaler + linear decision function, the part of a fitted model that goes into ONNX.

    ``decision = ((x - mean) / scale) @ coef + intercept``;
    ``p_fake = sigmoid(slope * decision + offset)`` (identity calibration for LR, Platt
    scaling fitted on the training decisions for the SVM).
    """

    kind: str
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    slope: float = 1.0
    offset: float = 0.0
    pipeline: object = None

    def decision(self, spectra: np.ndarray) -> np.ndarray:
        return ((spectra - self.mean) / self.scale) @ self.coef + self.intercept

    def p_fake(self, spectra: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.slope * self.decision(spectra) + self.offset)))


def fit_linear(data: SpectraSet, kind: str = "lr") -> LinearSpectralModel:
    """Fit LR or a linear SVM on all of ``data`` for export."""
    from sklearn.linear_model import LogisticRegression

    if kind not in ("lr", "svm_linear"):
        raise UsageError(f"only linear models export to ONNX ('lr', 'svm_linear'), not {kind!r}")
    pipe = make_classifier(kind)
    pipe.fit(data.spectra, data.is_fake)
    scaler, clf = pipe[0], pipe[-1]
    model = LinearSpectralModel(kind, scaler.mean_.copy(), scaler.scale_.copy(),
                                clf.coef_.ravel().astype(np.float64).copy(),
                                float(np.ravel(clf.intercept_)[0]), pipeline=pipe)
    if kind == "svm_linear":
        decisions = pipe.decision_function(data.spectra)[:, None]
        platt = LogisticRegression().fit(decisions, data.is_fake)
        model.slope, model.offset = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    return model


def export_onnx(model: LinearSpectralModel, path: str | Path, threshold: float = 0.5) -> Path:
    """Write the model as ONNX: input ``spectrum`` (N, bins) float32 -> ``decision``, ``p_fake``.

    Metadata: the classifier contract (``deepscreen.spectrum_bins``, ``deepscreen.threshold``)
    plus ``deepscreen.model = spectral-<kind>`` and the feature definition's name.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from engine.preprocess import InputContract

    bins = len(model.mean)
    f32 = np.float32
    inits = [
        numpy_helper.from_array(model.mean.astype(f32), "mean"),
        numpy_helper.from_array(model.scale.astype(f32), "scale"),
        numpy_helper.from_array(model.coef.astype(f32).reshape(bins, 1), "coef"),
        numpy_helper.from_array(np.array([model.intercept], f32), "intercept"),
        numpy_helper.from_array(np.array([model.slope], f32), "slope"),
        numpy_helper.from_array(np.array([model.offset], f32), "offset"),
    ]
    nodes = [
        helper.make_node("Sub", ["spectrum", "mean"], ["centred"]),
        helper.make_node("Div", ["centred", "scale"], ["standard"]),
        helper.make_node("MatMul", ["standard", "coef"], ["dot"]),
        helper.make_node("Add", ["dot", "intercept"], ["decision"]),
        helper.make_node("Mul", ["decision", "slope"], ["scaled"]),
        helper.make_node("Add", ["scaled", "offset"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["p_fake"]),
    ]
    graph = helper.make_graph(
        nodes, f"spectral_{model.kind}",
        [helper.make_tensor_value_info("spectrum", TensorProto.FLOAT, ["N", bins])],
        [helper.make_tensor_value_info("decision", TensorProto.FLOAT, ["N", 1]),
         helper.make_tensor_value_info("p_fake", TensorProto.FLOAT, ["N", 1])],
        inits,
    )
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                                   producer_name="deepscreen.train.durall")
    onnx_model.ir_version = 8  # readable by ONNX Runtime >= 1.14
    meta = InputContract(spectrum_bins=bins, threshold=threshold).to_metadata()
    meta["deepscreen.model"] = f"spectral-{model.kind}"
    meta["deepscreen.feature"] = "engine.features.spectral (radial spectrum, mean-normalised)"
    helper.set_model_props(onnx_model, meta)
    onnx.checker.check_model(onnx_model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(onnx_model, path)
    return path


def format_result(result: ProtocolResult) -> str:
    """Markdown table of one protocol result (used by the CLI and the docs)."""
    lines = [
        f"{result.name}: {result.n_samples} spectra ({result.n_fake} fake), {result.bins} bins, "
        f"{result.runs} random {1 - result.test_size:.0%}/{result.test_size:.0%} splits",
        "",
        "| classifier | accuracy (mean +- std) | paper |",
        "| --- | --- | --- |",
    ]
    for s in result.scores:
        paper = f"{s.paper:.2f}" if s.paper is not None else "-"
        name = CLASSIFIER_NAMES[s.classifier]
        lines.append(f"| {name} | {s.mean:.3f} +- {s.std:.3f} | {paper} |")
    return "\n".join(lines)
