"""YAML that remembers where each key was written: the line numbers behind every config error.

PyYAML's SafeLoader forgets positions once it builds Python objects; this module composes the
node tree first, records the line of every mapping key and sequence item by its path
(``("streams", "lobby", "threshold") -> 14``), then builds the data from the same nodes.
Duplicate keys, which YAML silently resolves to the last one, are refused: in a camera config
the first one is usually the one the author meant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[Any, ...]


class YamlError(ValueError):
    """A file that is not valid YAML, or that repeats a key.

    Attributes:
        line: 1-based line of the problem (0 when unknown).
    """

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class LinedYaml:
    """The data of a YAML document and the line of each path in it.

    Attributes:
        data: what ``yaml.safe_load`` would return.
        lines: 1-based line of every mapping key and sequence item, by path.
    """

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int:
        """The line of ``path``, else of its nearest ancestor that was written (0: none)."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 0)


def _walk(loader: yaml.SafeLoader, node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise YamlError(f"duplicate key {key!r} (first on line {seen[key]})", line)
            if isinstance(key, (str, int, float, bool)):
                seen[key] = line
                lines[(*path, key)] = line
                _walk(loader, value_node, (*path, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            _walk(loader, item, (*path, i), lines)


def load_lined(text: str) -> LinedYaml:
    """Parse one YAML document, keeping the line of every key.

    Raises:
        YamlError: a syntax error (with its line), a repeated key, or several documents.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return LinedYaml(None, {})
        lines: dict[Path_, int] = {(): node.start_mark.line + 1}
        _walk(loader, node, (), lines)
        return LinedYaml(loader.construct_document(node), lines)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YamlError(f"not valid YAML: {exc.problem or exc}", line) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
