"""Classifier models. Importing this package registers every model constructor."""

from train.models import ensemble as _ensemble  # noqa: F401  (registers)
from train.models import mobilenet_detector as _mobilenet_detector  # noqa: F401  (registers)
from train.models import spatial_spectral as _spatial_spectral  # noqa: F401  (registers)
from train.models.catalog import (
    config_to_dict,
    create_model,
    list_models,
    model_config,
    register_model,
)

__all__ = ["config_to_dict", "create_model", "list_models", "model_config", "register_model"]
