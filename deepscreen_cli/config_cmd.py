"""`deepscreen config check FILE...` and `deepscreen config show FILE`: the screening config file
before it runs (CI checks the fleet's files with `check`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from engine.errors import UsageError

config_app = typer.Typer(help="Check and show screening config files (screen --config).",
                         no_args_is_help=True)

EnvFile = Annotated[list[Path] | None, typer.Option(
    "--env-file", help="Read ${NAME} references from this KEY=VALUE file as well as from the "
    "environment (repeatable; e.g. a worker's env file).")]


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")


def read_env_files(paths: list[Path] | None) -> dict[str, str]:
    """The environment, with the KEY=VALUE lines of ``paths`` over it (Docker's env files:
    ``#`` comments, optional quotes around the value)."""
    env = dict(os.environ)
    for path in paths or []:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise UsageError(f"--env-file {path}: {exc.strerror}") from None
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, value = line.split("=", 1)
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            env[key.strip().removeprefix("export ").strip()] = value
    return env


@config_app.command("check")
def check(
    files: Annotated[list[Path], typer.Argument(help="Config files to check.")],
    env_file: EnvFile = None,
) -> None:
    """Check config files: schema, ranges, unknown keys, credentials written in the file,
    unset ${NAME} references. Each problem is printed as FILE:LINE: key: message; exit 2 when
    there is one."""
    from engine.config import ConfigError, load_screen_file

    env = read_env_files(env_file)
    failed = 0
    for path in files:
        try:
            loaded = load_screen_file(path, env)
        except ConfigError as exc:
            failed += 1
            typer.secho(str(exc), err=True, fg=typer.colors.RED)
            continue
        typer.echo(f"{path}: ok ({len(loaded.file.streams)} streams)")
    if failed:
        raise typer.Exit(2)


@config_app.command("show")
def show(
    file: Annotated[Path, typer.Argument(help="Config file.")],
    env_file: EnvFile = None,
) -> None:
    """Print the effective config: every stream with the values it runs with (defaults and its
    overrides), ${NAME} references expanded and every credential redacted."""
    from engine.config import load_screen_file, show_text

    typer.echo(show_text(load_screen_file(file, read_env_files(env_file)).file), nl=False)
