"""`deepscreen data split`: deterministic train/val/test manifest of a labelled folder tree."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from deepscreen_cli.groups import data_app


def register(app: typer.Typer) -> None:
    """Attach the data commands to the `data` group."""
    data_app.command("split")(split_cmd)


def split_cmd(
    root: Annotated[Path, typer.Argument(help="Folder tree with real*/fake* folders.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Manifest CSV to write.")],
    val: Annotated[float, typer.Option(help="Fraction of groups for validation.")] = 0.1,
    test: Annotated[float, typer.Option(help="Fraction of groups for test.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the group hash.")] = 0,
    groups: Annotated[
        Path | None,
        typer.Option(help="faces extract manifest (or path,group CSV): group crops by source."),
    ] = None,
) -> None:
    """Split files by a hash of their group (file, or source video) into train/val/test."""
    from rich.console import Console
    from rich.table import Table

    from train.splits import SPLITS, split_tree, write_manifest

    result = split_tree(root, val=val, test=test, seed=seed, groups=groups)
    write_manifest(result.items, out)
    counts = result.counts()
    table = Table(title=f"{out} ({len(result.items)} files)")
    for col in ("split", "real (0)", "fake (1)", "groups"):
        table.add_column(col, justify="right")
    for split in SPLITS:
        n_groups = len({i.group for i in result.items if i.split == split})
        table.add_row(split, str(counts[(split, 0)]), str(counts[(split, 1)]), str(n_groups))
    Console().print(table)
    if result.unlabelled:
        typer.echo(f"left out {result.unlabelled} files outside any real*/fake* folder")
    if result.groups_file:
        typer.echo(f"grouped by source file from {result.groups_file}")
    if result.ungrouped:
        typer.echo(f"{result.ungrouped} files were not in {result.groups_file}: own group each")
