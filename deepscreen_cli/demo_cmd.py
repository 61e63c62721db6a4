"""`deepscreen demo`: the built-in demo (no downloads, no shared data).

It assembles a short clip from two public-domain portraits shipped in the package, with one
segment per portrait and one where each face is swapped onto the other, screens it with the
streaming engine and prints the verdict per segment next to the ground truth. It exits 0 when
the demo ran: the verdicts are information about the model, not a pass/fail test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from deepscreen_cli import options as o

DEFAULT_OUT = Path("runs/demo")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def _fmt_p(p: float) -> str:
    return "-" if p != p else f"{p:.3f}"


def demo(
    out: Annotated[
        Path,
        typer.Option("--out", "-o",
                     help="Folder for the clip, events, summary and annotated video."),
    ] = DEFAULT_OUT,
    backend: o.Backend = "auto",
    model: o.Model = None,
    seconds: Annotated[
        float,
        typer.Option("--seconds", min=0.5, max=30.0, help="Length of each of the four segments."),
    ] = 3.0,
    rule: o.Rule = "confident",
    annotate: Annotated[
        bool,
        typer.Option("--annotate/--no-annotate", help="Also write an annotated copy of the clip."),
    ] = True,
) -> None:
    """Screen a built-in clip (real portraits and face swaps) and show the verdict per segment."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from deepscreen_cli.demo.run import run_demo
    from engine.judge.vote import RULES

    if rule not in RULES:
        from engine.errors import UsageError

        raise UsageError(f"unknown voting rule {rule!r}; choose one of {', '.join(RULES)}")
    console = Console()
    with console.status("deepscreen demo") as status:
        result = run_demo(
            out, backend=backend, model=model, annotate=annotate,
            seconds_per_segment=seconds, rule=rule,
            progress=lambda msg: status.update(f"deepscreen demo: {msg}"),
        )

    run = result.summary
    # Fits an 80-column terminal (and CI logs): no vertical rules, short cells.
    table = Table(title=f"deepscreen demo ({result.rule} rule, threshold {result.threshold:.2f}, "
                        f"{run.backend or '?'})", box=box.SIMPLE_HEAD, pad_edge=False)
    for col, justify in (("segment", "left"), ("seconds", "right"), ("truth", "left"),
                         ("frames", "right"), ("p_fake", "right"), ("verdict", "left"),
                         ("live", "left")):
        table.add_column(col, justify=justify, no_wrap=True)
    for r in result.segments:
        s = r.segment
        colour = {True: "green", False: "red", None: "yellow"}[r.correct]
        table.add_row(
            s.name, f"{s.start_t:g}-{s.end_t:g}", s.truth, f"{r.scored_frames}/{r.frames}",
            _fmt_p(r.mean_p_fake), f"[{colour}]{r.verdict}[/{colour}]", r.live_verdict,
        )
    console.print(table)
    console.print(
        "frames: with a classified face / processed. p_fake: mean over those frames. verdict: "
        "the voting rule over the segment's own frames. live: the stream verdict the "
        "engine held at the segment's end (sliding window with hysteresis)."
    )

    if result.timeline:
        lines = []
        for e in result.timeline:
            seg = result.clip.segment_of(int(round(e.t * result.clip.fps)))
            where = f" ({seg.name})" if seg else ""
            tag = " final" if e.final else ""
            lines.append(f"  t={e.t:5.2f} s{where}: {e.verdict}{tag}, p_fake {_fmt_p(e.p_fake)}")
        console.print("engine's stream verdict as it changed:\n" + "\n".join(lines))
    agree = [r.correct for r in result.segments if r.correct is not None]
    console.print(
        f"{sum(agree)}/{len(result.segments)} segments match the ground truth; "
        f"{run.frames_processed} frames in {run.wall_s:.1f} s ({run.fps:.1f} fps). "
        "Verdicts describe the model on this clip; they are not a test."
    )
    if run.error:
        console.print(f"[red]the engine reported an error: {run.error}[/red]")
    o = result.outputs
    console.print("files:")
    for label, path in (("clip", o.clip), ("segments (ground truth)", o.segments),
                        ("stills (real and swapped)", o.stills), ("events", o.events),
                        ("summary", o.summary_csv), ("annotated video", o.annotated),
                        ("report", o.report)):
        if path is not None:
            console.print(f"  {label}: {path}")
    if run.error:
        raise typer.Exit(1)
