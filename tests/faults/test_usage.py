"""Usage errors of the parser itself (bad or out-of-range values, unknown options, missing
arguments): exit 2 and one line on stderr, in the style of our own usage errors, never click's
multi-line box or a traceback; ``--help`` is unchanged."""

from __future__ import annotations

import subprocess
import sys

import pytest

BOX_CHARS = set("╭╮╰╯│─┌┐└┘├┤")


def deepscreen(*args: str) -> subprocess.CompletedProcess[str]:
    """The real `deepscreen ARGS` in a subprocess (any command, unlike cli.run_cli)."""
    return subprocess.run([sys.executable, "-m", "deepscreen_cli.app", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, needle", [
    (["screen", "x.mp4", "--classify-every", "0"], "--classify-every"),
    (["screen", "x.mp4", "--detect-every", "-3"], "--detect-every"),
    (["screen", "x.mp4", "--threshold", "1.5"], "threshold"),
    (["screen", "x.mp4", "--max-batch", "many"], "--max-batch"),
    (["screen", "x.mp4", "--bogus"], "--bogus"),
    (["screen", "x.mp4", "--rule"], "--rule"),
    (["predict"], "Missing argument"),
    (["spectra", "fit"], "Missing"),
    (["no-such-command"], "no-such-command"),
])
def test_usage_error_is_one_line(args, needle) -> None:
    run = deepscreen(*args)
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr, run.stderr
    assert not BOX_CHARS & set(run.stderr), run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ") and needle in lines[0], lines[0]
    assert run.stdout == ""


@pytest.mark.parametrize("args", [["--help"], ["screen", "--help"], ["--version"]])
def test_help_and_version_still_exit_0(args) -> None:
    run = deepscreen(*args)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() and run.stderr == ""
    if "--help" in args:
        assert "Usage:" in run.stdout


def test_bare_command_still_shows_help() -> None:
    """`deepscreen` with nothing: the help, as click shows it (exit 2: nothing was run)."""
    run = deepscreen()
    assert run.returncode == 2 and "Usage:" in run.stdout + run.stderr
    assert "error:" not in run.stderr
