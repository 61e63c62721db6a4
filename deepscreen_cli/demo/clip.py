"""Assemble the built-in demo clip from the two public-domain portraits shipped in the package.

The clip needs no downloads and no shared data. It has four segments of a few seconds each:

=====================  =====  ====================================================
segment                truth  content
=====================  =====  ====================================================
hopper                 real   Grace Hopper's US Navy portrait, slow zoom
hopper-swapped         fake   the same shot with the astronaut's face blended in
astronaut              real   NASA astronaut portrait (Eileen Collins), slow pan
astronaut-swapped      fake   the same shot with Grace Hopper's face blended in
=====================  =====  ====================================================

Each real/fake pair uses the same camera motion, so the only difference the engine can see is
the swap. The motion (a slow pan and zoom, re-sampled every frame) makes the detector and the
tracker do real work. The swap is done once on the still portrait by
:func:`deepscreen_cli.demo.face_swap.swap_face` and then filmed like the real one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import cv2
import numpy as np

from deepscreen_cli.demo.face_swap import swap_face
from engine.errors import InputError, ModelError, UsageError
from engine.paths import ASSETS_DIR
from engine.types import Detection

PORTRAITS = {"hopper": "grace_hopper_512x512.jpg", "astronaut": "astronaut_512x512.jpg"}
CLIP_NAME = "demo_clip.mp4"
MANIFEST_NAME = "demo_segments.json"
STILLS_NAME = "demo_stills.png"

Truth = Literal["real", "fake"]


class FaceDetector(Protocol):
    """What the clip builder needs from a detector (``engine.detect.MTCNNDetector`` fits)."""

    def detect(self, image_bgr: np.ndarray) -> list[Detection]: ...


@dataclass(frozen=True)
class Motion:
    """A slow camera move over a still: zoom and centre are interpolated with ease-in-out.

    Attributes:
        scale: (start, end) magnification of the 512x512 still on the output canvas.
        centre: ((x, y) start, (x, y) end): the still's pixel that sits at the canvas centre.
    """

    scale: tuple[float, float]
    centre: tuple[tuple[float, float], tuple[float, float]]


# Scales >= 1.25 keep a 512x512 still covering the whole 640x480 canvas: no borders, whose
# hard edges would be the sharpest thing in the frame.
MOTIONS: dict[str, Motion] = {
    "hopper": Motion(scale=(1.25, 1.45), centre=((256.0, 240.0), (265.0, 215.0))),
    "astronaut": Motion(scale=(1.35, 1.7), centre=((270.0, 210.0), (228.0, 150.0))),
}


@dataclass(frozen=True)
class Segment:
    """One stretch of the clip with a known ground truth.

    Attributes:
        name: short id ("hopper-swapped").
        truth: "real" or "fake".
        start_frame: first frame index (inclusive).
        end_frame: last frame index (exclusive).
        fps: frame rate of the clip, to turn frames into seconds.
        description: one line for people.
    """

    name: str
    truth: Truth
    start_frame: int
    end_frame: int
    fps: float
    description: str

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame

    @property
    def start_t(self) -> float:
        return self.start_frame / self.fps

    @property
    def end_t(self) -> float:
        return self.end_frame / self.fps

    def contains_frame(self, index: int) -> bool:
        return self.start_frame <= index < self.end_frame


@dataclass(frozen=True)
class DemoClip:
    """The assembled clip on disk and its ground truth.

    Attributes:
        path: the mp4 file (OpenCV mp4v).
        manifest: JSON file with the segment list (same content as ``segments``).
        stills: PNG with the four stills side by side (real and swapped), for people to look at.
        fps: frames per second.
        size: (width, height) in pixels.
        segments: in time order, covering every frame exactly once.
        swap_alignment_error: mean landmark error of each swap after alignment, in pixels.
    """

    path: Path
    manifest: Path
    stills: Path
    fps: float
    size: tuple[int, int]
    segments: list[Segment]
    swap_alignment_error: dict[str, float] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return self.segments[-1].end_frame if self.segments else 0

    def segment_of(self, frame_index: int) -> Segment | None:
        """The segment a frame index belongs to, or None past the end."""
        for seg in self.segments:
            if seg.contains_frame(frame_index):
                return seg
        return None


def load_portrait(name: str) -> np.ndarray:
    """Read one shipped portrait ("hopper" or "astronaut") as a BGR uint8 image."""
    if name not in PORTRAITS:
        raise InputError(f"unknown portrait {name!r}; choose from {sorted(PORTRAITS)}")
    path = ASSETS_DIR / PORTRAITS[name]
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ModelError(f"demo asset missing or unreadable: {path} (reinstall deepscreen)")
    return image


def default_detector() -> FaceDetector:
    """The packaged MTCNN detector, or a clear error when it is not available."""
    try:
        from engine.detect import MTCNNDetector
    except ImportError as exc:
        raise ModelError(f"the MTCNN face detector is not available: {exc}") from exc
    return MTCNNDetector(min_face=20)


def _main_face(detector: FaceDetector, image: np.ndarray, name: str) -> Detection:
    faces = detector.detect(image)
    if not faces:
        raise ModelError(f"the detector found no face in the demo portrait {name!r}")
    # The portraits hold one person; the largest confident box is that person.
    return max(faces, key=lambda d: d.width * d.height * d.score)


def make_stills(detector: FaceDetector) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """The four stills of the demo: both portraits, and each with the other's face swapped in.

    Returns:
        (stills, errors): stills keyed "hopper", "hopper-swapped", "astronaut",
        "astronaut-swapped"; errors maps each swapped still to its landmark alignment error.
    """
    hopper, astronaut = load_portrait("hopper"), load_portrait("astronaut")
    f_hopper = _main_face(detector, hopper, "hopper")
    f_astro = _main_face(detector, astronaut, "astronaut")
    to_hopper = swap_face(astronaut, f_astro, hopper, f_hopper)
    to_astro = swap_face(hopper, f_hopper, astronaut, f_astro)
    stills = {
        "hopper": hopper,
        "hopper-swapped": to_hopper.image,
        "astronaut": astronaut,
        "astronaut-swapped": to_astro.image,
    }
    errors = {
        "hopper-swapped": to_hopper.alignment_error,
        "astronaut-swapped": to_astro.alignment_error,
    }
    return stills, errors


def _ease(u: float) -> float:
    # Smoothstep: the camera starts and stops gently instead of jerking at segment cuts.
    return u * u * (3.0 - 2.0 * u)


def render_frame(
    still: np.ndarray, motion: Motion, u: float, size: tuple[int, int]
) -> np.ndarray:
    """Film a still at progress ``u`` in [0, 1] of its camera move onto a canvas of ``size``."""
    e = _ease(min(max(u, 0.0), 1.0))
    s = motion.scale[0] + (motion.scale[1] - motion.scale[0]) * e
    (x0, y0), (x1, y1) = motion.centre
    cx, cy = x0 + (x1 - x0) * e, y0 + (y1 - y0) * e
    w, h = size
    m = np.array([[s, 0.0, w / 2 - s * cx], [0.0, s, h / 2 - s * cy]])
    return cv2.warpAffine(
        still, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )


SEGMENT_PLAN: tuple[tuple[str, str, Truth, str], ...] = (
    ("hopper", "hopper", "real", "Grace Hopper, US Navy portrait (public domain), slow zoom"),
    ("hopper-swapped", "hopper", "fake", "same shot, the astronaut's face swapped in"),
    ("astronaut", "astronaut", "real", "NASA astronaut portrait (public domain), slow pan"),
    ("astronaut-swapped", "astronaut", "fake", "same shot, Grace Hopper's face swapped in"),
)


def plan_segments(fps: float, seconds_per_segment: float) -> list[Segment]:
    """The segment list (names, truths, frame ranges) without rendering anything."""
    n = max(1, int(round(seconds_per_segment * fps)))
    return [
        Segment(name, truth, i * n, (i + 1) * n, fps, desc)
        for i, (name, _motion, truth, desc) in enumerate(SEGMENT_PLAN)
    ]


def build_demo_clip(
    out_dir: str | Path,
    detector: FaceDetector | None = None,
    fps: float = 15.0,
    seconds_per_segment: float = 3.0,
    size: tuple[int, int] = (640, 480),
) -> DemoClip:
    """Write the demo clip, its segment manifest and a stills preview into ``out_dir``.

    Args:
        out_dir: folder to write into (created if missing).
        detector: face detector with 5 landmarks; the packaged MTCNN when None.
        fps: frame rate of the clip.
        seconds_per_segment: length of each of the four segments.
        size: (width, height) of the clip.

    Returns:
        The :class:`DemoClip` describing what was written.

    Raises:
        ModelError: when the detector or an asset is missing, or no face is found.
        UsageError: for a non-positive fps or segment length.
        InputError: when the video cannot be written.
    """
    if fps <= 0 or seconds_per_segment <= 0:
        raise UsageError("fps and seconds_per_segment must be positive")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stills, errors = make_stills(detector or default_detector())
    segments = plan_segments(fps, seconds_per_segment)
    path = out / CLIP_NAME
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise InputError(f"OpenCV cannot write an mp4v video to {path}")
    try:
        for seg, (_, motion_key, _, _) in zip(segments, SEGMENT_PLAN, strict=True):
            still, motion = stills[seg.name], MOTIONS[motion_key]
            for k in range(seg.frames):
                u = k / max(1, seg.frames - 1)
                writer.write(render_frame(still, motion, u, size))
    finally:
        writer.release()

    manifest = out / MANIFEST_NAME
    manifest.write_text(
        json.dumps(
            {
                "clip": path.name,
                "fps": fps,
                "size": list(size),
                "segments": [asdict(s) for s in segments],
                "swap_alignment_error_px": errors,
            },
            indent=2,
        )
    )
    preview = out / STILLS_NAME
    cv2.imwrite(str(preview), _preview(stills, [s.name for s in segments]))
    return DemoClip(path, manifest, preview, fps, size, segments, errors)


def _preview(stills: dict[str, np.ndarray], order: Sequence[str]) -> np.ndarray:
    tiles = [cv2.resize(stills[name], (256, 256), interpolation=cv2.INTER_AREA) for name in order]
    return np.hstack(tiles)
