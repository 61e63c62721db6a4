"""Read, check and explain a screening config file: errors name the key and the line.

:func:`load_screen_file` is the one way in: YAML with line numbers, no credential written in
the file, ``${NAME}`` expanded from the environment, the schema (:mod:`engine.config.schema`),
then the engine's own checks of every stream's pipeline configuration. :func:`apply_flags`
lays command-line values over the file; :func:`show_text` prints the effective result with
every secret redacted by the runtime's one redaction (:func:`engine.sources.scrub.redact`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from engine.config.envsubst import EnvError, expand, has_reference
from engine.config.schema import ScreenFile, StreamSettings
from engine.config.yaml_lines import LinedYaml, YamlError, load_lined
from engine.errors import UsageError
from engine.sources.scrub import redact


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a config file."""

    key: str
    line: int
    message: str


class ConfigError(UsageError):
    """A config file that cannot be used; its message lists every problem, one a line, as
    ``FILE:LINE: key: message``."""

    def __init__(self, path: Path | str, problems: list[Problem]) -> None:
        self.path = Path(path)
        self.problems = problems
        super().__init__("\n".join(
            f"{path}:{p.line}: {p.key or '(file)'}: {p.message}" for p in problems))


@dataclass
class LoadedConfig:
    """A checked config file: its model, where it came from and the line of every key."""

    file: ScreenFile
    path: Path
    lines: dict[tuple, int] = field(default_factory=dict)

    def line_of(self, *path: Any) -> int:
        return LinedYaml(None, self.lines).line_of(path)


def _key(path: tuple) -> str:
    return ".".join(str(p) for p in path)


