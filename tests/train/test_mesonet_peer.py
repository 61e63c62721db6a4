"""MesoNet peer: Keras .h5 import proven against an independent numpy forward pass, and on data.

The weight files live in ../shared/weights/mesonet and the face crops in ../shared/data; tests
that need them skip cleanly when they are absent. The error-path tests build their own small
HDF5 files and always run.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
torch = pytest.importorskip("torch")

from tests.shared_data import REPO, shared_path  # noqa: E402
from train.peers import KerasH5Error, Meso4, MesoInception4, MesoNetPeer  # noqa: E402
from train.peers.mesonet import load_mesonet  # noqa: E402

WEIGHTS = REPO.parent / "shared" / "weights" / "mesonet"


def weights_file(name: str) -> Path:
    path = WEIGHTS / name
    if not path.is_file():
        pytest.skip(f"shared weights not present: {path}")
    return path


# ---------------------------------------------------------------- numpy reference (NHWC, Keras)


def _np_conv_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, dilation: int = 1):
    """Keras Conv2D(padding="same", stride 1) on HWC with an HWIO kernel, then ReLU."""
    kh, kw, _, c_out = kernel.shape
    ph, pw = dilation * (kh // 2), dilation * (kw // 2)
    h, w, _ = x.shape
    padded = np.pad(x, ((ph, ph), (pw, pw), (0, 0)))
    out = np.zeros((h, w, c_out), dtype=np.float64)
    for dy in range(kh):
        for dx in range(kw):
            window = padded[dy * dilation : dy * dilation + h, dx * dilation : dx * dilation + w]
            out += window @ kernel[dy, dx].astype(np.float64)
    return np.maximum(out + bias, 0.0)


def _np_bn(x: np.ndarray, group, eps: float = 1e-3) -> np.ndarray:
    gamma, beta, mean, var = (
        group[f"{k}:0"][()] for k in ("gamma", "beta", "moving_mean", "moving_variance")
    )
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _np_pool(x: np.ndarray, k: int) -> np.ndarray:
    h, w, c = x.shape
    return x.reshape(h // k, k, w // k, k, c).max(axis=(1, 3))


def _np_head(x: np.ndarray, f, dense: tuple[str, str], leaky: bool) -> float:
    flat = x.reshape(-1)  # Keras Flatten: NHWC order
    d1, d2 = (f[name][name] for name in dense)
    hidden = flat @ d1["kernel:0"][()] + d1["bias:0"][()]
    if leaky:
        hidden = np.where(hidden > 0, hidden, 0.1 * hidden)
    # The logit, not the sigmoid: a saturated p(real) near 1 would hide a wrong layout.
    return float((hidden @ d2["kernel:0"][()] + d2["bias:0"][()])[0])


def numpy_meso4(path: Path, image_hwc: np.ndarray, leaky: bool) -> float:
    """The p(real) logit of Meso4 straight from the h5 datasets; no conversion code shared."""
    with h5py.File(path, "r") as f:
        x = image_hwc.astype(np.float64)
        for i, pool in zip((5, 6, 7, 8), (2, 2, 2, 4), strict=True):
            conv = f[f"conv2d_{i}"][f"conv2d_{i}"]
            x = _np_conv_same(x, conv["kernel:0"][()], conv["bias:0"][()])
            x = _np_bn(x, f[f"batch_normalization_{i}"][f"batch_normalization_{i}"])
            x = _np_pool(x, pool)
        return _np_head(x, f, ("dense_3", "dense_4"), leaky)


def numpy_mesoinception4(path: Path, image_hwc: np.ndarray, leaky: bool) -> float:
    """The p(real) logit of MesoInception-4 (conv2d_1..16 in construction order)."""
    with h5py.File(path, "r") as f:

        def conv(x, i, dilation=1):
            g = f[f"conv2d_{i}"][f"conv2d_{i}"]
            return _np_conv_same(x, g["kernel:0"][()], g["bias:0"][()], dilation)

        def inception(x, first):  # branches: 1x1 | 1x1,3x3 | 1x1,3x3 d2 | 1x1,3x3 d3
            i = first
            return np.concatenate(
                [
                    conv(x, i),
                    conv(conv(x, i + 1), i + 2),
                    conv(conv(x, i + 3), i + 4, 2),
                    conv(conv(x, i + 5), i + 6, 3),
                ],
                axis=-1,
            )

        def bn(x, i):
            return _np_bn(x, f[f"batch_normalization_{i}"][f"batch_normalization_{i}"])

        x = image_hwc.astype(np.float64)
        x = _np_pool(bn(inception(x, 1), 1), 2)
        x = _np_pool(bn(inception(x, 8), 2), 2)
        x = _np_pool(bn(conv(x, 15), 3), 2)
        x = _np_pool(bn(conv(x, 16), 4), 4)
        return _np_head(x, f, ("dense_1", "dense_2"), leaky)


def _test_image() -> np.ndarray:
    """One 256x256 RGB image in [0, 1]: a real DFDC face when present, else smooth noise."""
    manifest = REPO.parent / "shared" / "data" / "faces" / "dfdc-faces" / "manifest.csv"
    if manifest.is_file():
        first = sorted(r["path"] for r in csv.DictReader(manifest.open()) if r["label"] == "real")
        bgr = cv2.imread(str(manifest.parent / first[0]))
    else:
        rng = np.random.default_rng(0)
        bgr = cv2.GaussianBlur(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8), (7, 7), 2)
    peer = MesoNetPeer(model=Meso4())
    return peer.preprocess([bgr])[0].transpose(1, 2, 0)


# ---------------------------------------------------------------- the real weights


@pytest.mark.parametrize("name", ["Meso4_DF.h5", "Meso4_F2F.h5"])
def test_meso4_weights_load(name):
    peer = MesoNetPeer.from_h5(weights_file(name))
    assert isinstance(peer.model, Meso4)
    assert not peer.model.training
    assert peer.name.startswith("MesoNet-4")
    n_params = sum(p.numel() for p in peer.model.parameters())
    assert n_params == 27_977  # the paper's Meso-4 count


@pytest.mark.parametrize(
    ("name", "reference", "leaky"),
    [
        ("Meso4_DF.h5", numpy_meso4, False),  # as the file lists its layers
        ("Meso4_DF.h5", numpy_meso4, True),  # as the authors' code builds it
        ("Meso4_F2F.h5", numpy_meso4, False),
        ("MesoInception_DF.h5", numpy_mesoinception4, True),
    ],
)
def test_matches_numpy_forward_pass(name, reference, leaky):
    path = weights_file(name)
    image = _test_image()
    model, _ = load_mesonet(path, leaky_relu=leaky)
    logits = []
    hook = model.head.fc2.register_forward_hook(lambda _m, _i, out: logits.append(out))
    with torch.no_grad():
        p_real = float(model(torch.from_numpy(image.transpose(2, 0, 1)[None].copy()))[0])
    hook.remove()
    ours = float(logits[0][0, 0])
    expected = reference(path, image, leaky)
    assert abs(ours - expected) < 1e-4, (ours, expected)
    assert abs(p_real - 1 / (1 + np.exp(-expected))) < 1e-6


def test_leaky_relu_follows_the_file():
    meso4, kw4 = load_mesonet(weights_file("Meso4_DF.h5"))
    assert isinstance(meso4.head.act, torch.nn.Identity)
    assert not kw4.layers_of_kind("leaky_re_lu")
    inception, _ = load_mesonet(weights_file("MesoInception_DF.h5"))
    assert isinstance(inception, MesoInception4)
    assert isinstance(inception.head.act, torch.nn.LeakyReLU)


def test_score_is_one_minus_p_real_in_unit_interval():
    peer = MesoNetPeer.from_h5(weights_file("Meso4_DF.h5"), batch_size=3)
    rng = np.random.default_rng(1)
    crops = [rng.integers(0, 256, (s, s, 3), dtype=np.uint8) for s in (64, 180, 256, 300, 512)]
    p_fake = peer.score(crops)
    assert p_fake.shape == (5,) and p_fake.dtype == np.float32
    assert np.all((p_fake >= 0) & (p_fake <= 1))
    with torch.no_grad():
        p_real = peer.model(torch.from_numpy(peer.preprocess(crops))).numpy()
    np.testing.assert_allclose(p_fake, 1 - p_real, atol=1e-6)
    assert peer.score([]).shape == (0,)


def _pairs(n_videos: int) -> tuple[list[Path], np.ndarray]:
    """The real and fake crop of the first ``n_videos`` source videos (sorted by name)."""
    root = shared_path("faces", "dfdc-faces")
    by_video: dict[str, dict[str, str]] = {}
    for row in csv.DictReader((root / "manifest.csv").open()):
        by_video.setdefault(row["source_video"], {})[row["label"]] = row["path"]
    videos = sorted(v for v, d in by_video.items() if {"real", "fake"} <= d.keys())[:n_videos]
    paths = [root / by_video[v]["real"] for v in videos] + [
        root / by_video[v]["fake"] for v in videos
    ]
    return paths, np.r_[np.zeros(len(videos)), np.ones(len(videos))]


@pytest.mark.slow
def test_meso4_df_beats_chance_on_dfdc_pairs():
    from sklearn.metrics import roc_auc_score

    peer = MesoNetPeer.from_h5(weights_file("Meso4_DF.h5"))
    paths, labels = _pairs(150)
    crops = [cv2.imread(str(p)) for p in paths]  # dfdc-faces files are already face crops
    auc = roc_auc_score(labels, peer.score(crops))
    assert auc > 0.55, auc  # measured 0.626 on these 150 pairs (0.610 on 1,000)


# ---------------------------------------------------------------- clear errors (no shared data)


def _write_fake_meso4(path: Path, dense_in: int = 1024, n_conv: int = 4) -> None:
    """A Keras-2 save_weights layout with random Meso4-shaped weights."""
    rng = np.random.default_rng(0)
    layers: list[tuple[str, dict[str, tuple[int, ...]]]] = []
    shapes = [(3, 3, 3, 8), (5, 5, 8, 8), (5, 5, 8, 16), (5, 5, 16, 16)][:n_conv]
    for i, shape in enumerate(shapes, start=1):
        layers.append((f"conv2d_{i}", {"kernel": shape, "bias": shape[-1:]}))
        c = shape[-1:]
        layers.append(
            (
                f"batch_normalization_{i}",
                {"gamma": c, "beta": c, "moving_mean": c, "moving_variance": c},
            )
        )
    layers.append(("dense_1", {"kernel": (dense_in, 16), "bias": (16,)}))
    layers.append(("dense_2", {"kernel": (16, 1), "bias": (1,)}))
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([n.encode() for n, _ in layers])
        for name, weights in layers:
            g = f.create_group(name)
            g.attrs["weight_names"] = np.array([f"{name}/{w}:0".encode() for w in weights])
            for w, shape in weights.items():
                data = (
                    np.abs(rng.normal(size=shape))
                    if w == "moving_variance"
                    else rng.normal(size=shape)
                )
                g.create_dataset(f"{name}/{w}:0", data=data.astype(np.float32))


def test_synthetic_meso4_file_loads(tmp_path):
    path = tmp_path / "meso4.h5"
    _write_fake_meso4(path)
    p_fake = MesoNetPeer.from_h5(path).score([np.zeros((100, 100, 3), np.uint8)])
    assert p_fake.shape == (1,) and 0 <= p_fake[0] <= 1


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        MesoNetPeer.from_h5(tmp_path / "nope.h5")


def test_not_hdf5_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.h5"
    path.write_bytes(b"not an hdf5 file")
    with pytest.raises(KerasH5Error, match="not an HDF5 file"):
        MesoNetPeer.from_h5(path)


def test_wrong_shape_is_a_clear_error(tmp_path):
    path = tmp_path / "wide.h5"
    _write_fake_meso4(path, dense_in=2048)
    with pytest.raises(KerasH5Error, match=r"dense_1/kernel has shape \(2048, 16\)"):
        MesoNetPeer.from_h5(path)


def test_missing_layers_is_a_clear_error(tmp_path):
    path = tmp_path / "short.h5"
    _write_fake_meso4(path, n_conv=3)
    with pytest.raises(KerasH5Error, match="neither a Meso-4"):
        MesoNetPeer.from_h5(path)


def test_non_keras_hdf5_is_a_clear_error(tmp_path):
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(KerasH5Error, match="not a Keras weights file"):
        MesoNetPeer.from_h5(path)
