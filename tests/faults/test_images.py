"""Bad images: each is reported on its own and the rest of the folder is screened; a huge
image is decoded with a bounded pixel count (a 12000x12000 JPEG once took 7.4 GB)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from engine.errors import InputError
from engine.io.image_header import image_dimensions
from engine.io.images import MAX_IMAGE_PIXELS, decode_image, read_image
from tests.faults.cli import ASTRONAUT, assert_clean, model_args, read_summary, run_measured

FORMATS = (".png", ".jpg", ".bmp", ".webp", ".ppm", ".pgm", ".tiff", ".jp2")


def _big_jpeg(side: int = 12000) -> np.ndarray:
    """A side x side JPEG at low quality: about 1.7 MB on disk, 432 MB once decoded whole."""
    gray = np.full((side, side), 128, np.uint8)
    ok, buf = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, 10])
    assert ok
    return buf


@pytest.mark.parametrize("suffix", FORMATS)
def test_header_gives_the_size_without_decoding(suffix) -> None:
    image = np.random.default_rng(0).integers(0, 255, (37, 53, 3), dtype=np.uint8)
    if suffix == ".pgm":
        image = image[:, :, 0]
    ok, buf = cv2.imencode(suffix, image)
    if not ok:
        pytest.skip(f"OpenCV cannot encode {suffix} here")
    assert image_dimensions(buf) == (53, 37)
    assert image_dimensions(buf[:5]) is None or suffix in (".ppm", ".pgm")


def test_huge_jpeg_is_decoded_scaled_down_by_libjpeg() -> None:
    out = decode_image(_big_jpeg(), "big.jpg")
    assert out.shape == (3000, 3000, 3)  # 1/4 scale: the first that fits 4096 x 4096
    assert out.shape[0] * out.shape[1] <= MAX_IMAGE_PIXELS


def test_huge_png_is_refused_by_its_header_before_decoding() -> None:
    ok, buf = cv2.imencode(".png", np.zeros((300, 400, 3), np.uint8))
    with pytest.raises(InputError, match=r"400x300 .*scale it down"):
        decode_image(buf, "wide.png", max_pixels=1000, max_decode_pixels=50_000)
    # Under the decode bound but over the pixel bound: shrunk, aspect ratio kept.
    small = decode_image(buf, "wide.png", max_pixels=30_000, max_decode_pixels=200_000)
    assert small.shape[0] * small.shape[1] <= 30_000 and small.shape[1] > small.shape[0]


def test_unreadable_files_are_input_errors(tmp_path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image\n")
    for name in ("empty.jpg", "text.png", "missing.jpg"):
        with pytest.raises(InputError, match=name):
            read_image(tmp_path / name)


def test_folder_of_bad_images_screens_the_good_ones(tmp_path) -> None:
    """One folder with every kind of image trouble, a unicode name, and non-image files: the
    decodable images are screened, each bad one is one line, memory stays bounded."""
    rng = np.random.default_rng(1)
    folder = tmp_path / "фото 顔"
    folder.mkdir()
    (folder / "a-astronaut.jpg").write_bytes(ASTRONAUT.read_bytes())
    _big_jpeg().tofile(str(folder / "b-huge.jpg"))
    cv2.imencode(".png", rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))[1].tofile(
        str(folder / "c-noise.png"))
    cv2.imencode(".png", np.zeros((1, 1, 3), np.uint8))[1].tofile(str(folder / "d-1x1.png"))
    cv2.imencode(".png", (rng.integers(0, 65535, (64, 64), dtype=np.uint16)))[1].tofile(
        str(folder / "e-16bit.png"))
    # A PNG named .jpg: read as what it is.
    cv2.imencode(".png", rng.integers(0, 255, (48, 48, 3), dtype=np.uint8))[1].tofile(
        str(folder / "f-mislabelled.jpg"))
    (folder / "g-empty.jpg").write_bytes(b"")
    (folder / "h-text.png").write_text("this is not a picture\n")
    (folder / "i-truncated.jpg").write_bytes(ASTRONAUT.read_bytes()[:200])
    (folder / "notes.txt").write_text("not an image suffix: not read\n")
    (folder / "clip.mp4").write_bytes(b"")
    summary = tmp_path / "summary.csv"
    run = run_measured(str(folder), *model_args(), "--summary", str(summary), "--json",
                       "--detect-every", "1")
    assert_clean(run, (0, 3, 4))
    assert json.loads(run.stdout)["exit_code"] == run.returncode
    (row,) = read_summary(summary)
    assert row["stream"] == "фото 顔"
    # a, b, c, d, e, f are screened (i may decode partially: libjpeg pads a cut-off JPEG).
    assert int(row["processed"]) in (6, 7), row
    assert int(row["errors"]) == 9 - int(row["processed"]), row
    for name in ("g-empty.jpg", "h-text.png"):
        assert sum(name in line for line in run.stderr.splitlines()) == 1, run.stderr
    # The 12000 px JPEG went through at 3000 px: far from the 7.4 GB of a full decode.
    assert run.maxrss_mb < 1500, run.maxrss_mb


def test_empty_folder_is_a_usage_error(tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("no image here\n")
    run = run_measured(str(tmp_path), *model_args())
    assert_clean(run, 2)
    assert "no images in folder" in run.stderr
