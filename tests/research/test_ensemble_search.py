"""research/ensemble_search.py: every combination's validation AUC, and the pick it reports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import mini_registry
from tests.engine.backends.tiny_classifier import write_tiny_classifier

REPO = Path(__file__).resolve().parents[2]


def test_search_prints_every_combination_on_the_validation_split(tmp_path: Path) -> None:
    faces = mini_registry(tmp_path)
    a = write_tiny_classifier(tmp_path / "a.onnx")
    b = write_tiny_classifier(tmp_path / "b.onnx", spectral=False)
    out = subprocess.run(
        [sys.executable, "research/ensemble_search.py", str(a), str(b), "--faces", str(faces),
         "--cache-dir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.startswith(f"| {tmp_path}")]
    assert len(rows) == 3  # a, b, a + b
    assert any(f"{a} + {b}" in r and "| 2 |" in r for r in rows)
    assert "| mini canonical | mini fitted | mean |" in out.stdout.splitlines()[0]
    chosen = out.stdout.strip().splitlines()[-1]
    assert chosen.startswith("validation faces: ") and "chosen" in chosen
    # The pick follows the rule: best mean AUC, the pair only if it adds >= 0.002.
    mean = {r.split("|")[1].strip(): float(r.split("|")[5]) for r in rows}
    single = max((str(a), str(b)), key=lambda n: mean[n])
    pair = f"{a} + {b}"
    want = pair if mean[pair] >= mean[single] + 0.002 - 1e-4 else single
    assert f"): {want} (" in chosen
