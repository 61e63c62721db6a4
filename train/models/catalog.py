"""The model catalog (timm-style): named constructors, each with its own config dataclass.

A checkpoint stores ``model_name`` and the config as a plain dict, so any registered model can be
rebuilt without pickled classes (``torch.load(weights_only=True)`` stays possible).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

from engine.errors import UsageError


@dataclass(frozen=True)
class ModelEntry:
    """One registered constructor.

    Attributes:
        name: catalog name (used in configs and checkpoints).
        config_cls: the dataclass holding this model's hyper-parameters.
        build: function taking a ``config_cls`` instance and returning an ``nn.Module``.
        defaults: default field values this name applies on top of ``config_cls()``.
    """

    name: str
    config_cls: type
    build: Callable[[Any], Any]
    defaults: dict[str, Any]


_CATALOG: dict[str, ModelEntry] = {}


def register_model(name: str, config_cls: type, **defaults: Any) -> Callable:
    """Decorator registering ``fn(config) -> nn.Module`` under ``name``.

    Args:
        name: catalog name, unique.
        config_cls: config dataclass of this model.
        **defaults: config overrides that define this variant (e.g. a narrower width).
    """

    def wrap(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        if name in _CATALOG:
            raise ValueError(f"model {name!r} registered twice")
        _CATALOG[name] = ModelEntry(name, config_cls, fn, dict(defaults))
        return fn

    return wrap


def list_models() -> list[str]:
    """Names of all registered models, sorted."""
    return sorted(_CATALOG)


def model_config(name: str, overrides: dict[str, Any] | None = None) -> Any:
    """The config dataclass instance for ``name`` with ``overrides`` applied.

    Raises:
        UsageError: unknown model name or unknown config key.
    """
    entry = _entry(name)
    allowed = {f.name for f in fields(entry.config_cls)}
    values = dict(entry.defaults)
    for key, value in (overrides or {}).items():
        if key not in allowed:
            raise UsageError(f"model {name!r} has no config key {key!r} (known: {sorted(allowed)})")
        values[key] = value
    # JSON/YAML give lists; the dataclasses use tuples so configs stay hashable.
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return entry.config_cls(**values)


def create_model(name: str, overrides: dict[str, Any] | None = None) -> Any:
    """Build the registered model ``name`` (config defaults, then ``overrides``)."""
    return _entry(name).build(model_config(name, overrides))


def config_to_dict(config: Any) -> dict[str, Any]:
    """Config dataclass -> dict of primitives (tuples become lists) for checkpoints."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}


def _entry(name: str) -> ModelEntry:
    try:
        return _CATALOG[name]
    except KeyError:
        known = ", ".join(list_models())
        raise UsageError(f"unknown model {name!r}; registered: {known}") from None
