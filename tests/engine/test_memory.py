"""engine.memory against the real glibc allocator of this process."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

from engine.memory import (
    MMAP_THRESHOLD_ENV,
    heap_stats,
    heap_supported,
    set_mmap_threshold,
    trim_heap,
)

pytestmark = pytest.mark.skipif(not heap_supported(), reason="needs glibc >= 2.33")

BLOCK = 64 * 1024  # below glibc's mmap threshold: served from the heap, not by mmap
COUNT = 1600  # 100 MiB in total


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS in /proc/self/status")


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
        kept = rss_mb()
        assert heap_stats().free_mb > 90.0  # freed, but the allocator still holds it
        assert trim_heap()
        assert rss_mb() < kept - 80.0
    finally:
        libc.free(pin)


def test_fixed_mmap_threshold_maps_frame_sized_blocks(monkeypatch) -> None:
    """After set_mmap_threshold, a block above it is its own mapping (gone from RSS on free)."""
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    monkeypatch.delenv(MMAP_THRESHOLD_ENV, raising=False)
    assert set_mmap_threshold(512 * 1024)
    before = heap_stats().mmapped_mb
    frame = libc.malloc(640 * 480 * 3)  # one VGA BGR frame, 900 KiB
    try:
        assert heap_stats().mmapped_mb - before == pytest.approx(0.88, abs=0.02)
    finally:
        libc.free(frame)
    assert heap_stats().mmapped_mb == pytest.approx(before, abs=0.01)


def test_mmap_threshold_from_the_environment_wins(monkeypatch) -> None:
    monkeypatch.setenv(MMAP_THRESHOLD_ENV, "1048576")
    assert not set_mmap_threshold(512 * 1024)
