"""ONNX Runtime sessions for the three MTCNN nets, loaded once and reused for every frame."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import ModelError
from engine.paths import MODELS_DIR

DEFAULT_MODEL_DIR = MODELS_DIR
# Output names fixed by export/mtcnn.py; checked on load so a foreign file fails clearly.
EXPECTED_OUTPUTS = {
    "pnet": ("reg", "prob"),
    "rnet": ("reg", "prob"),
    "onet": ("reg", "landmarks", "prob"),
}


def _session_options(threads: int | None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    # Spinning worker threads steal the few cores of an edge box from the rest of the
    # pipeline (measured ~3x slower end to end with torch or other sessions in the process).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    if threads is not None:
        options.intra_op_num_threads = int(threads)
    options.log_severity_level = 3
    return options


def load_session(path: Path, name: str, providers: list[str] | None, threads: int | None):
    """Open one MTCNN ONNX file and check its outputs.

    Raises:
        ModelError: the file is missing, unreadable, or not the expected net.
    """
    import onnxruntime as ort

    if not path.is_file():
        raise ModelError(
            f"MTCNN model {path} is missing; run `deepscreen export mtcnn --out {path.parent}` "
            "or reinstall deepscreen"
        )
    try:
        session = ort.InferenceSession(
            str(path),
            sess_options=_session_options(threads),
            providers=providers or ["CPUExecutionProvider"],
        )
    except Exception as exc:  # ORT raises several pybind types for corrupt files
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot load MTCNN model {path}: {first_line}") from exc
    outputs = tuple(o.name for o in session.get_outputs())
    if outputs != EXPECTED_OUTPUTS[name]:
        raise ModelError(
            f"{path} is not an MTCNN {name}: outputs {outputs}, expected {EXPECTED_OUTPUTS[name]}"
        )
    return session


@dataclass
class MTCNNNets:
    """The three sessions. Inputs are NCHW float32 RGB, already normalised."""

    pnet: object
    rnet: object
    onet: object

    @classmethod
    def load(
        cls,
        model_dir: Path | None = None,
        providers: list[str] | None = None,
        threads: int | None = None,
    ) -> MTCNNNets:
        """Open ``{pnet,rnet,onet}.onnx`` from ``model_dir`` (default: the bundled models)."""
        folder = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
        return cls(
            *(
                load_session(folder / f"{name}.onnx", name, providers, threads)
                for name in ("pnet", "rnet", "onet")
            )
        )

    def run_pnet(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(1, 3, H, W) -> reg (1, 4, h, w), prob (1, 2, h, w)."""
        reg, prob = self.pnet.run(None, {"image": x})
        return reg, prob

    def run_rnet(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 3, 24, 24) -> reg (N, 4), prob (N, 2)."""
        reg, prob = self.rnet.run(None, {"image": x})
        return reg, prob

    def run_onet(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(N, 3, 48, 48) -> reg (N, 4), landmarks (N, 10), prob (N, 2)."""
        reg, landmarks, prob = self.onet.run(None, {"image": x})
        return reg, landmarks, prob
