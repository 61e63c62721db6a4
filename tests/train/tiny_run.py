"""The smallest real training run: the config the slow tests train the MobileNet detector with.

One definition, so the tests that train for real (cached views, resume, twin pairs) differ only
in what they test: their data, their seed and the option under test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def tiny_config(run_dir: Path, cache: Path, data: dict[str, Any], *, seed: int = 5,
                spectral_hidden: int = 8, sbi_views: int = 1, epochs: int = 2,
                **cache_options: Any) -> dict[str, Any]:
    """A raw config (for ``config_from_dict``): a 64 px MobileNet detector with a 16-channel
    neck, two cached views per image and ``sbi_views`` self-blends per real, trained
    ``epochs`` epochs in batches of 8 on one thread.

    Args:
        data: the data section; ``cache_dir`` (= ``cache``) is added to it.
        cache_options: more keys of the cache section (e.g. ``pair_weight``).
    """
    return {
        "run_dir": str(run_dir),
        "seed": seed,
        "model": "mobilenet_detector",
        "model_config": {"neck_channels": 16, "spectral_hidden": spectral_hidden},
        "contract": {"input_size": 64, "spectrum_bins": 16, "margin": 0.25},
        "data": {**data, "cache_dir": str(cache)},
        "cache": {"views": 2, "sbi_views": sbi_views, "dir": str(cache / "views"),
                  **cache_options},
        "optim": {"epochs": epochs, "batch_size": 8, "threads": 1, "patience": 5,
                  "progress": False},
    }
