"""The TFLite MobileNet import matches ai-edge-litert; torchvision backbones load by name.

The TFLite files and images live in ../shared (never committed): those tests skip without it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.shared_data import REPO, shared_path

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from engine.errors import ModelError  # noqa: E402
from train.backbones import (  # noqa: E402
    MobileNetV1,
    MobileNetV2,
    create_backbone,
    freeze_through,
    normalize_rgb,
)
from train.backbones.tflite_reader import dequantize, read_tflite  # noqa: E402

WEIGHTS = REPO.parent / "shared" / "weights" / "mobilenet-imagenet-int8"
V2_FILES = ("mobilenet_v2_1.0_224_quant.tflite", "tf2_mobilenet_v2_1.0_224_ptq.tflite")
ALL_FILES = (*V2_FILES, "mobilenet_v1_0.5_160_quant.tflite", "mobilenet_v1_0.25_128_quant.tflite")
# Ten real photos from different shared sources: portraits, a group shot, face crops.
IMAGES = (
    "images/grace_hopper_512x512.jpg",
    "images/multiface.jpg",
    "images/celebrities/angelina_jolie_1.jpg",
    "images/celebrities/kate_siegel_1.jpg",
    "images/celebrities/paul_rudd_1.jpg",
    "images/celebrities/shea_whigham_1.jpg",
    "faces/lfw/real/Leah_Remini_0001.jpg",
    "faces/imfdb/real/HrithikRoshan_116.jpg",
    "faces/ffhq-vs-stylegan1/real/01019.jpg",
    "faces/dfdc-faces/real/lrcvyjskwj.jpg",
)


def _weights(name: str) -> Path:
    path = WEIGHTS / name
    if not path.is_file():
        pytest.skip(f"shared weights not present: {path}")
    return path


def _rgb(relative: str, size: int) -> np.ndarray:
    cv2 = pytest.importorskip("cv2")
    bgr = cv2.imread(str(shared_path(*relative.split("/"))))
    assert bgr is not None, relative
    return cv2.cvtColor(
        cv2.resize(bgr, (size, size), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB
    )


def _labels() -> list[str]:
    return _weights("imagenet_labels.txt").read_text().splitlines()


def _litert_logits(path: Path, batch: np.ndarray) -> np.ndarray:
    """Dequantized pre-softmax logits from the int8/uint8 interpreter, one image at a time."""
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    graph = read_tflite(path)
    softmax = next(op for op in graph.operators if op.opcode == "SOFTMAX")
    logits_index = softmax.inputs[0]
    interpreter = litert.Interpreter(str(path), experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    details = next(d for d in interpreter.get_tensor_details() if d["index"] == logits_index)
    scale, zero = details["quantization"]
    out = []
    for image in batch:
        interpreter.set_tensor(input_index, image[None])
        interpreter.invoke()
        q = interpreter.get_tensor(logits_index).astype(np.float32).reshape(-1)
        out.append((q - zero) * scale if scale else q)
    return np.stack(out)


@pytest.mark.slow
@pytest.mark.parametrize("filename", ALL_FILES)
def test_pytorch_import_agrees_with_litert(filename: str, record_property) -> None:
    path = _weights(filename)
    family = "mobilenet_v1_tflite" if "v1" in filename else "mobilenet_v2_tflite"
    model, info = create_backbone(family, path)
    size = info.input_size[0]
    batch = np.stack([_rgb(rel, size) for rel in IMAGES])
    with torch.no_grad():
        ours = model(normalize_rgb(batch)).numpy()
    theirs = _litert_logits(path, batch)
    agree = int((ours.argmax(1) == theirs.argmax(1)).sum())
    max_diff = float(np.abs(ours - theirs).max())
    record_property("top1_agreement", agree)
    record_property("max_abs_logit_diff", max_diff)
    print(f"{filename}: top-1 agreement {agree}/{len(IMAGES)}, max |logit diff| {max_diff:.3f}")
    assert agree >= 9, f"{filename}: top-1 agrees on {agree}/10 images only"


@pytest.mark.parametrize("filename", V2_FILES)
def test_grace_hopper_is_military_uniform(filename: str) -> None:
    model, info = create_backbone("mobilenet_v2_tflite", _weights(filename))
    image = _rgb("images/grace_hopper_512x512.jpg", 224)
    with torch.no_grad():
        top1 = int(model(normalize_rgb(image[None])).argmax(1))
    assert _labels()[top1] == "military uniform"
    assert info.num_features == 1280 and info.input_size == (224, 224)


def test_reader_decodes_quantization_and_options() -> None:
    graph = read_tflite(_weights(V2_FILES[0]))
    stem = graph.operators[0]
    assert stem.opcode == "CONV_2D"
    expected = {"padding": "SAME", "stride": (2, 2), "dilation": (1, 1), "activation": "RELU6"}
    assert stem.options == expected
    weight = graph.tensor(stem.inputs[1])
    assert weight.shape == (32, 3, 3, 3) and weight.dtype == np.uint8
    bias = graph.tensor(stem.inputs[2])
    assert bias.dtype == np.int32
    assert np.isfinite(dequantize(weight)).all() and dequantize(bias).dtype == np.float32
    assert sum(op.opcode == "ADD" for op in graph.operators) == 10
    # The TF2 file is int8 with one scale per output channel.
    per_axis = read_tflite(_weights(V2_FILES[1]))
    conv = next(op for op in per_axis.operators if op.opcode == "CONV_2D")
    quant = per_axis.tensor(conv.inputs[1]).quantization
    assert quant.axis == 0 and quant.scale.shape == (32,)


def test_mobilenet_shapes_and_freezing_without_weights() -> None:
    model = MobileNetV2()
    assert len(model.features) == 19 and model.block_names[6] == "expanded_conv_5"
    with torch.no_grad():
        for size in (128, 160, 224):
            x = torch.zeros(1, 3, size, size)
            assert model.features[:7](x).shape == (1, 32, size // 8, size // 8)
            assert model.forward_features(x).shape == (1, 1280, size // 32, size // 32)
            assert model(x).shape == (1, 1001)
    frozen = freeze_through(model, "expanded_conv_5")
    assert frozen == 7
    assert not any(p.requires_grad for p in model.features[:7].parameters())
    assert all(p.requires_grad for p in model.features[7:].parameters())
    v1 = MobileNetV1(0.25)
    assert len(v1.features) == 14 and v1(torch.zeros(1, 3, 128, 128)).shape == (1, 1001)


def test_wrong_tflite_file_is_a_clear_error() -> None:
    from train.backbones import load_tflite_weights

    with pytest.raises(ModelError, match="wrong architecture"):
        load_tflite_weights(MobileNetV2(), _weights("mobilenet_v1_0.25_128_quant.tflite"))
    with pytest.raises(ModelError, match="not a MobileNetV2"):
        create_backbone("mobilenet_v2_tflite", _weights("mobilenet_v1_0.5_160_quant.tflite"))
    with pytest.raises(ModelError, match="shape"):
        load_tflite_weights(MobileNetV1(0.5), _weights("mobilenet_v1_0.25_128_quant.tflite"))


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small"])
def test_torchvision_backbone_from_user_weights(name: str, tmp_path: Path) -> None:
    import torchvision

    reference = torchvision.models.get_model(name, weights=None).eval()
    weights = tmp_path / f"{name}.pth"
    torch.save(reference.state_dict(), weights)
    backbone, info = create_backbone(name, weights)
    backbone.eval()
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        features = backbone(x)
    assert info.source == "torchvision" and info.module_output == "pooled_features"
    assert features.shape == (2, info.num_features)
    # The loaded weights are the saved ones: the body reproduces the reference's penultimate layer.
    penultimate = {}
    head = reference.fc if name == "resnet18" else reference.classifier[-1]
    head.register_forward_hook(lambda _m, inp, _out: penultimate.setdefault("x", inp[0]))
    with torch.no_grad():
        reference(x)
    torch.testing.assert_close(features, penultimate["x"])


def test_mismatched_torchvision_weights_is_a_clear_error(tmp_path: Path) -> None:
    import torchvision

    weights = tmp_path / "resnet34.pth"
    torch.save(torchvision.models.resnet34(weights=None).state_dict(), weights)
    with pytest.raises(ModelError, match="does not fit backbone 'resnet18'.*unexpected"):
        create_backbone("resnet18", weights)
    weights = tmp_path / "mobilenet_v3_large.pth"
    torch.save(torchvision.models.mobilenet_v3_large(weights=None).state_dict(), weights)
    with pytest.raises(ModelError, match="shape mismatch"):
        create_backbone("mobilenet_v3_small", weights)


def test_expanded_conv_5_features_match_litert() -> None:
    """The block the trainer freezes through: PyTorch vs the interpreter's own activation."""
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    path = _weights(V2_FILES[0])
    model, _ = create_backbone("mobilenet_v2_tflite", path)
    graph = read_tflite(path)
    index = next(
        op.outputs[0]
        for op in graph.operators
        if op.opcode == "ADD" and "expanded_conv_5/" in graph.tensor(op.outputs[0]).name
    )
    image = _rgb("images/grace_hopper_512x512.jpg", 224)
    interpreter = litert.Interpreter(str(path), experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image[None])
    interpreter.invoke()
    details = next(d for d in interpreter.get_tensor_details() if d["index"] == index)
    scale, zero = details["quantization"]
    theirs = (interpreter.get_tensor(index).astype(np.float32) - zero) * scale
    with torch.no_grad():
        ours = model.features[:7](normalize_rgb(image[None])).permute(0, 2, 3, 1).numpy()
    assert ours.shape == theirs.shape == (1, 28, 28, 32)
    # Off by about one int8 step on average; a padding error would wreck the borders.
    assert np.corrcoef(ours.ravel(), theirs.ravel())[0, 1] > 0.99
    assert np.abs(ours - theirs).mean() < 2 * scale


def test_trunk_state_dict_loads_exactly_as_the_tflite_file(tmp_path) -> None:
    """The device pack ships the trunk as a .pt (no tflite package there): same tensors."""
    from train.models import create_model
    from train.models.mobilenet_detector import save_trunk

    tflite = _weights("mobilenet_v2_1.0_224_quant.tflite")
    pt = save_trunk(tflite, tmp_path / "trunk.pt")
    a, b = (create_model("mobilenet_detector", {"spectral_hidden": 0}) for _ in range(2))
    assert a.load_backbone(tflite) == b.load_backbone(pt) > 0
    sa, sb = a.state_dict(), b.state_dict()
    trunk = [k for k in sa if k.startswith(("stem.", "body."))]
    assert trunk and all(torch.equal(sa[k], sb[k]) for k in trunk)
    torch.save({"not": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ModelError, match="not a MobileNetV2 trunk"):
        a.load_backbone(tmp_path / "other.pt")
