"""Per-face features computed beside the classifier (the spectral fingerprint of Durall et al.)."""

from engine.features.spectral import (
    SpectralFeature,
    describe_backend,
    radial_spectrum,
    radial_spectrum_reference,
)

__all__ = [
    "SpectralFeature",
    "describe_backend",
    "radial_spectrum",
    "radial_spectrum_reference",
]
