"""Pretrained backbones: TFLite ImageNet MobileNets imported into PyTorch, torchvision, timm.

Entry point: :func:`create_backbone`. The MobileNet modules and the TFLite reader live in
:mod:`train.backbones.mobilenet` and :mod:`train.backbones.tflite_reader`.
"""

from train.backbones.mobilenet import (
    MobileNetV1,
    MobileNetV2,
    freeze_through,
    load_tflite_weights,
    mobilenet_from_tflite,
    normalize_rgb,
)
from train.backbones.pretrained import BackboneInfo, create_backbone, list_backbones

__all__ = [
    "BackboneInfo",
    "MobileNetV1",
    "MobileNetV2",
    "create_backbone",
    "freeze_through",
    "list_backbones",
    "load_tflite_weights",
    "mobilenet_from_tflite",
    "normalize_rgb",
]
