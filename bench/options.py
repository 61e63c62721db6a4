"""What `deepscreen bench` can be told, and the detector it measures with.

Below both halves of the benchmark (the parent's runner and the torch child in
:mod:`bench.isolated`), so neither imports the other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.variants import check_backend_names
from engine.budget import BudgetConfig
from engine.errors import UsageError
from engine.pipeline import PipelineConfig, build_detector
from engine.protocols import FaceDetector

REALTIME_FPS = 25.0


@dataclass
class BenchOptions:
    """Everything `deepscreen bench` can be told (CLI flags map one to one)."""

    videos: list[Path] = field(default_factory=list)
    backends: list[str] = field(default_factory=lambda: ["ort", "ort-fp16", "ort-int8", "torch"])
    batch_sizes: list[int] = field(default_factory=lambda: [1, 8, 32])
    warmup: int = 10
    iterations: int = 100
    streams: list[int] = field(default_factory=lambda: [1, 2, 4, 8])
    out: Path = Path("bench-results")
    device: str = "cpu"
    model: Path | None = None
    model_fp16: Path | None = None
    model_int8: Path | None = None
    checkpoint: Path | None = None
    baseline: bool = True
    baseline_frames: int = 0
    detect_every: int = 5
    min_face: int = 40
    scaling_backend: str | None = None
    cuda_graphs: bool = True
    limits: bool = True
    engine: bool = True
    abba: bool = True
    settled_hz: float | None = None
    budget_check: bool = False
    street_frames: int = 0
    budget_check_frames: int = 0
    full_detect_every: int = 20

    def validate(self) -> BenchOptions:
        if self.device not in ("cpu", "cuda"):
            raise UsageError(f"--device must be cpu or cuda, got {self.device!r}")
        if self.warmup < 0 or self.iterations < 1:
            raise UsageError("--warmup must be >= 0 and --iterations >= 1")
        if not self.batch_sizes or min(self.batch_sizes) < 1:
            raise UsageError("--batch-sizes must be positive integers")
        if self.streams and min(self.streams) < 1:
            raise UsageError("--streams must be positive integers")
        if self.detect_every < 1 or self.min_face < 1:
            raise UsageError("--detect-every and --min-face must be >= 1")
        if self.street_frames < 0 or self.full_detect_every < 0:
            raise UsageError("--street-frames and --full-detect-every must be >= 0")
        if self.settled_hz is not None and self.settled_hz < 0:
            raise UsageError("--settled-hz must be >= 0")
        for v in self.videos:
            if not Path(v).is_file():
                raise UsageError(f"video not found: {v}")
        self.backends = check_backend_names(self.backends)
        return self

    def budget(self) -> BudgetConfig:
        """The classification budget of the runs (None: `deepscreen screen`'s default)."""
        if self.settled_hz is None:
            return BudgetConfig()
        return BudgetConfig(settled_hz=self.settled_hz)

    def as_dict(self) -> dict:
        """Plain values, to hand the options to a child process."""
        return asdict(self)

    @property
    def spectral_backend(self) -> str:
        # On --device cuda the CUDA extension is used when it is built and sees the GPU; the
        # results say which backend ran (doc["spectral_backend"]).
        return "auto" if self.device == "cuda" else "cpu"


def make_detector(opts: BenchOptions) -> FaceDetector:
    """The engine's MTCNN; on ``--device cuda`` its three nets run on ORT's CUDA provider when
    this ONNX Runtime build has it (the NMS and pyramid stay in numpy)."""
    import onnxruntime as ort

    providers = None
    if opts.device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return build_detector(PipelineConfig(min_face=opts.min_face), providers=providers)
