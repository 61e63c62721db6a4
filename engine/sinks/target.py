"""Output paths, checked before a run starts: what a sink may write to, and how.

A summary that cannot be written used to be discovered at the end of a run (a CSV pointed at a
folder was lost after the whole screening), and the CSV's atomic replace turned ``/dev/null``
into a plain file when run as root. So every file output is checked when it is asked for:

- a folder is a usage error (exit 2) at once;
- an existing special file (``/dev/null``, ``/dev/full``, a FIFO) is written *in place*, never
  replaced; outputs that cannot be written that way (a video) refuse it;
- the parent folder is created and a probe file written and removed when the run opens its
  sinks, so an unwritable or read-only folder fails before the first frame.
"""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.errors import UsageError


@dataclass(frozen=True)
class OutputTarget:
    """A checked output path.

    Attributes:
        path: where the output goes.
        option: how the user named it (``--summary``), for messages.
        special: an existing non-regular file (device, FIFO): write it in place.
    """

    path: Path
    option: str
    special: bool = False

    def probe(self) -> None:
        """Create the parent folder and prove it writable (a special file is left alone).

        Raises:
            UsageError: the folder cannot be created or written.
        """
        if self.special:
            return
        parent = self.path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".probe",
                                        dir=parent)
            os.close(fd)
            os.unlink(name)
            if self.path.exists():  # an existing file must also take writes (not read-only)
                with open(self.path, "a", encoding="utf-8"):
                    pass
        except OSError as exc:
            raise UsageError(
                f"{self.option} {self.path}: cannot write there: {exc.strerror or exc}"
            ) from exc


def check_output(path: str | Path, option: str, *, special_ok: bool = True) -> OutputTarget:
    """Check ``path`` as the file of output ``option`` (no side effect; see :meth:`probe`).

    Args:
        path: the file the user gave.
        option: the option's name, for messages.
        special_ok: an existing device or FIFO may be written in place (else: refused).

    Raises:
        UsageError: a folder, a special file where none is allowed, or a parent that is a file.
    """
    target = Path(path)
    try:
        mode = target.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):  # the latter: a parent is a file
        mode = None
    except OSError as exc:
        raise UsageError(f"{option} {target}: {exc.strerror or exc}") from exc
    if mode is not None and stat.S_ISDIR(mode):
        raise UsageError(f"{option} {target} is a folder: give a file name")
    if mode is not None and not stat.S_ISREG(mode):
        if not special_ok:
            raise UsageError(f"{option} {target} is not a regular file (a device or a pipe)")
        return OutputTarget(target, option, special=True)
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"{option} {target}: {parent} is a file, not a folder")
            break
    return OutputTarget(target, option)
