"""`deepscreen data split` (deterministic train/val/test manifest of a labelled folder tree) and
`deepscreen data quality-check` (does image quality alone predict a recipe's training labels?)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from deepscreen_cli.groups import data_app


def register(app: typer.Typer) -> None:
    """Attach the data commands to the `data` group."""
    data_app.command("split")(split_cmd)
    data_app.command("quality-check")(quality_check_cmd)
    data_app.command("clips")(clips_cmd)
    data_app.command("frames")(frames_cmd)


def frames_cmd(
    videos: Annotated[Path, typer.Argument(help="Folder with real*/fake* subfolders of clips.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Faces root to write frames into.")],
    every: Annotated[int, typer.Option(help="Keep every n-th frame.")] = 2,
) -> None:
    """Write the frames of labelled clips as a face source (OUT/<folder>/<label>/<clip>_<n>.jpg),
    split by clip name like the training config's `data.video_sources`."""
    from train.video_frames import extract_frames

    done = extract_frames(videos, out, every)
    typer.echo(f"{done.frames} frames of {done.clips} clips in {done.root / videos.name}")


def clips_cmd(
    videos: Annotated[Path, typer.Argument(help="Folder with real*/fake* subfolders of clips.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV path,label,source to write.")],
    split: Annotated[str, typer.Option(help="train, val or test.")] = "test",
) -> None:
    """List the clips whose frames fall in one split (a clip's frames train, or it is held
    back), as the CSV `deepscreen evaluate --video-labels` reads."""
    import csv

    from engine.errors import UsageError
    from train.video_frames import clips_of_split

    if split not in ("train", "val", "test"):
        raise UsageError(f"--split must be train, val or test, got {split!r}")
    clips = clips_of_split(videos, split)
    if not clips:
        raise UsageError(f"no clip of {videos} falls in the {split} split")
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "source"])
        for clip, label in clips:
            w.writerow([str(clip.resolve()), "fake" if label else "real",
                        f"{videos.name}/{clip.parent.name}"])
    typer.echo(f"{len(clips)} clips of the {split} split -> {out}")


def quality_check_cmd(
    configs: Annotated[list[Path], typer.Argument(help="Training config(s) to check.")],
    views: Annotated[int, typer.Option(help="Training views drawn per config.")] = 3000,
    seed: Annotated[int, typer.Option(help="Seed of the view draw.")] = 0,
    max_auc: Annotated[float, typer.Option(help="Exit 1 when any AUC exceeds this.")] = 1.0,
) -> None:
    """Fit a logistic regression on the quality of each recipe's training views alone
    (sharpness at the input, face size, JPEG blockiness) and print its cross-validated AUC:
    near 0.5 means quality carries no label (issue 29 asks for <= 0.60)."""
    from rich.console import Console
    from rich.table import Table

    from train.config import load_config
    from train.quality_check import FEATURES, check_views, recipe_views

    table = Table(title=f"quality-only logistic regression, {views} training views per recipe")
    for col in ("config", "views (real/fake)", "AUC (all three)",
                *(f"AUC {f}" for f in FEATURES)):
        table.add_column(col, justify="right")
    worst = 0.0
    for path in configs:
        cfg = load_config(path)
        x, y, sources = recipe_views(cfg, views, seed)
        result = check_views(x, y, sources)
        worst = max(worst, result.auc)
        table.add_row(path.name, f"{result.views[0]}/{result.views[1]}", f"{result.auc:.3f}",
                      *(f"{result.per_feature[f]:.3f}" for f in FEATURES))
    Console().print(table)
    if worst > max_auc:
        typer.secho(f"quality predicts the label: AUC {worst:.3f} > {max_auc}", err=True)
        raise typer.Exit(1)


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

    from train.labelled import SPLITS
    from train.splits import split_tree, write_manifest

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
