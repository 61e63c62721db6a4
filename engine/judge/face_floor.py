"""The vote floor: faces smaller than the detector was validated on get no vote.

A face crop whose face side (native pixels, :attr:`engine.judge.quality.CropQuality.side`) is
below the floor is still tracked, classified and reported, but its p_fake does not enter any
vote (:class:`engine.judge.stream_vote.StreamJudge`). A stream in which no face ever reached
the floor ends "no decision" with :data:`TOO_SMALL` (exit 4), never "real": the engine does
not vouch for faces it cannot judge.

The floor belongs to the model (each model is validated on its own): export writes it into the
ONNX metadata (``deepscreen.min_face_px``, :data:`engine.backends.model_traits.KEY_MIN_FACE_PX`);
``--vote-min-face`` (or ``vote_min_face`` in a screen config, per stream too) overrides it; a
model without the key gets :data:`DEFAULT_MIN_FACE_PX`.

How the floor is chosen (``deepscreen evaluate --quality-bins ... --bin-sides ...``, table in
engine/models/MODEL_CARD.md): the smallest face-side bin edge from which every bin up has AUC
>= 0.75 *and* TPR >= 0.5 at the model's threshold. AUC alone is not enough: the shipped v9
still ranks small faces fairly (AUC 0.81 at 40-44 px) but at its threshold passes most small
fakes as real (TPR 0.40), which is exactly the "real" an abstain rule must not give.
Sharpness gives no second floor: the engine's Laplacian is per native pixel, so small faces read
sharp, and the soft bins that hold both classes (faces >= 64 px) all have AUC 0.867-0.976.
"""

from __future__ import annotations

# v9's floor (sha256 de7b92cf), measured with `deepscreen evaluate --quality-bins
# 1,0.5,0.25,0.15,0.1 --bin-sides 20,24,28,32,36,40,44,48,56,64,80,96,160 --limit 150` on the
# 2-core dev box: 40-44 px TPR 0.397, 44-48 px 0.582 and every larger bin >= 0.556, AUC >= 0.797.
# The shipped file carries no key: writing one would change its sha256, which every figure and
# event since v9 cites; so models without the key get this value.
DEFAULT_MIN_FACE_PX = 44.0

# The no-decision reason of a stream whose faces were all below the floor (the console prints
# "no decision: " before it).
TOO_SMALL = "faces too small or soft"
# The confirmation check that fails on small faces (engine/judge/confirm.py): the same cause.
CONFIRM_TOO_SMALL = "face too small"


def vote_floor(option: float | None, model_px: float | None) -> float:
    """The floor a stream runs with: the option when set, else the model's, else the default.

    Args:
        option: ``--vote-min-face`` / ``vote_min_face`` (None = not set).
        model_px: the model's own floor from its metadata (None = the file has none).
    """
    if option is not None:
        return float(option)
    return float(model_px) if model_px is not None else DEFAULT_MIN_FACE_PX
