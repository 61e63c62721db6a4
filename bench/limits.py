"""Physical limits beside the measurements: the machine's matmul rate and memory bandwidth.

A measured classifier time means more next to what the hardware could do: the classifier's MACs
per crop (counted from the ONNX graph by :mod:`bench.flops`) divided by the measured
dense matmul rate is the fastest a crop could go; the spectral feature's minimum bytes moved
divided by the measured copy bandwidth is the same for the FFT stage. Rates are measured here,
in this process, never taken from a data sheet.

CPU rates use NumPy (float32 GEMM through its BLAS, a large array copy). GPU rates use torch
(FP16 GEMM on tensor cores, a device-to-device copy), imported only when ``device="cuda"``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from engine.timing import percentile


@dataclass(frozen=True)
class DeviceRates:
    """Measured peak-ish rates of one device.

    Attributes:
        device: "cpu" or "cuda".
        matmul_gflops: best of the repeats, dense GEMM of ``matmul_n`` x ``matmul_n``
            (float32 on CPU, float16 on CUDA), 2 flops per MAC.
        matmul_dtype: the GEMM's dtype.
        bandwidth_gbs: best of the repeats, bytes read + written per second by a large copy.
        detail: sizes used.
    """

    device: str
    matmul_gflops: float
    matmul_dtype: str
    bandwidth_gbs: float
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)


def _best_rate(fn, work: float, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return work / percentile(times, 0.0)


def cpu_rates(matmul_n: int = 1024, copy_mib: int = 256, repeats: int = 5) -> DeviceRates:
    """Measure the CPU's float32 GEMM rate (NumPy BLAS, all threads) and copy bandwidth."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((matmul_n, matmul_n), dtype=np.float32)
    b = rng.standard_normal((matmul_n, matmul_n), dtype=np.float32)
    a @ b  # BLAS thread pool start-up
    gflops = _best_rate(lambda: a @ b, 2.0 * matmul_n**3, repeats) / 1e9
    src = np.ones(copy_mib * (1 << 20) // 8, dtype=np.float64)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    gbs = _best_rate(lambda: np.copyto(dst, src), 2.0 * src.nbytes, repeats) / 1e9
    return DeviceRates("cpu", gflops, "float32", gbs, f"GEMM {matmul_n}^3, copy {copy_mib} MiB")


def cuda_rates(matmul_n: int = 8192, copy_mib: int = 1024, repeats: int = 10) -> DeviceRates:
    """Measure the GPU's FP16 GEMM rate and device-to-device copy bandwidth (CUDA events)."""
    import torch

    dev = torch.device("cuda")
    a = torch.randn((matmul_n, matmul_n), device=dev, dtype=torch.float16)
    b = torch.randn((matmul_n, matmul_n), device=dev, dtype=torch.float16)
    src = torch.empty(copy_mib * (1 << 20), device=dev, dtype=torch.uint8)
    dst = torch.empty_like(src)

    def timed(fn) -> float:
        fn()
        torch.cuda.synchronize()
        best = float("inf")
        for _ in range(repeats):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            best = min(best, start.elapsed_time(end) / 1000.0)
        return best

    t_mm = timed(lambda: torch.matmul(a, b))
    t_cp = timed(lambda: dst.copy_(src))
    return DeviceRates(
        "cuda",
        2.0 * matmul_n**3 / t_mm / 1e9,
        "float16",
        2.0 * src.numel() / t_cp / 1e9,
        f"GEMM {matmul_n}^3 FP16, copy {copy_mib} MiB ({torch.cuda.get_device_name()})",
    )


def device_rates(device: str) -> DeviceRates:
    """Rates of ``device`` ("cpu" or "cuda")."""
    return cuda_rates() if device == "cuda" else cpu_rates()