def _strings(data: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    if isinstance(data, Mapping):
        for k, v in data.items():
            yield from _strings(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _strings(v, (*path, i))
    elif isinstance(data, str):
        yield path, data


def _set(data: Any, path: tuple, value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _prepare(doc: LinedYaml, environ: Mapping[str, str] | None) -> list[Problem]:
    """Refuse credentials written in the file, then expand ``${NAME}`` in place."""
    problems = []
    for path, text in list(_strings(doc.data)):
        line = doc.line_of(path)
        if not has_reference(text) and redact(text) != text:
            problems.append(Problem(_key(path), line, "holds a credential: keep it in an "
                                    "environment variable and write ${NAME} here"))
            continue
        try:
            _set(doc.data, path, expand(text, environ))
        except EnvError as exc:
            problems.append(Problem(_key(path), line, str(exc)))
    return problems


def _schema_problems(doc: LinedYaml, exc: ValidationError) -> list[Problem]:
    out = []
    for err in exc.errors():
        path = tuple(p for p in err["loc"] if p != "[key]")
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key (a typo?)"
        out.append(Problem(_key(path), doc.line_of(path), message))
    return out


def parse_screen_file(text: str, path: Path | str = "<config>",
                      environ: Mapping[str, str] | None = None) -> LoadedConfig:
    """Check the text of a config file (see :func:`load_screen_file`)."""
    try:
        doc = load_lined(text)
    except YamlError as exc:
        raise ConfigError(path, [Problem("", exc.line, str(exc))]) from None
    if doc.data is None:
        doc.data = {}
    if not isinstance(doc.data, dict):
        raise ConfigError(path, [Problem("", doc.line_of(()), "the file must be a mapping "
                                         "of sections (model, defaults, streams, ...)")])
    problems = _prepare(doc, environ)
    if problems:
        raise ConfigError(path, problems)
    try:
        screen = ScreenFile.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(path, _schema_problems(doc, exc)) from None
    loaded = LoadedConfig(screen, Path(path), doc.lines)
    check_pipeline(loaded)
    return loaded


def load_screen_file(path: Path | str, environ: Mapping[str, str] | None = None
                     ) -> LoadedConfig:
    """Load and check a screening config file.

    Args:
        path: the YAML file.
        environ: where ``${NAME}`` references are looked up (default: ``os.environ``).

    Raises:
        ConfigError: every problem found, each with its key and line: unreadable file, bad
            YAML, duplicate or unknown key, credential written in the file, unset variable,
            value out of range, inconsistent pipeline settings.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [Problem("", 0, f"cannot read: {exc}")]) from None
    return parse_screen_file(text, path, environ)


def check_pipeline(loaded: LoadedConfig) -> None:
    """The engine's own checks (those that relate several keys), located in the file."""
    from engine.config.build import pipeline_config

    try:
        pipeline_config(loaded.file).validate()
    except UsageError as exc:
        message = str(exc)
        name = message[len("stream "):].split(":", 1)[0] if message.startswith("stream ") else ""
        path = ("streams", name) if name in loaded.file.streams else ("pipeline",)
        raise ConfigError(loaded.path, [Problem(_key(path), loaded.line_of(*path),
                                                message)]) from None


# Command-line options that set a key of the file: (section, key). Keys of ``defaults`` are
# per-stream: a flag given on the command line sets them for every stream, overriding the
# streams' own entries too ("flags override the file").
FLAG_KEYS: dict[str, tuple[str, str]] = {
    **{n: ("model", k) for n, k in (("backend", "backend"), ("model", "path"),
                                     ("backend_url", "url"), ("remote_model", "remote_model"),
                                     ("spectral", "spectral"))},
    **{n: ("pipeline", n) for n in (
        "margin", "max_batch", "max_wait_ms", "rule", "window", "min_frames", "hysteresis",
        "weighting", "quality_gate", "confirm_hits", "confirm_score", "confirm_min_side",
        "confirm_landmarks", "max_frames", "duration", "settled_hz", "budget_margin",
        "crops_per_s", "full_detect_every")},
    **{n: ("outputs", n) for n in ("events", "summary", "annotate", "retain", "retain_size",
                                   "quiet", "live")},
    "as_json": ("outputs", "json"),
    **{n: ("defaults", n) for n in StreamSettings.model_fields},
    "web": ("web", "bind"), "web_public": ("web", "public"), "web_host": ("web", "hosts"),
    "metrics_port": ("metrics", "port"), "metrics_host": ("metrics", "host"),
    "metrics_public": ("metrics", "public"),
    **{n: ("alerts", n) for n in ("mqtt", "webhook", "mqtt_ca", "mqtt_cert", "mqtt_key",
                                  "outbox_dir", "ha_discovery", "snapshots", "state_every")},
}


def apply_flags(screen: ScreenFile, flags: Mapping[str, Any]) -> ScreenFile:
    """``screen`` with the given command-line values laid over it (unknown names ignored).

    Raises:
        UsageError: a value the schema refuses.
    """
    data = screen.model_dump(by_alias=True, exclude_none=False)
    for name, value in flags.items():
        if name not in FLAG_KEYS:
            continue
        section, key = FLAG_KEYS[name]
        data[section][key] = str(value) if key == "events" and value is not None else value
        if section == "defaults":
            for stream in data["streams"].values():
                stream[key] = None
    try:
        return ScreenFile.model_validate(data)
    except ValidationError as exc:
        raise UsageError("; ".join(f"{_key(e['loc'])}: {e['msg']}" for e in exc.errors())
                         ) from None


def _redacted(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _redacted(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_redacted(v) for v in data]
    return redact(data) if isinstance(data, str) else data


def show_text(screen: ScreenFile) -> str:
    """The effective config as YAML: each stream with every per-stream value it runs with
    (defaults filled in), every secret redacted."""
    data = screen.model_dump(mode="json", by_alias=True)
    for name, stream in data["streams"].items():
        stream.update(screen.effective(name).model_dump(mode="json"))
        data["streams"][name] = {"source": stream.pop("source"), **stream}
    return yaml.safe_dump(_redacted(data), sort_keys=False, allow_unicode=True)
