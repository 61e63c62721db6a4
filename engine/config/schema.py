"""The screening config file (``deepscreen screen --config screen.yaml``), as pydantic models.

Frigate's shape: process-wide sections (``model``, ``pipeline``, ``outputs``, ``web``,
``metrics``, ``alerts``), per-stream ``defaults``, and a ``streams:`` map of named streams,
each with its ``source`` and any override of the defaults. Every section refuses unknown keys,
so a typo is an error with its line, not a setting silently ignored. docs/SCREEN_CONFIG.md
("The config file") shows a full file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from engine.budget import DEFAULT_SETTLED_HZ
from engine.judge.stream_vote import STREAM_RULES, WEIGHTINGS
from engine.judge.vote import RULES
from engine.pipeline.config import DEFAULT_FULL_DETECT_EVERY

StreamRule = Literal[STREAM_RULES]  # type: ignore[valid-type]
# Stream names label files, metrics and MQTT topics: keep them plain.
StreamName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class Section(BaseModel):
    """A part of the file: unknown keys are errors (a typo must not pass silently)."""

    model_config = ConfigDict(extra="forbid")


class ModelSection(Section):
    """The classifier (process-wide: every stream shares its batches)."""

    backend: str = "auto"
    path: Path | None = None
    url: str | None = None
    remote_model: str = "deepscreen"
    spectral: Literal["auto", "cuda", "cpu"] = "auto"


class PipelineSection(Section):
    """Batching, voting and limits: shared by every stream of the process."""

    margin: float | None = Field(None, ge=0.0, le=2.0)
    max_batch: int = Field(16, ge=1)
    max_wait_ms: float = Field(50.0, ge=0.0)
    rule: Literal[RULES] = "confident"  # type: ignore[valid-type]
    window: int = Field(64, ge=0)
    min_frames: int = Field(8, ge=1)
    hysteresis: float = Field(0.05, ge=0.0, le=0.49)
    weighting: Literal[WEIGHTINGS] = "none"  # type: ignore[valid-type]
    quality_gate: float = Field(0.2, ge=0.0, le=1.0)
    confirm_hits: int = Field(3, ge=0)
    confirm_score: float = Field(0.95, ge=0.0, le=0.999)
    confirm_min_side: float = Field(40.0, ge=0.0)
    confirm_landmarks: bool = True
    max_frames: int = Field(0, ge=0)
    duration: float = Field(0.0, ge=0.0)
    # The classification budget (engine/budget.py, docs/STREAMING.md).
    settled_hz: float = Field(DEFAULT_SETTLED_HZ, ge=0.0)
    budget_margin: float = Field(0.25, ge=0.01, le=1.0)
    crops_per_s: float | Literal["auto"] = 0.0
    # Detection around the tracks between full-frame ones (engine/detect/regions.py).
    full_detect_every: int = Field(DEFAULT_FULL_DETECT_EVERY, ge=0)

    @field_validator("crops_per_s")
    @classmethod
    def _rate(cls, value: float | str) -> float | str:
        if value != "auto" and not 0.0 <= float(value) < float("inf"):
            raise ValueError("a number >= 0 or 'auto'")
        return value


class StreamOutputs(Section):
    """Files that receive one stream only."""

    events: str | None = None
    summary: Path | None = None
    annotate: Path | None = None


class OutputsSection(StreamOutputs):
    """Files that receive every stream, and the console."""

    retain: str | None = None
    retain_size: str | None = None
    json_summary: bool = Field(False, alias="json")
    quiet: bool = False
    live: bool = True

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class WebSection(Section):
    """The live page (docs/WEB.md)."""

    bind: str | None = None
    public: bool = False
    hosts: list[str] = Field(default_factory=list)


class MetricsSection(Section):
    """Prometheus /metrics and /healthz."""

    port: int = Field(0, ge=0, le=65535)
    host: str = "127.0.0.1"
    public: bool = False


class AlertsSection(Section):
    """MQTT and webhook alerts (docs/ALERTS.md); credentials stay in $DEEPSCREEN_* variables."""

    mqtt: str | None = None
    webhook: str | None = None
    mqtt_ca: Path | None = None
    mqtt_cert: Path | None = None
    mqtt_key: Path | None = None
    outbox_dir: Path | None = None
    ha_discovery: bool = False
    snapshots: bool = True
    state_every: float = Field(10.0, ge=0.0)


class StreamSettings(Section):
    """What each stream may set for itself; ``None`` = the defaults' value."""

    threshold: float | None = Field(None, gt=0.0, lt=1.0)
    detect_every: int | None = Field(None, ge=1)
    classify_every: int | None = Field(None, ge=1)
    min_face: int | None = Field(None, ge=12)
    stream_rule: StreamRule | None = None
    # The vote floor (engine/judge/face_floor.py); null = the model's own.
    vote_min_face: float | None = Field(None, ge=0.0)
    give_up_after: float | None = Field(None, ge=0.0)
    realtime: bool | None = None
    loop: bool | None = None


class Defaults(StreamSettings):
    """The per-stream values of every stream that does not override them
    (``threshold: null`` = the model's own calibrated threshold, ``vote_min_face: null`` = the
    model's own vote floor)."""

    detect_every: int | None = Field(5, ge=1)
    classify_every: int | None = Field(1, ge=1)
    min_face: int | None = Field(40, ge=12)
    stream_rule: StreamRule | None = "any-track"
    give_up_after: float | None = Field(0.0, ge=0.0)
    realtime: bool | None = False
    loop: bool | None = False


class Stream(StreamSettings):
    """One named stream: its source, its overrides, its own outputs and alert topic."""

    source: str = Field(min_length=1)
    alert_topic: str | None = None
    outputs: StreamOutputs = Field(default_factory=StreamOutputs)

    @field_validator("alert_topic")
    @classmethod
    def _topic(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip("/") or any(c in value for c in "+# ")
                                  or "//" in value):
            raise ValueError("an MQTT topic path without '+', '#', spaces or empty levels")
        return value.strip("/") if value else value


class ScreenFile(Section):
    """A whole screening config file."""

    model: ModelSection = Field(default_factory=ModelSection)
    pipeline: PipelineSection = Field(default_factory=PipelineSection)
    outputs: OutputsSection = Field(default_factory=OutputsSection)
    web: WebSection = Field(default_factory=WebSection)
    metrics: MetricsSection = Field(default_factory=MetricsSection)
    alerts: AlertsSection = Field(default_factory=AlertsSection)
    defaults: Defaults = Field(default_factory=Defaults)
    streams: dict[StreamName, Stream] = Field(default_factory=dict)

    def effective(self, name: str) -> Defaults:
        """One stream's per-stream values: the defaults, with what the stream sets."""
        stream = self.streams[name]
        own = stream.model_dump(include=set(StreamSettings.model_fields), exclude_none=True)
        return self.defaults.model_copy(update=own)
