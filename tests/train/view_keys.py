"""A fixed two-image view plan and its cache key, for the tests that pin the key.

Caches built before an option existed must keep their key (they are reused), and a plan that
turns the option on must never reuse them: each test changes one option of
:func:`reference_plan` and compares :func:`key_of` the result with the reference key.
"""

from __future__ import annotations

from engine.preprocess import InputContract
from train.augment import AugmentConfig
from train.data import Face
from train.labelled import Sample
from train.sbi import SBIConfig
from train.view_cache import ViewPlan, cache_key

SAMPLES = [Sample("/data/a.jpg", 1, "x/fake", "train", "a"),
           Sample("/data/b.jpg", 0, "x/real", "train", "b")]
FACES = {s.path: Face((10.0, 20.0, 110.0, 140.0), None, False) for s in SAMPLES}


def reference_plan() -> ViewPlan:
    """Three augmented views per image, no self-blends, every option at its default."""
    return ViewPlan(views=3, sbi_views=0, augment=AugmentConfig(), sbi=SBIConfig())


def key_of(plan: ViewPlan) -> str:
    """The cache key of ``plan`` over the two fixed images, default contract, a fixed stem."""
    return cache_key(SAMPLES, FACES, InputContract(), plan, "stem-abc")
