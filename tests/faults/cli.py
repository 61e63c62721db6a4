"""The real `deepscreen screen` in a subprocess, and what every fault test asserts of it."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.shipped import shipped_model

ASSETS = Path(__file__).resolve().parents[2] / "engine" / "assets"
ASTRONAUT = ASSETS / "astronaut_512x512.jpg"
HOPPER = ASSETS / "grace_hopper_512x512.jpg"


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "deepscreen_cli.app", "screen", *args]


def start_until_event(*args: str, events: Path, wait_s: float = 60) -> subprocess.Popen:
    """Start `deepscreen screen ARGS` and return once ``events`` holds a line.

    The process must still be running then (a signal sent to it lands mid-run); stdout and
    stderr are pipes, unbuffered, for ``communicate``.
    """
    proc = subprocess.Popen(cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and proc.poll() is None:
        if events.exists() and events.read_text().strip():
            break
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()
    return proc


def signal_and_wait(proc: subprocess.Popen, *signals: int, timeout: float = 30) -> str:
    """Send ``signals`` in turn and wait for the process to end; returns its stderr.

    A process still running after ``timeout`` seconds is killed (the test then fails on the
    timeout, not on a leaked child).
    """
    try:
        for sig in signals:
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    return err


@dataclass
class Run:
    """One finished CLI run: exit code, outputs, and its peak memory (from wait4)."""

    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    maxrss_mb: float


def run_cli(*args: str, timeout: float = 120) -> Run:
    """Run `deepscreen screen ARGS` to its end; its own peak RSS comes from os.wait4."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"deepscreen screen {args} ran past {timeout} s:\n{err}") from None
    return Run(proc.returncode, out, err, time.monotonic() - t0, 0.0)  # memory not measured


def run_measured(*args: str, timeout: float = 120) -> Run:
    """Like :func:`run_cli`, and measure the child's own peak RSS.

    The peak is the child's ``VmHWM`` read from /proc while it runs, not ``wait4``'s
    ``ru_maxrss``: Linux carries the RSS high-water mark across fork and exec, so ``ru_maxrss``
    of a child of a large pytest process reports at least the parent's size (3 GB in a full
    run, with torch loaded), whatever the child itself used.
    """
    t0 = time.monotonic()
    out_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"ds-{os.getpid()}-{time.time_ns()}"
    with open(f"{out_path}.out", "w+") as fo, open(f"{out_path}.err", "w+") as fe:
        proc = subprocess.Popen(cli(*args), stdout=fo, stderr=fe, text=True)
        deadline = time.monotonic() + timeout
        peak_kb = 0
        while True:
            peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise AssertionError(f"deepscreen screen {args} ran past {timeout} s")
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        out, err = fo.read(), fe.read()
    for suffix in (".out", ".err"):
        Path(f"{out_path}{suffix}").unlink(missing_ok=True)
    return Run(proc.returncode, out, err, time.monotonic() - t0, peak_kb / 1024.0)


def _vm_hwm_kb(pid: int) -> int:
    """The peak resident set of a running process in kB (0 once it has exited)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def error_lines(stderr: str) -> list[str]:
    """The lines of stderr that report an error (log records at ERROR, or 'error: ...')."""
    return [line for line in stderr.splitlines()
            if line.startswith("error:") or " ERROR " in line]


def assert_clean(run: Run, code: int | tuple[int, ...]) -> None:
    """The exit code is one of ``code`` and nothing on stderr is a traceback."""
    codes = (code,) if isinstance(code, int) else code
    assert run.returncode in codes, (run.returncode, run.stderr[-3000:])
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert "internal error" not in run.stderr, run.stderr[-3000:]


def assert_one_error(run: Run, *needles: str) -> str:
    """Exactly one error line on stderr, containing every needle; returns it."""
    lines = error_lines(run.stderr)
    assert len(lines) == 1, run.stderr[-3000:]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def read_summary(path: Path) -> list[dict]:
    """The summary CSV, each row checked: read == processed + dropped."""
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    for row in rows:
        assert int(row["read"]) == int(row["processed"]) + int(row["dropped"]), row
    return rows


def read_events(path: Path) -> list[dict]:
    """Every line of an events file, parsed strictly (no NaN, no Infinity, no half line)."""
    def refuse(token: str):
        raise ValueError(f"non-standard JSON constant {token}")

    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n"), "a half-written last line"
    return [json.loads(line, parse_constant=refuse) for line in text.splitlines()]


def free_port() -> int:
    """A loopback port nobody listens on (free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def model_args() -> list[str]:
    """``--model`` for the shipped classifier; skips the calling test when it is absent."""
    return ["--model", str(shipped_model())]
