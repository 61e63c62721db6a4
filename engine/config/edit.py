"""Write one stream's threshold into a config file, keeping every comment and line around it.

A config file is written by people (comments, order, ``${NAME}`` references); rewriting it
through a YAML dumper would lose all of that. So the edit is a single line: the stream's
``threshold:`` line replaced, or a new one inserted as the stream's first key, with the
indentation of its siblings; the result is read back to prove the value landed.
"""

from __future__ import annotations

import re

from engine.config.yaml_lines import load_lined
from engine.errors import UsageError


def set_stream_threshold(text: str, stream: str, value: float, note: str = "") -> str:
    """``text`` with ``streams.<stream>.threshold`` set to ``value`` (4 decimals).

    Args:
        note: a comment for the line (what the value rests on).

    Raises:
        UsageError: no such stream, or a stream written in flow style (``{...}``).
    """
    doc = load_lined(text)
    streams = (doc.data or {}).get("streams") or {}
    if stream not in streams:
        raise UsageError(f"no stream {stream!r} in the config file")
    lines = text.splitlines(keepends=True)
    own = sorted(line for path, line in doc.lines.items()
                 if len(path) == 3 and path[:2] == ("streams", stream))
    head = doc.lines[("streams", stream)]
    if not own or own[0] == head:
        raise UsageError(f"stream {stream!r} is written on one line ({{...}}): give it a block "
                         "of keys to let calibrate write its threshold")
    comment = f"  # {note}" if note else ""
    entry = f"threshold: {value:.4f}{comment}"
    at = doc.lines.get(("streams", stream, "threshold"))
    if at is not None:
        old = lines[at - 1]
        indent = re.match(r"\s*", old).group(0)
        newline = "\n" if old.endswith("\n") else ""
        lines[at - 1] = f"{indent}{entry}{newline}"
    else:
        indent = re.match(r"\s*", lines[own[0] - 1]).group(0)
        lines.insert(head, f"{indent}{entry}\n")
    out = "".join(lines)
    check = load_lined(out).data["streams"][stream]
    if round(float(check.get("threshold", -1)), 4) != round(value, 4):
        raise UsageError(f"could not write the threshold of stream {stream!r} into the file")
    return out


def threshold_file(stream: str, value: float, note: str = "") -> str:
    """A small config file holding one stream's threshold (to merge into the site's file)."""
    comment = f"  # {note}" if note else ""
    return (f"# deepscreen calibrate: the threshold of stream {stream!r}; copy it into the\n"
            f"# stream's entry of the screening config file (screen --config).\n"
            f"streams:\n  {stream}:\n    threshold: {value:.4f}{comment}\n")
