"""`deepscreen calibrate SOURCE... --false-alarm-rate R`: a threshold per site.

Screens known-real footage of one camera with the engine (the pipeline as `screen` runs it,
with the stream's own settings from --config), and writes the lowest threshold whose
false-alarm rate is at most R, with a one-sided Clopper-Pearson bound, into the stream's entry
of the config file (or a small YAML of its own). docs/SCREEN_CONFIG.md, "A threshold per site".
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from deepscreen_cli import options as o
from engine.errors import UsageError

Opt = typer.Option


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate)


def _stream_name(screen, stream: str | None, config: Path | None) -> str:
    if config is None:
        return stream or "site"
    if stream is None:
        if len(screen.streams) != 1:
            raise UsageError(f"{config} has {len(screen.streams)} streams: name one with "
                             "--stream NAME")
        return next(iter(screen.streams))
    if stream not in screen.streams:
        raise UsageError(f"no stream {stream!r} in {config}")
    return stream


def calibrate(
    ctx: typer.Context,
    sources: Annotated[list[str], typer.Argument(
        help="Known-real footage of the site: video files, image folders.")],
    false_alarm_rate: Annotated[float, Opt(
        "--false-alarm-rate", "-r", min=1e-6, max=0.5,
        help="Largest tolerated share of real tracks (or faces) judged fake.")],
    stream: Annotated[str | None, Opt("--stream", help="The stream to calibrate (its settings "
                                      "come from --config; needed with several streams).")
                      ] = None,
    config: o.Config = None,
    unit: Annotated[str, Opt("--unit", help="What a false alarm is: track (a face track "
                             "whose vote turns fake, as alerts fire) or face (one classified "
                             "crop).")] = "track",
    confidence: Annotated[float, Opt("--confidence", min=0.5, max=0.999,
                                     help="Confidence of the upper bound.")] = 0.95,
    out: Annotated[Path | None, Opt("--out", help="Without --config: the YAML file to write "
                                    "(default: threshold-STREAM.yaml).")] = None,
    dry_run: Annotated[bool, Opt("--dry-run", help="Print the threshold; write nothing.")
                       ] = False,
    backend: o.Backend = "auto",
    model: o.Model = None,
    detect_every: o.DetectEvery = 5,
    min_face: o.MinFace = 40,
    max_frames: o.MaxFrames = 0,
) -> None:
    """Choose the threshold that keeps false alarms on known-real footage under a rate."""
    from engine.config import ScreenFile, apply_flags, load_screen_file
    from engine.config.build import classifier_spec, pipeline_config
    from engine.config.edit import set_stream_threshold, threshold_file
    from engine.judge.site_threshold import UNITS, NotEnoughData, ScoreCollector, fit_threshold
    from engine.judge.stream_vote import StreamJudge
    from engine.judge.vote import VoteConfig
    from engine.pipeline import build_pipeline

    if unit not in UNITS:
        raise UsageError(f"--unit must be one of {', '.join(UNITS)}")
    screen = load_screen_file(config).file if config is not None else ScreenFile()
    name = _stream_name(screen, stream, config)
    flags = ("backend", "model", "detect_every", "min_face", "max_frames")
    screen = apply_flags(screen, {k: ctx.params[k] for k in flags
                                  if ctx.get_parameter_source(k).name != "DEFAULT"})
    cfg = pipeline_config(screen).for_stream(name)
    vote = VoteConfig(rule=cfg.rule, window=cfg.window, min_frames=cfg.min_frames,
                      hysteresis=cfg.hysteresis)
    collector = ScoreCollector(StreamJudge(name, vote, cfg.stream_rule, cfg.weighting,
                                           cfg.quality_gate))
    pipe = build_pipeline(sources, cfg, classifier=classifier_spec(screen), sinks=[collector])
    # Only faces at or above the model's vote floor set the threshold: the others never vote.
    collector.judge.min_face = pipe.states[0].judge.min_face
    result = pipe.run()
    if result.error:
        raise UsageError(f"screening the footage failed: {result.error}")
    scores = collector.track_scores(vote) if unit == "track" else collector.face_scores()
    try:
        fit = fit_threshold(scores, false_alarm_rate, confidence, unit)
    except NotEnoughData as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(4) from None
    typer.echo(f"stream {name}: {fit.describe()}")
    note = (f"calibrate {date.today().isoformat()}: FAR <= {fit.upper_bound:.4f} at "
            f"{fit.confidence:.0%}, {fit.units} {fit.unit}s")
    if dry_run:
        return
    if config is not None:
        config.write_text(set_stream_threshold(config.read_text(), name, fit.threshold, note))
        typer.echo(f"wrote threshold {fit.threshold:.4f} into {config} (streams.{name})")
        return
    target = out or Path(f"threshold-{name}.yaml")
    target.write_text(threshold_file(name, fit.threshold, note))
    typer.echo(f"wrote {target}")
