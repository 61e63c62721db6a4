"""The classifier's pixel path (engine/preprocess.py) on a real photograph."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.data import astronaut

from engine.preprocess import InputContract, prepare_crops

IMAGENET = InputContract(input_size=224, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))


def _by_formula(crop: np.ndarray, contract: InputContract) -> np.ndarray:
    """The contract written out pixel by pixel: RGB, resized, (v / 255 - mean) / std, CHW."""
    size = contract.input_size
    interp = cv2.INTER_AREA if max(crop.shape[:2]) > size else cv2.INTER_LINEAR
    rgb = cv2.cvtColor(cv2.resize(crop, (size, size), interpolation=interp), cv2.COLOR_BGR2RGB)
    mean = np.asarray(contract.mean, np.float32)[:, None, None]
    std = np.asarray(contract.std, np.float32)[:, None, None]
    return (rgb.transpose(2, 0, 1).astype(np.float32) / np.float32(255.0) - mean) / std


@pytest.mark.parametrize("contract", [IMAGENET, InputContract()], ids=["imagenet", "default"])
def test_crops_are_the_contract_bit_for_bit(contract) -> None:
    """Down- and upscaled face crops of the astronaut photo, and a grayscale one: the table
    lookup gives exactly the contract's float32 arithmetic, in RGB order."""
    bgr = cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR)
    face = bgr[20:220, 150:350]  # Eileen Collins' face and hair, 200 px
    crops = [face, cv2.resize(face, (90, 90)), np.ascontiguousarray(face[::-1])]
    gray = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)
    batch = prepare_crops([*crops, gray], contract)
    side = contract.input_size
    assert batch.shape == (4, 3, side, side) and batch.dtype == np.float32
    for got, crop in zip(batch, [*crops, cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)], strict=True):
        np.testing.assert_array_equal(got, _by_formula(crop, contract))
    # Channel order: skin is redder than it is blue, so plane 0 (red) is the brighter.
    assert batch[0, 0].mean() > batch[0, 2].mean()


def test_no_crops_give_an_empty_batch() -> None:
    assert prepare_crops([], IMAGENET).shape == (0, 3, 224, 224)
