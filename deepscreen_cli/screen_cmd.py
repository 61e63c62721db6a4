"""`deepscreen screen SOURCE...`: screen files, folders, webcams and streams for deepfaked faces.

Exit codes (scripts rely on them): 0 real, 3 fake, 4 no decision (no face, or still uncertain
at the end), 1 runtime error, 2 usage error. With several sources: the worst outcome, in the
order fake > error > no decision > real. SIGINT / SIGTERM / SIGHUP stop the sources, classify
what is queued, write the final verdicts and summaries, and exit with the verdict-so-far code; a
second signal aborts at once (exit 128 + signal number: 130 for SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from deepscreen_cli.budget_options import BudgetMargin, CropsPerS, SettledHz, budget_config
from deepscreen_cli.file_outputs import build_file_sinks
from deepscreen_cli.live_options import (
    MetricsPublic,
    MqttCa,
    MqttCert,
    MqttKey,
    OutboxDir,
    WebHost,
)
from deepscreen_cli.live_outputs import build_live_outputs, check_metrics_bind, start_server
from engine.budget import DEFAULT_SETTLED_HZ

log = logging.getLogger("deepscreen_cli.screen")


def register(app: typer.Typer) -> None:
    app.command("screen")(screen)


def _install_signal_handlers(stop: threading.Event) -> dict:
    """First SIGINT/SIGTERM/SIGHUP: graceful stop. Second: abort at once (128 + signal number).

    SIGHUP too: a closed terminal or ssh session must still leave complete outputs.
    """
    previous = {}

    def abort(signum, frame) -> None:
        sys.stderr.write("aborted: no verdict\n")
        sys.stderr.flush()
        os._exit(128 + signum)  # never a verdict code; events already written stay written

    def graceful(signum, frame) -> None:
        log.warning("received %s: stopping (send again to abort)", signal.Signals(signum).name)
        stop.set()
        for sig in previous:
            signal.signal(sig, abort)

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            previous[sig] = signal.getsignal(sig)
            signal.signal(sig, graceful)
    return previous


def _sinks(files: list, live: bool, quiet: bool) -> list:
    """The outputs asked for on the command line (a live view only on a terminal)."""
    from engine.sinks import ConsoleTable, LiveView

    sinks: list = list(files)  # guarded file outputs (deepscreen_cli/file_outputs.py)
    if live and sys.stdout.isatty():
        sinks.append(LiveView())
    if not quiet:
        sinks.append(ConsoleTable())
    return sinks


def _confirm_config(hits: int, score: float, side: float, landmarks: bool):
    from engine.confirm import ConfirmConfig

    return ConfirmConfig(min_hits=hits, min_score=score, min_side=side, landmarks=landmarks)


def screen(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Video files, image folders, webcams (0, /dev/video0), rtsp:// or http(s) URLs.",
        ),
    ],
    backend: Annotated[
        str,
        typer.Option(
            "--backend", "-b",
            help="Classifier backend: auto, ort, tensorrt, torch, remote.",
        ),
    ] = "auto",
    model: Annotated[
        Path | None,
        typer.Option("--model", help="Classifier model (default: the shipped classifier.onnx)."),
    ] = None,
    backend_url: Annotated[
        str | None,
        typer.Option(
            "--backend-url",
            help="host:port of an Open Inference Protocol server (Triton, MLServer) for remote.",
        ),
    ] = None,
    remote_model: Annotated[
        str,
        typer.Option(
            "--remote-model",
            help="Model name on the remote server (e.g. deepscreen_trt_fp16).",
        ),
    ] = "deepscreen",
    spectral: Annotated[
        str,
        typer.Option("--spectral", help="Spectral feature: auto, cuda, cpu."),
    ] = "auto",
    detect_every: Annotated[
        int,
        typer.Option(
            "--detect-every", "-k", min=1,
            help="Run the face detector on every k-th frame.",
        ),
    ] = 5,
    classify_every: Annotated[
        int,
        typer.Option(
            "--classify-every", "-m", min=1,
            help="Classify each tracked face on every m-th frame.",
        ),
    ] = 1,
    min_face: Annotated[
        int,
        typer.Option("--min-face", min=12, help="Smallest face side in pixels."),
    ] = 40,
    margin: Annotated[
        float | None,
        typer.Option("--margin", help="Crop margin around the face box (default: the model's)."),
    ] = None,
    max_batch: Annotated[
        int,
        typer.Option("--max-batch", min=1, help="Most crops per classifier call."),
    ] = 16,
    max_wait_ms: Annotated[
        float,
        typer.Option("--max-wait-ms", min=0.0, help="Longest a crop waits for its batch to fill."),
    ] = 50.0,
    rule: Annotated[
        str,
        typer.Option("--rule", help="Voting rule: confident (DFDC), majority (Durall), mean."),
    ] = "confident",
    window: Annotated[
        int,
        typer.Option("--window", min=0, help="Frame probabilities per vote (0 = whole stream)."),
    ] = 64,
    min_frames: Annotated[
        int,
        typer.Option(
            "--min-frames", min=1,
            help="Frames needed before a verdict (until then: uncertain).",
        ),
    ] = 8,
    hysteresis: Annotated[
        float,
        typer.Option(
            "--hysteresis", min=0.0, max=0.49,
            help="Band around the threshold that keeps verdicts stable.",
        ),
    ] = 0.05,
    stream_rule: Annotated[
        str,
        typer.Option("--stream-rule", help="How confirmed face tracks make the stream verdict: "
                     "any-track (one fake face = fake stream), majority-of-tracks, frame-max."),
    ] = "any-track",
    confirm_hits: Annotated[
        int,
        typer.Option("--confirm-hits", min=0, help="Good detections that confirm a face track, "
                     "in a row (only confirmed tracks vote; 0 = every track votes)."),
    ] = 3,
    confirm_score: Annotated[
        float,
        typer.Option("--confirm-score", min=0.0, max=0.999,
                     help="Smallest detector score of a good detection."),
    ] = 0.95,
    confirm_min_side: Annotated[
        float,
        typer.Option("--confirm-min-side", min=0.0,
                     help="Smallest face side (pixels) of a good detection."),
    ] = 40.0,
    confirm_landmarks: Annotated[
        bool,
        typer.Option("--confirm-landmarks/--no-confirm-landmarks",
                     help="A good detection needs plausible landmarks (eyes above nose above "
                     "mouth, eye distance fitting the box)."),
    ] = True,
    weighting: Annotated[
        str,
        typer.Option("--weighting", help="Crop quality in the votes: none, weight, gate."),
    ] = "none",
    quality_gate: Annotated[
        float,
        typer.Option("--quality-gate", min=0.0, max=1.0,
                     help="Smallest crop quality that votes with --weighting gate."),
    ] = 0.2,
    threshold: Annotated[
        float | None,
        typer.Option("--threshold", help="Decision threshold on p_fake (default: the model's)."),
    ] = None,
    settled_hz: SettledHz = DEFAULT_SETTLED_HZ,
    budget_margin: BudgetMargin = 0.25,
    crops_per_s: CropsPerS = "0",
    events: Annotated[
        Path | None,
        typer.Option("--events", help="Append verdict events as JSON Lines here ('-' = stdout)."),
    ] = None,
    summary: Annotated[
        Path | None,
        typer.Option("--summary", help="Write the per-stream summary CSV here."),
    ] = None,
    annotate: Annotated[
        Path | None,
        typer.Option("--annotate", help="Write an annotated video (.mp4 = mp4v, .avi = MJPG)."),
    ] = None,
    retain: Annotated[
        str | None,
        typer.Option("--retain", help="Delete events older than this (7d, 12h, 30m): the "
                     "--events file is rotated and its old segments pruned."),
    ] = None,
    retain_size: Annotated[
        str | None,
        typer.Option("--retain-size", help="Keep the --events file and its segments within "
                     "this size (500MB, 2GB)."),
    ] = None,
    give_up_after: Annotated[
        float,
        typer.Option("--give-up-after", min=0.0, help="Give up on a camera or stream after "
                     "this many seconds without a frame (0 = retry forever)."),
    ] = 0.0,
    live: Annotated[
        bool,
        typer.Option(
            "--live/--no-live",
            help="Live console view (only when stdout is a terminal).",
        ),
    ] = True,
    metrics_port: Annotated[
        int,
        typer.Option(
            "--metrics-port", min=0, max=65535,
            help="Serve /metrics and /healthz on this port (0 = off).",
        ),
    ] = 0,
    metrics_host: Annotated[
        str,
        typer.Option("--metrics-host", help="Address the metrics server binds to "
                     "(beyond loopback only with --metrics-public)."),
    ] = "127.0.0.1",
    max_frames: Annotated[
        int,
        typer.Option(
            "--max-frames", min=0,
            help="Stop each stream after this many frames (0 = no limit).",
        ),
    ] = 0,
    duration: Annotated[
        float,
        typer.Option("--duration", min=0.0, help="Stop after this many seconds (0 = no limit)."),
    ] = 0.0,
    realtime: Annotated[
        bool,
        typer.Option("--realtime", help="Read files at their frame rate, like a camera."),
    ] = False,
    loop: Annotated[
        bool,
        typer.Option("--loop", help="Loop files and folders forever."),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the run summary as JSON."),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="No console table."),
    ] = False,
    web: Annotated[
        str | None,
        typer.Option("--web", help="Live web page on HOST:PORT (also serves /metrics); "
                     "loopback only unless --web-public. docs/WEB.md"),
    ] = None,
    web_public: Annotated[
        bool,
        typer.Option("--web-public", help="Allow --web on a non-loopback address (the page "
                     "shows faces: docs/WEB.md)."),
    ] = False,
    web_host: WebHost = None,
    metrics_public: MetricsPublic = False,
    mqtt: Annotated[
        str | None,
        typer.Option("--mqtt", help="Publish alerts to mqtt://HOST:PORT/PREFIX (port and "
                     "prefix optional; needs the alerts extra; credentials from "
                     "$DEEPSCREEN_MQTT_*). "
                     "docs/ALERTS.md"),
    ] = None,
    webhook: Annotated[
        str | None,
        typer.Option("--webhook", help="POST alerts as JSON to this URL "
                     "(token from $DEEPSCREEN_WEBHOOK_TOKEN)."),
    ] = None,
    mqtt_ca: MqttCa = None,
    mqtt_cert: MqttCert = None,
    mqtt_key: MqttKey = None,
    outbox_dir: OutboxDir = None,
    ha_discovery: Annotated[
        bool,
        typer.Option("--ha-discovery", help="Publish Home Assistant MQTT discovery configs."),
    ] = False,
    snapshots: Annotated[
        bool,
        typer.Option("--snapshots/--no-snapshots", help="Attach a JPEG of the face to "
                     "fake-track alerts."),
    ] = True,
    state_every: Annotated[
        float,
        typer.Option("--state-every", min=0.0, help="Seconds between per-stream state "
                     "alerts (0 = only at the end)."),
    ] = 10.0,
) -> None:
    """Screen video sources for deepfaked faces; the exit code is the verdict.

    0 real, 3 fake, 4 no decision, 1 runtime error, 2 usage error.
    """
    from engine.errors import UsageError
    from engine.pipeline import ClassifierSpec, PipelineConfig, PipelineMetrics, build_pipeline

    config = PipelineConfig(
        detect_every=detect_every, classify_every=classify_every, min_face=min_face,
        margin=margin, max_batch=max_batch, max_wait_ms=max_wait_ms, rule=rule, window=window,
        min_frames=min_frames, hysteresis=hysteresis, threshold=threshold,
        max_frames=max_frames, duration_s=duration, stream_rule=stream_rule,
        confirm=_confirm_config(confirm_hits, confirm_score, confirm_min_side, confirm_landmarks),
        weighting=weighting, quality_gate=quality_gate,
        budget=budget_config(settled_hz, budget_margin, crops_per_s),
    ).validate()
    if events is not None and str(events) == "-" and as_json:
        raise UsageError("--events - and --json both write to stdout: choose one")
    check_metrics_bind(metrics_host, metrics_port, metrics_public)
    stop = threading.Event()
    metrics = PipelineMetrics() if metrics_port or web else None
    files = build_file_sinks(events, summary, annotate, retain=retain, retain_size=retain_size,
                             registry=metrics.registry if metrics is not None else None)
    outputs = build_live_outputs(
        web=web, web_public=web_public, mqtt=mqtt, webhook=webhook, ha_discovery=ha_discovery,
        snapshots=snapshots, state_every=state_every, outbox_dir=outbox_dir,
        mqtt_tls=(mqtt_ca, mqtt_cert, mqtt_key),
        registry=metrics.registry if metrics is not None else None)
    if outputs.web_bind is not None:  # one server: the page and /metrics side by side
        if metrics_port and metrics_port != outputs.web_bind[1]:
            outputs.abort()
            raise UsageError("--web serves /metrics too: drop --metrics-port or give the same port")
        metrics_host, metrics_port = outputs.web_bind
    # Everything that can fail for a user reason is built before any source starts.
    try:
        pipeline = build_pipeline(
            sources, config,
            classifier=ClassifierSpec(backend=backend, model=model, url=backend_url,
                                      remote_model=remote_model, spectral=spectral),
            sinks=_sinks(files, live and not as_json, quiet or as_json)
            + outputs.sinks,
            metrics=metrics, stop_event=stop,
            source_opts={"realtime": realtime or None, "loop": loop or None,
                         "give_up_after": give_up_after or None},
        )
    except BaseException:
        outputs.abort()
        raise
    outputs.bind(pipeline)
    server = None
    if metrics is not None:
        server = start_server(metrics, pipeline, outputs, metrics_host, metrics_port, web_host)
    previous = _install_signal_handlers(stop)
    try:
        result = pipeline.run()
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        outputs.close()
        if server is not None:
            server.stop()
    if as_json:
        typer.echo(result.to_json())
    if result.error:
        typer.secho(f"error: {result.error}", err=True, fg=typer.colors.RED)
    raise typer.Exit(result.exit_code)
