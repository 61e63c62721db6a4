"""The machine stamp written into every benchmark result."""

from __future__ import annotations

import hashlib
import json
import mmap
import os
from importlib import metadata
from pathlib import Path

import numpy as np

from bench.machine import list_gpus, machine_stamp, parse_cpuinfo, sha256_file
from engine.rss import current_rss_mib, peak_rss_mib, reset_peak_rss

TWO_SOCKETS = """processor\t: 0
model name\t: Test CPU 9000
physical id\t: 0
core id\t: 0

processor\t: 1
model name\t: Test CPU 9000
physical id\t: 0
core id\t: 0

processor\t: 2
model name\t: Test CPU 9000
physical id\t: 1
core id\t: 0
"""


def test_parse_cpuinfo_counts_threads_and_cores() -> None:
    model, logical, physical = parse_cpuinfo(TWO_SOCKETS)
    assert model == "Test CPU 9000"
    assert logical == 3  # three hardware threads
    assert physical == 2  # on two distinct (socket, core) pairs


def test_parse_real_cpuinfo_agrees_with_os() -> None:
    path = Path("/proc/cpuinfo")
    if not path.exists():
        return
    model, logical, _ = parse_cpuinfo(path.read_text())
    assert model
    assert logical == os.cpu_count()


def test_stamp_describes_this_machine(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(os.urandom(3000))
    stamp = machine_stamp({"classifier": model, "missing": tmp_path / "nope.onnx"})
    d = json.loads(json.dumps(stamp.as_dict()))  # JSON-serialisable
    assert d["files"]["classifier"]["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert d["files"]["classifier"]["bytes"] == "3000"
    assert d["files"]["missing"]["sha256"] == ""
    assert d["libraries"]["numpy"] == np.__version__
    assert d["libraries"]["onnxruntime"] == metadata.version("onnxruntime")
    assert "CPUExecutionProvider" in d["ort_providers"]
    assert 1 <= d["usable_cpus"] <= d["logical_cpus"]
    gpus, note = list_gpus()
    assert len(d["gpus"]) == len(gpus)
    assert bool(note) == (not gpus)  # no GPU is always explained


def test_sha256_file_reads_in_chunks(tmp_path: Path) -> None:
    data = os.urandom(5000)
    p = tmp_path / "blob"
    p.write_bytes(data)
    assert sha256_file(p, chunk=1024) == hashlib.sha256(data).hexdigest()


def test_peak_rss_tracks_a_real_allocation() -> None:
    reset = reset_peak_rss()
    before = peak_rss_mib()
    # Fresh anonymous pages, every one touched: np.ones could be served from heap memory that is
    # already resident (an earlier test may have raised malloc's mmap threshold), and then the
    # RSS would not move at all.
    block = mmap.mmap(-1, 64 * 1024 * 1024)
    for offset in range(0, len(block), mmap.PAGESIZE):
        block[offset] = 1
    after = peak_rss_mib()
    assert after >= current_rss_mib() - 1
    if reset:  # the high-water mark started from the current RSS: it must show the 64 MiB
        assert after - before >= 60
    block.close()
