"""One data model: one labelled-file record, one labelling rule, one walk (train/labelled.py).

The static check reads the source text (nothing is imported): a class anywhere else with both a
path-like field and a ``label`` field is a second labelled-face record, which this forbids.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import UsageError
from tests.import_graph import PACKAGES, REPO
from train.labelled import (
    Sample,
    find_labelled,
    label_folder,
    label_of_folder,
    label_of_name,
    labelled_files,
)

THE_RECORD = ("train/labelled.py", "Sample")
PATH_FIELDS = {"path", "file", "clip", "image", "video"}
RECORD_BASES = {"NamedTuple", "TypedDict"}


def labelled_records(path: Path) -> list[str]:
    """Names of the record classes in ``path`` that hold a path-like field and a label."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.ClassDef):
            continue
        decorators = [ast.unparse(d) for d in node.decorator_list]
        bases = {ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases}
        if not (any("dataclass" in d for d in decorators) or bases & RECORD_BASES):
            continue
        fields = {s.target.id for s in node.body
                  if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)}
        if "label" in fields and fields & PATH_FIELDS:
            found.append(node.name)
    return found


def test_no_other_module_defines_a_labelled_face_record() -> None:
    folders = [*PACKAGES, "research", "scripts", "tests"]
    hits = [
        (path.relative_to(REPO).as_posix(), name)
        for folder in folders if (REPO / folder).is_dir()
        for path in sorted((REPO / folder).rglob("*.py"))
        for name in labelled_records(path)
    ]
    assert hits == [THE_RECORD], f"labelled records besides {THE_RECORD}: {hits}"


def test_the_check_sees_dataclasses_and_named_tuples(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from dataclasses import dataclass\n"
        "from typing import NamedTuple\n"
        "@dataclass(frozen=True)\n"
        "class A:\n    path: str\n    label: int\n"
        "class B(NamedTuple):\n    clip: str\n    label: str\n"
        "class C(typing.NamedTuple):\n    file: str\n    label: int\n"
        "@dataclass\n"
        "class Scores:\n    source: str\n    label: int\n"
    )
    assert labelled_records(probe) == ["A", "B", "C"]


def test_one_labelling_rule() -> None:
    assert [label_of_folder(n) for n in ("real", "Real_youtube", "fake-deepfakes", "FAKE",
                                         "misc", "unreal")] == [0, 0, 1, 1, None, None]
    assert label_of_name(" Fake ") == 1 and label_of_name("real") == 0
    with pytest.raises(ValueError, match="real or fake"):
        label_of_name("maybe")
    # The nearest labelled folder wins; the walk's root is the last folder looked at.
    assert label_folder(Path("d/fake-x/real/a/b.jpg")) == Path("d/fake-x/real")
    assert label_folder(Path("real/d/x/b.jpg"), root=Path("real/d")) is None
    assert label_folder(Path("real/d/x/b.jpg")) == Path("real")


def test_walk_labels_any_depth_and_counts_the_rest(tmp_path: Path) -> None:
    files = ["src/real/a.jpg", "src/real/deeper/b.png", "src/fake_gan/c.jpg",
             "src/misc/d.jpg", "src/real/notes.txt", "real_only/e.jpg"]
    for rel in files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    pairs, unlabelled = labelled_files(tmp_path)
    assert unlabelled == 1  # src/misc/d.jpg; notes.txt is not an image
    samples = find_labelled(tmp_path)
    rel = {Path(s.path).relative_to(tmp_path).as_posix(): (s.label, s.source) for s in samples}
    assert rel == {
        "real_only/e.jpg": (0, f"{tmp_path.name}/real_only"),
        "src/fake_gan/c.jpg": (1, "src/fake_gan"),
        "src/real/a.jpg": (0, "src/real"),
        "src/real/deeper/b.png": (0, "src/real"),
    }
    assert [s.path for s in samples] == [str(p) for p, _ in pairs]
    assert all(isinstance(s, Sample) and s.split == "" for s in samples)
    with pytest.raises(UsageError, match="real\\*/fake\\*"):
        find_labelled(tmp_path / "src" / "misc")
    with pytest.raises(UsageError, match="not found"):
        find_labelled(tmp_path / "missing")


def test_the_shared_module_needs_no_torch() -> None:
    code = ("import sys\nimport train.labelled, train.sources, train.splits\n"
            "import calibration.faces, calibration.splits\n"
            "print(','.join(m for m in sys.modules if m.split('.')[0] == 'torch'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO)
    assert out.stdout.strip() == ""
