"""`deepscreen screen SOURCE...`: screen files, folders, webcams and streams for deepfaked faces.

Exit codes (scripts rely on them): 0 real, 3 fake, 4 no decision (no face, faces below the vote
floor, or still uncertain at the end), 1 runtime error, 2 usage error. With several sources: the
worst outcome, in the order fake > error > no decision > real. SIGINT / SIGTERM / SIGHUP stop
the sources, classify what is queued, write the final verdicts and summaries, and exit with the
verdict-so-far code; a second signal aborts at once (exit 128 + signal number: 130 for SIGINT,
143 for SIGTERM).
"""

from __future__ import annotations

from typing import Annotated

import typer

from deepscreen_cli import options as o
from deepscreen_cli.budget_options import BudgetMargin, CropsPerS, FullDetectEvery, SettledHz
from engine.budget import DEFAULT_SETTLED_HZ
from engine.pipeline.config import DEFAULT_FULL_DETECT_EVERY


def register(app: typer.Typer) -> None:
    app.command("screen")(screen)


def screen(
    ctx: typer.Context,
    sources: Annotated[list[str] | None, typer.Argument(
        help="Video files, image folders, webcams (0, /dev/video0), rtsp:// or http(s) URLs "
        "(or none, with --config).", show_default=False)] = None,
    config: o.Config = None,
    backend: o.Backend = "auto",
    model: o.Model = None,
    backend_url: o.BackendUrl = None,
    remote_model: o.RemoteModel = "deepscreen",
    spectral: o.Spectral = "auto",
    detect_every: o.DetectEvery = 5,
    classify_every: o.ClassifyEvery = 1,
    min_face: o.MinFace = 40,
    margin: o.Margin = None,
    max_batch: o.MaxBatch = 16,
    max_wait_ms: o.MaxWaitMs = 50.0,
    rule: o.Rule = "confident",
    window: o.Window = 64,
    min_frames: o.MinFrames = 8,
    hysteresis: o.Hysteresis = 0.05,
    stream_rule: o.StreamRule = "any-track",
    confirm_hits: o.ConfirmHits = 3,
    confirm_score: o.ConfirmScore = 0.95,
    confirm_min_side: o.ConfirmMinSide = 40.0,
    confirm_landmarks: o.ConfirmLandmarks = True,
    weighting: o.Weighting = "none",
    quality_gate: o.QualityGate = 0.2,
    vote_min_face: o.VoteMinFace = None,
    settled_hz: SettledHz = DEFAULT_SETTLED_HZ,
    budget_margin: BudgetMargin = 0.25,
    crops_per_s: CropsPerS = "0",
    full_detect_every: FullDetectEvery = DEFAULT_FULL_DETECT_EVERY,
    threshold: o.Threshold = None,
    events: o.Events = None,
    summary: o.Summary = None,
    annotate: o.Annotate = None,
    retain: o.Retain = None,
    retain_size: o.RetainSize = None,
    give_up_after: o.GiveUpAfter = 0.0,
    live: o.Live = True,
    metrics_port: o.MetricsPort = 0,
    metrics_host: o.MetricsHost = "127.0.0.1",
    max_frames: o.MaxFrames = 0,
    duration: o.Duration = 0.0,
    realtime: o.Realtime = False,
    loop: o.Loop = False,
    as_json: o.AsJson = False,
    quiet: o.Quiet = False,
    web: o.Web = None,
    web_public: o.WebPublic = False,
    web_host: o.WebHost = None,
    metrics_public: o.MetricsPublic = False,
    mqtt: o.Mqtt = None,
    webhook: o.Webhook = None,
    mqtt_ca: o.MqttCa = None,
    mqtt_cert: o.MqttCert = None,
    mqtt_key: o.MqttKey = None,
    outbox_dir: o.OutboxDir = None,
    ha_discovery: o.HaDiscovery = False,
    snapshots: o.Snapshots = True,
    state_every: o.StateEvery = 10.0,
) -> None:
    """Screen video sources for deepfaked faces; the exit code is the verdict.

    0 real, 3 fake, 4 no decision, 1 runtime error, 2 usage error. With --config, the streams
    and their settings come from the file and the flags given override it.
    """
    from deepscreen_cli.screen_run import run_screen, screen_settings

    given = {k for k in ctx.params if ctx.get_parameter_source(k).name != "DEFAULT"}
    run = screen_settings(ctx.params, given - {"sources", "config"}, config, sources)
    result = run_screen(run)
    if run.screen.outputs.json_summary:
        typer.echo(result.to_json())
    if result.error:
        typer.secho(f"error: {result.error}", err=True, fg=typer.colors.RED)
    raise typer.Exit(result.exit_code)
