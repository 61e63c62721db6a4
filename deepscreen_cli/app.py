"""Root of the `deepscreen` command: global options, error handling, command registration.

Command groups live in their own modules (``deepscreen_cli/*_cmd.py``), each exposing
``register(app)``. They are collected from ``COMMAND_MODULES`` so that adding a command never
means editing a shared file, and importing this module stays cheap (no torch, no ONNX Runtime).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import typer

try:  # typer >= 0.22 carries its own copy of click
    from typer._click import exceptions as click_exceptions
except ImportError:  # older typer runs on the click package
    from click import exceptions as click_exceptions

from engine import __version__
from engine.errors import EXIT_RUNTIME_ERROR, EXIT_USAGE_ERROR, DeepscreenError

COMMAND_MODULES: tuple[str, ...] = (
    "deepscreen_cli.doctor_cmd",
    "deepscreen_cli.export_cmd",
    "deepscreen_cli.export_model_cmd",
    "deepscreen_cli.faces_cmd",
    "deepscreen_cli.data_cmd",
    "deepscreen_cli.spectra_cmd",
    "deepscreen_cli.train_cmd",
    "deepscreen_cli.screen_cmd",
    "deepscreen_cli.config_cmd",
    "deepscreen_cli.calibrate_cmd",
    "deepscreen_cli.verify_cmd",
    "deepscreen_cli.bench_cmd",
    "deepscreen_cli.demo_cmd",
)

app = typer.Typer(
    name="deepscreen",
    help="Screen images and live video for deepfaked faces.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"deepscreen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details."),
) -> None:
    """Screen images and live video for deepfaked faces."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _register_commands() -> None:
    from deepscreen_cli.groups import GROUPS

    for group_name, group in GROUPS.items():
        app.add_typer(group, name=group_name)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # A command module that is not part of this build is skipped; a module that
            # exists but fails to import (a real bug) must still surface.
            if exc.name == name:
                continue
            raise
        module.register(app)


_register_commands()


def usage_error_line(exc: click_exceptions.UsageError) -> str:
    """One line for a usage error of the parser (bad or out-of-range value, unknown option,
    missing argument), in the form of our own :class:`~engine.errors.UsageError`.

    Click's own messages can span lines (a range, a list of choices); they are joined, since
    scripts and log collectors read one line per error. The hint names the command's ``--help``.
    """
    message = " ".join(exc.format_message().split()).rstrip(".")
    if exc.ctx is not None:
        message += f" (see '{exc.ctx.command_path} --help')"
    return f"error: {message}"


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the CLI and turn user-facing errors into one line + exit code.

    The parser runs outside click's standalone mode so that its usage errors reach us instead
    of being drawn as a multi-line box; ``--help``, ``--version`` and every ``typer.Exit`` come
    back as an exit code (no command returns anything else: each ends by raising ``Exit``).
    """
    try:
        code = app(args=argv, standalone_mode=False)
    except click_exceptions.NoArgsIsHelpError as exc:  # bare `deepscreen`: the help, as before
        if exc.format_message():  # with rich, making the error already printed the help
            exc.show()
        sys.exit(exc.exit_code)
    except click_exceptions.UsageError as exc:
        typer.secho(usage_error_line(exc), err=True, fg=typer.colors.RED)
        sys.exit(EXIT_USAGE_ERROR)
    except typer.Abort:  # an interrupted prompt
        typer.secho("aborted", err=True)
        sys.exit(EXIT_RUNTIME_ERROR)
    except click_exceptions.ClickException as exc:  # e.g. a click.File that cannot be opened
        typer.secho(f"error: {' '.join(exc.format_message().split())}", err=True,
                    fg=typer.colors.RED)
        sys.exit(exc.exit_code)
    except DeepscreenError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: still one line unless the user asks for the traceback
        if os.environ.get("DEEPSCREEN_DEBUG"):
            raise
        typer.secho(
            f"internal error: {type(exc).__name__}: {exc} (set DEEPSCREEN_DEBUG=1 for a traceback)",
            err=True,
            fg=typer.colors.RED,
        )
        sys.exit(EXIT_RUNTIME_ERROR)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
