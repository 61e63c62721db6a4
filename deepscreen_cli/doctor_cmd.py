"""`deepscreen doctor`: report what this machine can run."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Report ONNX Runtime providers, GPU, TensorRT, pycuda, the CUDA extension and OpenCV."""
    from engine.doctor import as_dicts, run_checks

    checks = run_checks()
    if as_json:
        typer.echo(json.dumps(as_dicts(checks), indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="deepscreen doctor")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for c in checks:
        table.add_row(c.name, "[green]ok[/green]" if c.ok else "[yellow]no[/yellow]", c.detail)
    Console().print(table)
