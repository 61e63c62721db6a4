"""The C heap of a long-running engine: glibc's statistics and handing free pages back.

Why this exists: a screening process decodes megabytes of frames per second in several reader
threads and frees them on the scheduler thread. glibc keeps freed memory inside its per-thread
arenas; with a steady churn of differently sized frames, crops and ONNX Runtime buffers the free
space fragments, and the process RSS creeps up for minutes although the memory in use is flat
(measured with ``bench/soak.py``: see docs/SOURCES.md). ``malloc_trim(0)`` walks every arena and
returns whole free pages to the kernel (``MADV_DONTNEED``), which brings RSS back to what is in
use. It takes a few milliseconds, so the scheduler calls it every few seconds, not per frame.

The second measure is :func:`set_mmap_threshold`: glibc serves blocks above a threshold with
their own ``mmap`` and unmaps them on free, but by default it raises that threshold (up to
32 MiB) the first time such a block is freed, after which every decoded frame comes from the
arenas and fragments them. With the threshold fixed below a frame's size, a frame that does not
fit in free heap space gets its own mapping instead of growing an arena. The pipeline does both.

On a C library other than glibc (musl, macOS) these functions are harmless no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from dataclasses import dataclass
from functools import lru_cache

MIB = 1024.0 * 1024.0
# mallopt parameter number of M_MMAP_THRESHOLD in glibc's <malloc.h>.
_M_MMAP_THRESHOLD = -3
# glibc reads this variable at start-up; when a user set it, the pipeline leaves it alone.
MMAP_THRESHOLD_ENV = "MALLOC_MMAP_THRESHOLD_"


class _Mallinfo2(ctypes.Structure):
    # struct mallinfo2 of glibc >= 2.33: ten size_t fields, in this order.
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


@dataclass(frozen=True)
class HeapStats:
    """glibc's view of the C heap, in MiB.

    Attributes:
        in_use_mb: allocated and not yet freed (arena chunks in use + mmapped blocks).
        free_mb: freed but kept by the allocator inside its arenas (fragmentation shows here).
        mmapped_mb: large blocks served directly by ``mmap`` (returned to the kernel on free).
    """

    in_use_mb: float
    free_mb: float
    mmapped_mb: float


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    # Only glibc has both symbols; musl has neither, macOS has neither.
    if not hasattr(libc, "malloc_trim") or not hasattr(libc, "mallinfo2"):
        return None
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    libc.malloc_trim.restype = ctypes.c_int
    libc.mallinfo2.argtypes = []
    libc.mallinfo2.restype = _Mallinfo2
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    return libc


def heap_supported() -> bool:
    """True when the process runs on glibc (>= 2.33) and the functions below do something."""
    return _libc() is not None


def heap_stats() -> HeapStats | None:
    """Current C heap statistics, or None when the C library is not glibc (>= 2.33)."""
    libc = _libc()
    if libc is None:
        return None
    mi = libc.mallinfo2()
    return HeapStats(
        in_use_mb=(mi.uordblks + mi.hblkhd) / MIB,
        free_mb=mi.fordblks / MIB,
        mmapped_mb=mi.hblkhd / MIB,
    )


def trim_heap() -> bool:
    """Return free heap pages of every glibc arena to the kernel.

    Returns:
        True when memory was released, False when there was nothing to release or the C
        library is not glibc.
    """
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.malloc_trim(0))


def set_mmap_threshold(nbytes: int) -> bool:
    """Give allocations of at least ``nbytes`` their own mmap, for the whole process.

    glibc still serves such a block from free heap space when it fits; only instead of growing
    an arena for it does it map (and on free, unmap) it. Setting the threshold also turns off
    glibc's dynamic threshold. Does nothing when the process was
    started with ``MALLOC_MMAP_THRESHOLD_`` in its environment (the user's choice wins).

    Returns:
        True when the threshold was set.
    """
    libc = _libc()
    if libc is None or MMAP_THRESHOLD_ENV in os.environ:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, int(nbytes)))
