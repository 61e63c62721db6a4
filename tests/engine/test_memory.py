"""engine.memory against the real glibc allocator of this process."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.memory import (
    MMAP_THRESHOLD_ENV,
    heap_stats,
    heap_supported,
    set_mmap_threshold,
    trim_heap,
)
from engine.rss import current_rss_mib

pytestmark = pytest.mark.skipif(not heap_supported(), reason="needs glibc >= 2.33")

BLOCK = 64 * 1024  # below glibc's mmap threshold: served from the heap, not by mmap
COUNT = 1600  # 100 MiB in total


def test_heap_stats_follow_allocations() -> None:
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    before = heap_stats()
    ptrs = [libc.malloc(BLOCK) for _ in range(COUNT)]
    try:
        during = heap_stats()
        assert during.in_use_mb - before.in_use_mb == pytest.approx(100.0, abs=10.0)
    finally:
        for p in ptrs:
            libc.free(p)
    after = heap_stats()
    assert after.in_use_mb < during.in_use_mb - 90.0


def test_trim_returns_fragmented_free_memory() -> None:
    """Free memory pinned below a live block stays in RSS until trim_heap() hands it back."""
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    trim_heap()
    ptrs = [libc.malloc(BLOCK) for _ in range(COUNT)]
    for p in ptrs:
        libc.memset(p, 1, BLOCK)  # touch the pages so they count in RSS
    pin = libc.malloc(BLOCK)  # a live block above the freed ones: the heap top cannot shrink
    try:
        for p in ptrs:
            libc.free(p)
        kept = current_rss_mib()
        assert heap_stats().free_mb > 90.0  # freed, but the allocator still holds it
        assert trim_heap()
        assert current_rss_mib() < kept - 80.0
    finally:
        libc.free(pin)


FRAME_CHURN = """
import ctypes, sys
from engine.memory import heap_stats, set_mmap_threshold
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
# Freeing one large mmapped block raises glibc's dynamic threshold to its size (4 MiB here),
# as the first freed video frame does in a real run.
libc.free(libc.malloc(4 << 20))
applied = set_mmap_threshold(512 * 1024) if sys.argv[1] == "on" else False
before = heap_stats().mmapped_mb
frames = [libc.malloc(640 * 480 * 3) for _ in range(8)]  # VGA BGR frames, 900 KiB each
print(applied, heap_stats().mmapped_mb - before)
"""


def _frame_churn(mode: str) -> tuple[bool, float]:
    env = {k: v for k, v in os.environ.items() if k != MMAP_THRESHOLD_ENV}
    out = subprocess.run([sys.executable, "-c", FRAME_CHURN, mode], capture_output=True,
                         text=True, check=True, env=env, cwd=Path(__file__).parents[2]).stdout
    applied, mmapped = out.split()
    return applied == "True", float(mmapped)


def test_fixed_mmap_threshold_keeps_frames_out_of_the_arenas() -> None:
    """With the threshold fixed, frame-sized blocks get their own mappings; without, the heap."""
    applied, mmapped = _frame_churn("on")
    assert applied and mmapped >= 6 * 0.87  # at most a couple served from free heap space
    applied, mmapped = _frame_churn("off")
    assert not applied and mmapped < 0.9


def test_mmap_threshold_from_the_environment_wins(monkeypatch) -> None:
    monkeypatch.setenv(MMAP_THRESHOLD_ENV, "1048576")
    assert not set_mmap_threshold(512 * 1024)
