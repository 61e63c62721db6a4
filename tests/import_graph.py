"""Read the project's import graph from the source text (nothing is imported).

Shared by the layering and cycle tests. Every import counts, including those inside functions:
a lazy import is still a dependency, only a deferred one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "bench", "deepscreen_cli", "train", "export", "calibration")
# Calls whose first string argument names a module.
IMPORTING_CALLS = {"import_module", "find_spec", "__import__"}


def module_name(path: Path, root: Path = REPO) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_files(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def imported_names(path: Path, root: Path = REPO) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for every import in ``path``, a file under ``root`` (the
    checkout, or a copy of its layout elsewhere)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path, root)
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base if is_pkg else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            yield node.lineno, prefix
            for alias in node.names:  # `from pkg import module` names a module too
                yield node.lineno, f"{prefix}.{alias.name}"
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in IMPORTING_CALLS and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    yield node.lineno, arg.value


def module_graph(packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """Edges between the project's own modules (files), from every import statement."""
    modules = {module_name(p): p for pkg in packages for p in package_files(pkg)}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        for _, name in imported_names(path):
            # `from a.b import c`: c is a module when a/b/c.py exists, else a name in a.b.
            target = name
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != mod:
                graph[mod].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out
