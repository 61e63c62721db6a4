"""Peak and current memory of this process, read from /proc (no psutil needed).

``VmHWM`` is the kernel's high-water mark of the resident set: it covers everything the
process ever held, native allocations of ONNX Runtime and OpenCV included.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path


def _status_kib(field: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB."""
    kib = _status_kib("VmHWM")
    if kib is None:  # no procfs (macOS): getrusage reports bytes there, KiB on Linux
        usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        kib = usage // 1024 if sys.platform == "darwin" else usage
    return kib / 1024.0


def current_rss_mib() -> float:
    """Current resident set size of this process, in MiB (NaN where /proc is missing)."""
    kib = _status_kib("VmRSS")
    return float("nan") if kib is None else kib / 1024.0


def reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark to the current RSS (Linux >= 4.0, needs write access).

    Lets a benchmark report the peak of each configuration rather than of the whole run.

    Returns:
        True when the reset worked.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True
