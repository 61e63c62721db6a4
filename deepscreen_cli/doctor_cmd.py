"""`deepscreen doctor`: report what this machine can run."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    require: str = typer.Option(
        "", "--require",
        help="Comma-separated checks that must pass (e.g. gpu,tensorrt,pycuda); exit 1 if not.",
    ),
) -> None:
    """Report ONNX Runtime providers, GPU, TensorRT, pycuda, the CUDA extension and OpenCV."""
    from engine.doctor import as_dicts, missing, run_checks
    from engine.errors import UsageError

    checks = run_checks()
    try:
        failed = missing(checks, [n.strip() for n in require.split(",") if n.strip()])
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(as_dicts(checks), indent=2))
    else:
        _print_table(checks)
    if failed:
        detail = {c.name: c.detail for c in checks}
        for name in failed:
            typer.secho(f"error: required check {name} failed: {detail[name]}", err=True,
                        fg=typer.colors.RED)
        raise typer.Exit(1)


def _print_table(checks) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="deepscreen doctor")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for c in checks:
        table.add_row(c.name, "[green]ok[/green]" if c.ok else "[yellow]no[/yellow]", c.detail)
    Console().print(table)
