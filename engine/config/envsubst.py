"""``${NAME}`` references in a config file, expanded from the environment when it is loaded.

Camera URLs carry passwords; a config file is shared, versioned and pasted into tickets. So the
file names the variable that holds the secret (``source: ${CAM1_URL}``, as in Docker Compose)
and deepscreen reads it at start. ``${NAME:-default}`` gives a default, ``$${`` writes a
literal ``${``. A variable that is not set (and has no default) is an error, never an empty
camera URL.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

_REF = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


class EnvError(ValueError):
    """A ``${NAME}`` whose variable is not set, or a malformed reference."""


def has_reference(text: str) -> bool:
    """True when ``text`` names at least one environment variable."""
    return any(m.group("name") for m in _REF.finditer(text))


def expand(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with every ``${NAME}`` replaced by the variable's value.

    Raises:
        EnvError: a variable that is not set and has no default, or a ``${`` that is not a
            well-formed reference.
    """
    env = os.environ if environ is None else environ

    def value(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group("name"), match.group("default")
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise EnvError(f"${{{name}}} is not set in the environment")

    out = _REF.sub(value, text)
    rest = _REF.sub("", text)
    if "${" in rest:
        raise EnvError("a '${' that is not a ${NAME} reference (write $${ for a literal one)")
    return out
