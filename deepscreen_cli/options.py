"""Command-line options shared by `screen`, `demo`, `bench`, `calibrate`, `verify` and `export`,
in groups.

Each option is an annotated type, declared once: a command lists the ones it takes, so the same
flag has the same name, range and help everywhere. Every option of `screen` that the config
file can also set is named like its key (engine/config/load.py: FLAG_KEYS); a flag given on
the command line overrides the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Opt = typer.Option

# ---------------------------------------------------------------- classifier (screen, demo, bench)
Backend = Annotated[str, Opt("--backend", "-b", help="Classifier backend: auto, ort, tensorrt, "
                             "torch, remote.")]
Model = Annotated[Path | None, Opt("--model", help="Classifier model (default: the shipped "
                                   "classifier.onnx; on ONNX Runtime's CPU its single-pass twin, "
                                   "docs/EXPORT.md).")]
BackendUrl = Annotated[str | None, Opt("--backend-url", help="host:port of an Open Inference "
                                       "Protocol server (Triton, MLServer) for remote.")]
RemoteModel = Annotated[str, Opt("--remote-model", help="Model name on the remote server "
                                 "(e.g. deepscreen_trt_fp16).")]
Spectral = Annotated[str, Opt("--spectral", help="Spectral feature: auto, cuda, cpu.")]

# ------------------------------------------------------- labelled faces (verify, export fp16/int8)
# The one labelling rule (train/labelled.py): real*/fake* folders at any depth.
LabelledData = Annotated[list[Path] | None, Opt("--data", help="Labelled face folder(s): "
                                                "real*/fake* subfolders at any depth. Repeatable; "
                                                "default: ../shared/data/faces.")]

# ------------------------------------------------------------ detection (screen, bench, calibrate)
DetectEvery = Annotated[int, Opt("--detect-every", "-k", min=1,
                                 help="Run the face detector on every k-th frame.")]
ClassifyEvery = Annotated[int, Opt("--classify-every", "-m", min=1,
                                   help="Classify each tracked face on every m-th frame.")]
MinFace = Annotated[int, Opt("--min-face", min=12, help="Smallest face side in pixels.")]
Margin = Annotated[float | None, Opt("--margin", help="Crop margin around the face box "
                                     "(default: the model's).")]
MaxBatch = Annotated[int, Opt("--max-batch", min=1, help="Most crops per classifier call.")]
MaxWaitMs = Annotated[float, Opt("--max-wait-ms", min=0.0,
                                 help="Longest a crop waits for its batch to fill.")]

# ----------------------------------------------------------------- voting (screen, demo)
Rule = Annotated[str, Opt("--rule", help="Voting rule: confident (DFDC), majority (Durall), "
                          "mean.")]
Window = Annotated[int, Opt("--window", min=0, help="Frame probabilities per vote "
                            "(0 = whole stream).")]
MinFrames = Annotated[int, Opt("--min-frames", min=1, help="Frames needed before a verdict "
                               "(until then: uncertain).")]
Hysteresis = Annotated[float, Opt("--hysteresis", min=0.0, max=0.49, help="Band around the "
                                  "threshold that keeps verdicts stable.")]
StreamRule = Annotated[str, Opt("--stream-rule", help="How confirmed face tracks make the "
                                "stream verdict: any-track (one fake face = fake stream), "
                                "majority-of-tracks, frame-max.")]
ConfirmHits = Annotated[int, Opt("--confirm-hits", min=0, help="Good detections that confirm a "
                                 "face track, in a row (only confirmed tracks vote; 0 = every "
                                 "track votes).")]
ConfirmScore = Annotated[float, Opt("--confirm-score", min=0.0, max=0.999,
                                    help="Smallest detector score of a good detection.")]
ConfirmMinSide = Annotated[float, Opt("--confirm-min-side", min=0.0,
                                      help="Smallest face side (pixels) of a good detection.")]
ConfirmLandmarks = Annotated[bool, Opt("--confirm-landmarks/--no-confirm-landmarks",
                                       help="A good detection needs plausible landmarks (eyes "
                                       "above nose above mouth, eye distance fitting the box).")]
Weighting = Annotated[str, Opt("--weighting", help="Crop quality in the votes: none, weight, "
                               "gate.")]
QualityGate = Annotated[float, Opt("--quality-gate", min=0.0, max=1.0, help="Smallest crop "
                                   "quality that votes with --weighting gate.")]
VoteMinFace = Annotated[float | None, Opt("--vote-min-face", min=0.0, help="Faces with a "
                                          "smaller side (pixels) are classified and reported "
                                          "but do not vote; a stream with no larger face ends "
                                          "no decision (default: the model's floor, 44 for "
                                          "v9; 0 = every face votes).")]
Threshold = Annotated[float | None, Opt("--threshold", help="Decision threshold on p_fake "
                                        "(default: the model's).")]

# ---------------------------------------------------------------- sources and limits (screen)
Config = Annotated[Path | None, Opt("--config", "-c", help="Screening config file (YAML: "
                                    "streams and their settings; flags override it). "
                                    "docs/SCREEN_CONFIG.md")]
GiveUpAfter = Annotated[float, Opt("--give-up-after", min=0.0, help="Give up on a camera or "
                                   "stream after this many seconds without a frame "
                                   "(0 = retry forever).")]
MaxFrames = Annotated[int, Opt("--max-frames", min=0, help="Stop each stream after this many "
                               "frames (0 = no limit).")]
Duration = Annotated[float, Opt("--duration", min=0.0, help="Stop after this many seconds "
                                "(0 = no limit).")]
Realtime = Annotated[bool, Opt("--realtime", help="Read files at their frame rate, like a "
                               "camera.")]
Loop = Annotated[bool, Opt("--loop", help="Loop files and folders forever.")]

# ---------------------------------------------------------------- file outputs (screen)
Events = Annotated[Path | None, Opt("--events", help="Append verdict events as JSON Lines here "
                                    "('-' = stdout).")]
Summary = Annotated[Path | None, Opt("--summary", help="Write the per-stream summary CSV here.")]
Annotate = Annotated[Path | None, Opt("--annotate", help="Write an annotated video "
                                      "(.mp4 = mp4v, .avi = MJPG).")]
Retain = Annotated[str | None, Opt("--retain", help="Delete events older than this (7d, 12h, "
                                   "30m): the --events file is rotated and its old segments "
                                   "pruned.")]
RetainSize = Annotated[str | None, Opt("--retain-size", help="Keep the --events file and its "
                                       "segments within this size (500MB, 2GB).")]
Live = Annotated[bool, Opt("--live/--no-live", help="Live console view (only when stdout is a "
                           "terminal).")]
AsJson = Annotated[bool, Opt("--json", help="Print the run summary as JSON.")]
Quiet = Annotated[bool, Opt("--quiet", "-q", help="No console table.")]

# ---------------------------------------------------------------- servers (screen; docs/WEB.md)
MetricsPort = Annotated[int, Opt("--metrics-port", min=0, max=65535, help="Serve /metrics and "
                                 "/healthz on this port (0 = off).")]
MetricsHost = Annotated[str, Opt("--metrics-host", help="Address the metrics server binds to "
                                 "(beyond loopback only with --metrics-public).")]
MetricsPublic = Annotated[bool, Opt(
    "--metrics-public", help="Allow --metrics-host on a non-loopback address (per-stream "
    "metrics describe what cameras see; set $DEEPSCREEN_WEB_TOKEN to require a token).")]
Web = Annotated[str | None, Opt("--web", help="Live web page on HOST:PORT (also serves "
                                "/metrics); loopback only unless --web-public. docs/WEB.md")]
WebPublic = Annotated[bool, Opt("--web-public", help="Allow --web on a non-loopback address "
                                "(the page shows faces: docs/WEB.md).")]
WebHost = Annotated[list[str] | None, Opt(
    "--web-host", help="A host name the page answers to besides localhost and IP addresses "
    "(repeatable; other Host headers are refused: DNS rebinding). docs/WEB.md")]

# ---------------------------------------------------------------- alerts (screen; docs/ALERTS.md)
Mqtt = Annotated[str | None, Opt("--mqtt", help="Publish alerts to mqtt://HOST:PORT/PREFIX "
                                 "(port and prefix optional; needs the alerts extra; credentials "
                                 "from $DEEPSCREEN_MQTT_*). docs/ALERTS.md")]
Webhook = Annotated[str | None, Opt("--webhook", help="POST alerts as JSON to this URL (token "
                                    "from $DEEPSCREEN_WEBHOOK_TOKEN).")]
MqttCa = Annotated[Path | None, Opt(
    "--mqtt-ca", help="CA certificates of the mqtts:// broker (default: the system's).")]
MqttCert = Annotated[Path | None, Opt(
    "--mqtt-cert", help="Client certificate for the mqtts:// broker.")]
MqttKey = Annotated[Path | None, Opt(
    "--mqtt-key", help="Private key of --mqtt-cert (password: $DEEPSCREEN_MQTT_KEY_PASSWORD).")]
OutboxDir = Annotated[Path | None, Opt(
    "--outbox-dir", help="Keep undelivered alerts in this folder: retried until delivered, "
    "across restarts (bounded, oldest dropped first). docs/ALERTS.md")]
HaDiscovery = Annotated[bool, Opt("--ha-discovery", help="Publish Home Assistant MQTT "
                                  "discovery configs.")]
Snapshots = Annotated[bool, Opt("--snapshots/--no-snapshots", help="Attach a JPEG of the face "
                                "to fake-track alerts.")]
StateEvery = Annotated[float, Opt("--state-every", min=0.0, help="Seconds between per-stream "
                                  "state alerts (0 = only at the end).")]
