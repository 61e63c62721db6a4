"""Cross-stream crop batcher: flush on size, on age, drain; real crops through the feature."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from engine.batching import CropBatcher, CropItem
from engine.features.spectral import SpectralFeature
from engine.preprocess import InputContract, prepare_crops


def item(stream_index: int, frame: int, crop: np.ndarray | None = None) -> CropItem:
    crop = np.zeros((32, 32, 3), np.uint8) if crop is None else crop
    return CropItem(stream=f"s{stream_index}", stream_index=stream_index, track=1,
                    frame_index=frame, t=frame / 25.0, crop=crop)


def test_flushes_when_full() -> None:
    b = CropBatcher(max_batch=3, max_wait_ms=1000)
    for i in range(2):
        b.add(item(0, i), now=0.0)
    assert not b.due(now=0.0)
    b.add(item(1, 0), now=0.0)
    assert b.due(now=0.0) and b.time_to_due(now=0.0) == 0.0
    batch = b.take()
    assert [(x.stream_index, x.frame_index) for x in batch] == [(0, 0), (0, 1), (1, 0)]
    assert len(b) == 0 and not b.due()


def test_flushes_when_the_oldest_crop_waited_max_wait() -> None:
    b = CropBatcher(max_batch=16, max_wait_ms=50)
    b.add(item(0, 0), now=10.0)
    b.add(item(1, 0), now=10.04)
    assert not b.due(now=10.049)
    assert b.time_to_due(now=10.02) == pytest.approx(0.03)
    assert b.due(now=10.05)
    assert len(b.take()) == 2


def test_take_keeps_fifo_order_across_streams_and_drain_splits() -> None:
    b = CropBatcher(max_batch=4, max_wait_ms=0)
    for f in range(5):
        for s in range(2):
            b.add(item(s, f))
    assert b.holds_stream(1)
    batches = b.drain()
    assert [len(x) for x in batches] == [4, 4, 2]
    order = [(x.frame_index, x.stream_index) for batch in batches for x in batch]
    assert order == sorted(order)
    assert not b.holds_stream(1) and b.time_to_due() is None


def test_bad_options() -> None:
    with pytest.raises(ValueError):
        CropBatcher(max_batch=0)
    with pytest.raises(ValueError):
        CropBatcher(max_wait_ms=-1)


def test_a_mixed_size_batch_goes_through_the_feature_and_preprocessing() -> None:
    # Crops of different native sizes from different streams share one batch: the spectral
    # feature groups them by size, the pixel path resizes each to the model's input.
    face = data.astronaut()[30:230, 150:350, ::-1].copy()  # BGR, 200x200
    crops = [face, face[:120, :120].copy(), np.ascontiguousarray(face[::2, ::2])]
    b = CropBatcher(max_batch=8, max_wait_ms=0)
    for i, c in enumerate(crops):
        b.add(item(i, 0, c))
    batch = b.take()
    contract = InputContract()
    spectrum = SpectralFeature(contract.spectrum_bins, backend="cpu")([x.crop for x in batch])
    pixels = prepare_crops([x.crop for x in batch], contract)
    assert spectrum.shape == (3, contract.spectrum_bins) and np.isfinite(spectrum).all()
    assert pixels.shape == (3, 3, contract.input_size, contract.input_size)
    # Each row is that crop's own spectrum, not a neighbour's.
    alone = SpectralFeature(contract.spectrum_bins, backend="cpu")([crops[1]])
    np.testing.assert_allclose(spectrum[1], alone[0], rtol=1e-6)
    assert not np.allclose(spectrum[0], spectrum[1])
