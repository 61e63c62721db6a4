"""GPU correctness and speed of the CUDA extension deepscreen_fft (needs an NVIDIA GPU + torch).

For every (size, batch) it:
  1. builds random and real-face uint8 BGR crops on the GPU (torch tensors),
  2. poisons the output buffer with NaN before each run,
  3. runs deepscreen_fft on a non-default torch stream, device in -> device out,
  4. compares a sample of crops with the float64 NumPy reference (max relative error < 1e-4),
  5. times the extension and a torch.fft implementation of the same feature with CUDA events.
Also checks the host-array path, a strided (cropped-from-a-frame) device view, the raw-pointer
path, and odd/even sizes. Prints a markdown table for docs/SPECTRAL.md; exits 1 on any failure.

    .venv/bin/pip install ./cpp_ext
    .venv/bin/python bench/gpu_spectral_check.py             # full grid (a few minutes on an H100)
    .venv/bin/python bench/gpu_spectral_check.py --quick     # a smaller grid
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from engine.features import radial_spectrum_reference
from engine.features.radial_plan import radial_plan

FACES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "faces"
SIZES = [64, 65, 127, 128, 200, 255, 256, 511, 512, 1023, 1024]
BATCHES = [1, 8, 64, 512, 4096]
MAX_PIXELS = 1 << 28  # per input batch: 4096 x 256^2; larger combinations are skipped
TOL = 1e-4


def face_pool() -> list[np.ndarray]:
    """Real faces (BGR uint8): the 1024 px StyleGAN2 faces and the 256 px FFHQ/StyleGAN1 ones."""
    import cv2

    files = sorted(FACES.glob("stylegan2-tpdne/fake/*.jpg"))[:16]
    files += sorted(FACES.glob("ffhq-vs-stylegan1/*/*.jpg"))[:64:4]
    return [img for img in (cv2.imread(str(f)) for f in files) if img is not None]


def make_crops(kind: str, side: int, batch: int, rng: np.random.Generator, pool) -> np.ndarray:
    if kind == "random" or not pool:
        return rng.integers(0, 256, (batch, side, side, 3), dtype=np.uint8)
    import cv2

    out = np.empty((batch, side, side, 3), np.uint8)
    for i in range(batch):
        img = pool[i % len(pool)]
        if min(img.shape[:2]) < side:  # upscale small faces only when the size demands it
            img = cv2.resize(img, (side, side), interpolation=cv2.INTER_LINEAR)
        y = rng.integers(0, img.shape[0] - side + 1)
        x = rng.integers(0, img.shape[1] - side + 1)
        out[i] = img[y : y + side, x : x + side]
    return out


class TorchSpectral:
    """The same feature written with torch.fft (the comparison baseline; float32 on the GPU)."""

    def __init__(self, side: int, bins: int, device) -> None:
        import torch

        plan = radial_plan(side, bins)
        self.torch = torch
        self.bin_of = torch.as_tensor(plan.bin_of.copy(), device=device)
        self.weight = torch.as_tensor(plan.weight, dtype=torch.float32, device=device)
        self.scale = torch.as_tensor(20.0 / np.maximum(plan.count, 1), dtype=torch.float32,
                                     device=device)
        nodes = plan.nonempty
        self.left = torch.as_tensor(nodes[plan.left], device=device)
        self.right = torch.as_tensor(nodes[plan.right], device=device)
        self.frac = torch.as_tensor(plan.frac, dtype=torch.float32, device=device)
        self.n_radii = plan.n_radii
        self.gray_w = torch.tensor([0.114, 0.587, 0.299], device=device)

    def __call__(self, crops_u8):
        torch = self.torch
        gray = crops_u8.float() @ self.gray_w
        total = gray.double().sum(dim=(1, 2))
        gray = gray - (total / gray[0].numel()).float()[:, None, None]
        mag = torch.fft.rfft2(gray).abs().flatten(1)
        mag[:, 0] = total.abs().float()
        vals = torch.log1p(mag) * self.weight
        sums = torch.zeros(len(vals), self.n_radii, device=vals.device)
        sums.index_add_(1, self.bin_of, vals)
        prof = sums * self.scale
        out = prof[:, self.left] + self.frac * (prof[:, self.right] - prof[:, self.left])
        return out / out.mean(dim=1, keepdim=True)


def rel_err(got: np.ndarray, crops: np.ndarray, idx: np.ndarray, bins: int) -> float:
    ref = np.stack([radial_spectrum_reference(crops[i], bins) for i in idx])
    return float(np.max(np.abs(got[idx] - ref) / np.maximum(np.abs(ref), 1e-12)))


def time_ms(fn, stream, iters: int) -> float:
    import torch

    with torch.cuda.stream(stream):
        fn()  # warm-up: plans, tables, allocator
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record(stream)
        for _ in range(iters):
            fn()
        end.record(stream)
    end.synchronize()
    return start.elapsed_time(end) / iters


def run_case(dsfft, torch, side, batch, kind, bins, rng, pool, failures) -> str:
    crops = make_crops(kind, side, batch, rng, pool)
    dev = torch.device("cuda")
    stream = torch.cuda.Stream()
    x = torch.as_tensor(crops, device=dev)
    out = torch.empty(batch, bins, device=dev)
    handle = stream.cuda_stream

    def ext():
        dsfft.radial_spectrum(x, bins=bins, stream=handle, out=out)

    out.fill_(float("nan"))  # poison: every value must be written by this run
    torch.cuda.synchronize()
    ext()
    stream.synchronize()
    got = out.cpu().numpy()
    idx = np.unique(np.r_[0, batch - 1, rng.integers(0, batch, min(batch, 14))])
    nan_free = bool(np.isfinite(got).all())
    err = rel_err(got, crops, idx, bins) if nan_free else float("nan")
    torch_impl = TorchSpectral(side, bins, dev)
    with torch.cuda.stream(stream):
        tgot = torch_impl(x)
    stream.synchronize()
    terr = rel_err(tgot.cpu().numpy(), crops, idx, bins)
    iters = max(3, min(50, (1 << 24) // (batch * side * side) + 3))
    t_ext = time_ms(ext, stream, iters)
    t_torch = time_ms(lambda: torch_impl(x), stream, iters)
    ok = nan_free and err < TOL
    if not ok:
        failures.append(f"{kind} {batch}x{side}: nan_free={nan_free} rel_err={err:.2e}")
    return (f"| {side} | {batch} | {kind} | {t_ext:.3f} | {t_torch:.3f} | {t_torch / t_ext:.1f}x "
            f"| {batch / t_ext * 1e3:,.0f} | {err:.1e} | {terr:.1e} | {'ok' if ok else 'FAIL'} |")


def extra_paths(dsfft, torch, bins, failures) -> list[str]:
    """Host arrays, a strided view into a frame, the raw-pointer path, gray float32 input."""
    from skimage import data as skdata

    lines = []
    frame = np.ascontiguousarray(skdata.astronaut()[..., ::-1])
    crops = np.stack([frame[i : i + 190, i : i + 257] for i in (0, 37, 101)])  # non-square, odd
    refs = np.stack([radial_spectrum_reference(c, bins) for c in crops])

    def check(name, got):
        err = float(np.max(np.abs(got - refs) / refs))
        ok = np.isfinite(got).all() and err < TOL
        lines.append(f"- {name}: max rel err {err:.1e} {'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(name)

    check("host uint8 array (non-square 190x257, centre-cropped on device)",
          dsfft.radial_spectrum(crops, bins=bins))
    frames = torch.as_tensor(np.stack([frame] * 3), device="cuda")
    views = torch.stack([frames[j, i : i + 190, i : i + 257] for j, i in enumerate((0, 37, 101))])
    check("torch CUDA tensor", dsfft.radial_spectrum(views, bins=bins))
    strided = frames[:, 0:190, 0:257]  # a view with frame strides (not contiguous)
    got = dsfft.radial_spectrum(strided, bins=bins)
    ref0 = radial_spectrum_reference(frame[0:190, 0:257], bins)
    err = float(np.max(np.abs(got[0] - ref0) / ref0))
    lines.append(f"- strided device view into a 512x512 frame: max rel err {err:.1e} "
                 f"{'ok' if err < TOL else 'FAIL'}")
    if err >= TOL:
        failures.append("strided view")
    out = torch.full((3, bins), float("nan"), device="cuda")
    dsfft.radial_spectrum_ptr(views.data_ptr(), tuple(views.shape), "uint8", bins, out.data_ptr())
    torch.cuda.synchronize()
    check("raw device pointer", out.cpu().numpy())
    gray = (views.float() @ torch.tensor([0.114, 0.587, 0.299], device="cuda")).contiguous()
    check("float32 grayscale tensor", dsfft.radial_spectrum(gray, bins=bins))
    lines.append(f"- cached cuFFT plans (device, side, batch): {dsfft.cached_plans()[:6]} ...")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 64/255/256/1024, batch <= 512")
    parser.add_argument("--bins", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import deepscreen_fft as dsfft
    import torch

    ok, reason = dsfft.cuda_status()
    if not ok or not torch.cuda.is_available():
        print(f"no usable GPU: {reason}; torch.cuda.is_available()={torch.cuda.is_available()}")
        return 2
    sizes = [64, 255, 256, 1024] if args.quick else SIZES
    batches = [1, 64, 512] if args.quick else BATCHES
    rng = np.random.default_rng(args.seed)
    pool = face_pool()
    props = torch.cuda.get_device_properties(0)
    print(f"GPU: {props.name} ({props.multi_processor_count} SMs), {reason}")
    print(f"torch {torch.__version__}, deepscreen_fft {dsfft.__version__}, bins {args.bins}, "
          f"real faces: {len(pool)} images\n")
    print("| side | batch | crops | ext ms | torch.fft ms | speed-up | ext crops/s "
          "| ext max rel err | torch max rel err | check |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    failures: list[str] = []
    for side in sizes:
        for batch in batches:
            if batch * side * side > MAX_PIXELS:
                continue
            for kind in ("random", "faces"):
                print(run_case(dsfft, torch, side, batch, kind, args.bins, rng, pool, failures),
                      flush=True)
    print()
    for line in extra_paths(dsfft, torch, args.bins, failures):
        print(line)
    print(f"\n{'ALL OK' if not failures else 'FAILURES: ' + '; '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
