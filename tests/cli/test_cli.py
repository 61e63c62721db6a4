"""The CLI's contract: help, version, doctor, and one-line errors with non-zero exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

from engine import __version__


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deepscreen_cli.app", *args], capture_output=True, text=True
    )


def test_help_lists_commands() -> None:
    out = run_cli("--help")
    assert out.returncode == 0
    assert "doctor" in out.stdout


def test_version() -> None:
    out = run_cli("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"deepscreen {__version__}"


def test_doctor_json_reports_every_probe() -> None:
    out = run_cli("doctor", "--json")
    assert out.returncode == 0, out.stderr
    checks = {c["name"]: c for c in json.loads(out.stdout)}
    for name in ("onnxruntime", "opencv", "gpu", "tensorrt", "pycuda"):
        assert name in checks
    assert checks["onnxruntime"]["ok"] is True
    assert "CPUExecutionProvider" in checks["onnxruntime"]["detail"]


def test_bad_option_is_a_usage_error_without_traceback() -> None:
    out = run_cli("doctor", "--no-such-option")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr


def test_unknown_command_is_a_usage_error() -> None:
    out = run_cli("no-such-command")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr


def test_every_command_help_renders() -> None:
    """`--help` of every command and subcommand prints (Rich markup in a help text once crashed
    `screen --help`)."""
    import typer
    from typer.testing import CliRunner

    from deepscreen_cli.app import app

    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(cmd: object, path: list[str]) -> None:
        paths.append(path)
        # Typer 0.2x vendors click: find subcommands by attribute, not by click's classes.
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            walk(sub, [*path, name])

    walk(root, [])
    assert len(paths) > 10
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
        assert result.exit_code == 0, (path, result.exception, result.output[-500:])
        assert "Usage" in result.output, path
