"""One face detector per smallest face size, sharing one set of networks.

Streams may search for different smallest faces (a wide corridor camera needs 24 px, a door
camera 80 px); MTCNN's image pyramid depends on that size, its networks do not, so each size
gets a light copy of the detector instead of a second load of the networks.
"""

from __future__ import annotations

from engine.protocols import FaceDetector


class DetectorSizes:
    """The run's detector, and copies of it for other smallest face sizes.

    Args:
        detector: the detector built for ``min_face``.
        min_face: the smallest face side ``detector`` searches for.

    A detector without ``with_min_face`` (anything but MTCNN) serves every size as it is.
    """

    def __init__(self, detector: FaceDetector, min_face: int) -> None:
        self.base = detector
        self._by_size: dict[int, FaceDetector] = {int(min_face): detector}

    def __call__(self, min_face: int) -> FaceDetector:
        """The detector that searches for faces of at least ``min_face`` pixels."""
        found = self._by_size.get(min_face)
        if found is None:
            copy = getattr(self.base, "with_min_face", None)
            found = self._by_size[min_face] = copy(min_face) if copy else self.base
        return found
