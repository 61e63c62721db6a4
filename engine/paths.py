"""Where the files shipped inside the runtime package live (models, assets, data).

One definition, so that code in other packages (the command line, the benchmark) finds the
shipped models without counting parent folders from its own location.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
MODELS_DIR = PACKAGE_DIR / "models"
ASSETS_DIR = PACKAGE_DIR / "assets"
DEFAULT_CLASSIFIER = MODELS_DIR / "classifier.onnx"
