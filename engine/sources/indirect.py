"""Source specs that name where a camera URL is kept, so that it never is on a command line.

A URL with a password given as an argument is visible to every local user (``ps``,
``/proc/PID/cmdline``) and in shell history and unit files. Two spellings keep it out:

``env:NAME``   the value of the environment variable ``NAME`` (set by an ``EnvironmentFile=``,
               a Compose ``env_file`` or a Kubernetes ``secretKeyRef``);
``file:PATH``  the content of the file ``PATH`` (a Docker or Kubernetes secret mount), with
               surrounding whitespace removed; one URL per file.

Errors name the variable or the path, never the content.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from engine.errors import UsageError

_ENV = re.compile(r"^env:(?P<name>[A-Za-z_][A-Za-z0-9_]*)$")
_FILE_PREFIX = "file:"
_MAX_BYTES = 64 * 1024  # a URL, not a video: refuse to slurp a large file by mistake


def is_indirect(spec: str) -> bool:
    """True for ``env:NAME`` and ``file:PATH`` (``file://`` URLs are not indirect)."""
    return spec.startswith("env:") or (
        spec.startswith(_FILE_PREFIX) and not spec.startswith("file://"))


def resolve_spec(spec: str) -> str:
    """The source spec that ``env:NAME`` or ``file:PATH`` stands for; other specs unchanged.

    Raises:
        UsageError: a malformed ``env:`` name, an unset or empty variable, an unreadable,
            empty or oversized file.
    """
    if not is_indirect(spec):
        return spec
    if spec.startswith("env:"):
        match = _ENV.match(spec)
        if match is None:
            raise UsageError(f"{spec}: env: takes a variable name (letters, digits, _)")
        value = os.environ.get(match.group("name"), "").strip()
        if not value:
            raise UsageError(f"{spec}: the environment variable {match.group('name')} "
                             "is not set or empty")
        return value
    path = Path(spec[len(_FILE_PREFIX):]).expanduser()
    try:
        with path.open("rb") as fh:
            data = fh.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{spec}: cannot read the file ({exc.strerror})") from None
    if len(data) > _MAX_BYTES:
        raise UsageError(f"{spec}: the file is larger than {_MAX_BYTES} bytes; it should "
                         "hold one source URL")
    value = data.decode("utf-8", errors="replace").strip()
    if not value:
        raise UsageError(f"{spec}: the file is empty")
    if "\n" in value:
        raise UsageError(f"{spec}: the file holds several lines; give one URL per file")
    return value
