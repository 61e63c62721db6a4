"""The screening config file: ``deepscreen screen --config screen.yaml``.

:func:`load_screen_file` reads and checks one (errors name the key and the line);
:mod:`engine.config.build` turns it into the engine's configuration.
"""

from engine.config.load import (
    ConfigError,
    LoadedConfig,
    Problem,
    apply_flags,
    load_screen_file,
    parse_screen_file,
    show_text,
)
from engine.config.schema import ScreenFile

__all__ = [
    "ConfigError",
    "LoadedConfig",
    "Problem",
    "ScreenFile",
    "apply_flags",
    "load_screen_file",
    "parse_screen_file",
    "show_text",
]
