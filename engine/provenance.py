"""Which model raised a verdict: the fields every event and alert carries.

An alert that cannot be traced to the model and the threshold that produced it cannot be
audited after a model update. :func:`model_sha256` finds the hash of the network behind a
classifier; :func:`provenance` is the dict stamped on every
:class:`~engine.judge.records.VerdictEvent` (``extra``) and on every alert payload.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

_CACHE: dict[tuple[str, int, int], str] = {}
_LOCK = threading.Lock()


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, cached per (path, size, mtime): a run hashes its model once."""
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    with _LOCK:
        _CACHE[key] = digest.hexdigest()
    return _CACHE[key]


def model_sha256(classifier: object) -> str | None:
    """SHA-256 of the model behind ``classifier`` (a Classifier or a bare backend).

    ONNX Runtime backends hash their ONNX file; TensorRT engines report the hash of the ONNX
    they were built from (their manifest); a remote server's model is unknown here (None).
    """
    backend = getattr(classifier, "backend", classifier)
    path = getattr(backend, "model_path", None)
    if path is not None and Path(path).is_file():
        return file_sha256(Path(path))
    manifest = getattr(backend, "manifest", None)
    digest = getattr(manifest, "onnx_sha256", None)
    return str(digest) if digest else None


def provenance(classifier: object, threshold: float) -> dict[str, object]:
    """``{"model_sha256": ..., "threshold": ...}`` for events and alerts."""
    return {"model_sha256": model_sha256(classifier), "threshold": round(float(threshold), 6)}
