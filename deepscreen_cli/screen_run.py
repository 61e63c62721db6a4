"""One `deepscreen screen` run, from its settings to its summary.

The settings are one :class:`~engine.config.ScreenFile`: the ``--config`` file when given
(streams with their own overrides, outputs and alert topics), with every flag given on the
command line laid over it; without a file, the flags alone and the sources on the command line.
Everything that can fail for a user reason is built before any source starts.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deepscreen_cli.file_outputs import build_file_sinks
from deepscreen_cli.live_outputs import build_live_outputs, check_metrics_bind, start_server
from engine.config import ScreenFile, apply_flags, load_screen_file
from engine.config.build import classifier_spec, pipeline_config, source_options
from engine.errors import UsageError
from engine.sinks.guard import OutputFaults

log = logging.getLogger("deepscreen_cli.screen")


@dataclass
class ScreenRun:
    """What one run screens and how.

    Attributes:
        screen: the effective settings (file + flags).
        sources: source specs from the command line (only without a config file).
        config_path: the config file, if any.
    """

    screen: ScreenFile
    sources: list[str] = field(default_factory=list)
    config_path: Path | None = None


def screen_settings(params: Mapping[str, Any], given: set[str], config: Path | None,
                    sources: list[str] | None) -> ScreenRun:
    """The run's settings: the config file (if any) with the flags in ``given`` laid over it.

    Raises:
        UsageError: neither sources nor a config file, both, or a file without streams.
        ConfigError: the config file does not pass its checks (key and line named).
    """
    if config is None:
        if not sources:
            raise UsageError("give the sources to screen (SOURCE...) or --config FILE")
        base = ScreenFile()
    else:
        if sources:
            raise UsageError(f"--config {config} names the streams: give no SOURCE as well")
        base = load_screen_file(config).file
        if not base.streams:
            raise UsageError(f"{config}: no streams to screen (add a streams: section)")
    screen = apply_flags(base, {k: params[k] for k in given})
    pipeline_config(screen).validate()  # a flag can make the file's values inconsistent
    return ScreenRun(screen, list(sources or []), config)


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


def _file_sinks(screen: ScreenFile, registry) -> tuple[list, OutputFaults]:
    """The run-wide file outputs, then each stream's own (seeing that stream only), and the
    record of the outputs they lose (for /healthz)."""
    from engine.sinks.select import StreamOnly

    out, faults = screen.outputs, OutputFaults(registry)
    if (out.retain or out.retain_size) and not (
            out.events or any(s.outputs.events for s in screen.streams.values())):
        raise UsageError("--retain and --retain-size apply to --events: give --events FILE")
    sinks = build_file_sinks(
        Path(out.events) if out.events else None, out.summary, out.annotate,
        retain=out.retain if out.events else None,
        retain_size=out.retain_size if out.events else None, faults=faults)
    for name, stream in screen.streams.items():
        own = stream.outputs
        sinks += [StreamOnly(s, name) for s in build_file_sinks(
            Path(own.events) if own.events else None, own.summary, own.annotate,
            retain=out.retain if own.events else None,
            retain_size=out.retain_size if own.events else None,
            where=f"streams.{name}.outputs.", faults=faults)]
    return sinks, faults


def _console_sinks(screen: ScreenFile) -> list:
    """A live view (only on a terminal) and the console table, as asked for."""
    from engine.sinks import ConsoleTable, LiveView

    out = screen.outputs
    sinks: list = []
    if out.live and not out.json_summary and sys.stdout.isatty():
        sinks.append(LiveView())
    if not (out.quiet or out.json_summary):
        sinks.append(ConsoleTable())
    return sinks


def _open_streams(screen: ScreenFile) -> list:
    """The config file's streams, opened (not started) under their names, each with its own
    source options."""
    from engine.sources import open_source

    opened: list = []
    try:
        for name, stream in screen.streams.items():
            opened.append(open_source(stream.source, name=name,
                                      **source_options(screen, name)))
    except BaseException:
        for src in opened:
            src.stop()
        raise
    return opened


def run_screen(run: ScreenRun):
    """Screen until the sources end or a signal stops the run; returns the RunSummary.

    Raises:
        UsageError, InputError, ModelError, BackendUnavailable: before any source starts.
    """
    from engine.pipeline import PipelineMetrics, build_pipeline

    s = run.screen
    config = pipeline_config(s).validate()
    if s.outputs.events == "-" and s.outputs.json_summary:
        raise UsageError("--events - and --json both write to stdout: choose one")
    metrics_host, metrics_port = s.metrics.host, s.metrics.port
    check_metrics_bind(metrics_host, metrics_port, s.metrics.public)
    stop = threading.Event()
    metrics = PipelineMetrics() if metrics_port or s.web.bind else None
    registry = metrics.registry if metrics is not None else None
    files, faults = _file_sinks(s, registry)
    a = s.alerts
    outputs = build_live_outputs(
        web=s.web.bind, web_public=s.web.public, mqtt=a.mqtt, webhook=a.webhook,
        ha_discovery=a.ha_discovery, snapshots=a.snapshots, state_every=a.state_every,
        outbox_dir=a.outbox_dir, mqtt_tls=(a.mqtt_ca, a.mqtt_cert, a.mqtt_key),
        registry=registry)
    if outputs.web_bind is not None:  # one server: the page and /metrics side by side
        if metrics_port and metrics_port != outputs.web_bind[1]:
            outputs.abort()
            raise UsageError("--web serves /metrics too: drop --metrics-port or give the same port")
        metrics_host, metrics_port = outputs.web_bind
    try:
        sources = run.sources or _open_streams(s)
        pipeline = build_pipeline(
            sources, config, classifier=classifier_spec(s),
            sinks=files + _console_sinks(s) + outputs.sinks, metrics=metrics, stop_event=stop,
            source_opts=source_options(s) if run.sources else None)
    except BaseException:
        outputs.abort()
        raise
    outputs.bind(pipeline, {n: st.alert_topic for n, st in s.streams.items() if st.alert_topic})
    server = None
    if metrics is not None:
        server = start_server(metrics, pipeline, outputs, metrics_host, metrics_port,
                              s.web.hosts, faults=faults)
    previous = _install_signal_handlers(stop)
    try:
        return pipeline.run()
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        outputs.close()
        if server is not None:
            server.stop()
