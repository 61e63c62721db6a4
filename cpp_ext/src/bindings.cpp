// Python bindings of deepscreen_fft._core. The Python package (deepscreen_fft/__init__.py)
// parses __cuda_array_interface__ and finds cuFFT; this layer only moves pointers.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "cufft_dyn.h"
#include "errors.h"
#include "spectral_gpu.h"
#include "tables.h"

namespace py = pybind11;
using namespace dsfft;

namespace {

PixelType parse_type(const std::string& t) {
  if (t == "u8") return PixelType::kU8;
  if (t == "f32") return PixelType::kF32;
  throw std::invalid_argument("pixel type must be 'u8' or 'f32', got '" + t + "'");
}

cudaStream_t as_stream(uintptr_t handle) { return reinterpret_cast<cudaStream_t>(handle); }

void check_shape(int n, int height, int width, int channels) {
  if (n < 0 || height <= 0 || width <= 0) throw std::invalid_argument("bad crop batch shape");
  if (channels != 1 && channels != 3)
    throw std::invalid_argument("crops must have 1 (gray) or 3 (BGR) channels");
  if (std::min(height, width) < kMinSide)
    throw std::invalid_argument("crop side " + std::to_string(std::min(height, width)) +
                                " is below 8 pixels");
}

// Device input, device output (n * bins float32), asynchronous on `stream`.
void spectrum_device_py(uintptr_t in_ptr, int n, int height, int width, int channels,
                        const std::string& type, int64_t stride_n, int64_t stride_y,
                        int64_t stride_x, int bins, uintptr_t stream, uintptr_t out_ptr) {
  check_shape(n, height, width, channels);
  if (bins < 2) throw std::invalid_argument("bins must be >= 2");
  CropView v{reinterpret_cast<const void*>(in_ptr), parse_type(type), channels, stride_n, stride_y,
             stride_x, 0, 0};
  py::gil_scoped_release release;
  spectrum_device(v, n, height, width, bins, reinterpret_cast<float*>(out_ptr), as_stream(stream));
}

// Device input, host output: the (small) feature matrix comes back and the stream is synchronised.
py::array_t<float> spectrum_device_to_host_py(uintptr_t in_ptr, int n, int height, int width,
                                              int channels, const std::string& type,
                                              int64_t stride_n, int64_t stride_y,
                                              int64_t stride_x, int bins, uintptr_t stream) {
  check_shape(n, height, width, channels);
  if (bins < 2) throw std::invalid_argument("bins must be >= 2");
  const PixelType kind = parse_type(type);
  ensure_available();
  py::array_t<float> result({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(bins)});
  float* host_out = result.mutable_data();
  {
    py::gil_scoped_release release;
    cudaStream_t s = as_stream(stream);
    float* d_out = nullptr;
    check_cuda(cudaMallocAsync(reinterpret_cast<void**>(&d_out), sizeof(float) * bins * n + 4, s),
               "cudaMallocAsync");
    CropView v{reinterpret_cast<const void*>(in_ptr), kind, channels, stride_n, stride_y, stride_x,
               0, 0};
    spectrum_device(v, n, height, width, bins, d_out, s);
    check_cuda(cudaMemcpyAsync(host_out, d_out, sizeof(float) * bins * n, cudaMemcpyDeviceToHost,
                               s),
               "cudaMemcpyAsync (features)");
    cudaFreeAsync(d_out, s);
    check_cuda(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  }
  return result;
}

// Host input (C-contiguous (N, H, W[, C]) uint8 or float32) -> host output (N, bins) float32.
// Copies in chunks through stream-ordered allocations and synchronises the stream at the end.
py::array_t<float> spectrum_host_py(py::array arr, int bins, uintptr_t stream_handle) {
  if (!(arr.flags() & py::array::c_style)) throw std::invalid_argument("array must be C-contiguous");
  if (arr.ndim() != 3 && arr.ndim() != 4) throw std::invalid_argument("expected (N, H, W[, C])");
  const int n = static_cast<int>(arr.shape(0)), h = static_cast<int>(arr.shape(1));
  const int w = static_cast<int>(arr.shape(2));
  const int c = arr.ndim() == 4 ? static_cast<int>(arr.shape(3)) : 1;
  check_shape(n, h, w, c);
  if (bins < 2) throw std::invalid_argument("bins must be >= 2");
  PixelType type;
  if (arr.dtype().is(py::dtype::of<uint8_t>())) type = PixelType::kU8;
  else if (arr.dtype().is(py::dtype::of<float>())) type = PixelType::kF32;
  else throw std::invalid_argument("host crops must be uint8 or float32");
  ensure_available();
  py::array_t<float> result({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(bins)});
  const size_t elem = type == PixelType::kU8 ? 1 : 4;
  const int64_t crop_elems = static_cast<int64_t>(h) * w * c;
  const char* host_in = static_cast<const char*>(arr.data());
  float* host_out = result.mutable_data();
  {
    py::gil_scoped_release release;
    cudaStream_t s = as_stream(stream_handle);
    const int chunk = chunk_crops(std::min(h, w), n);
    for (int start = 0; start < n; start += chunk) {
      const int m = std::min(chunk, n - start);
      void* d_in = nullptr;
      float* d_out = nullptr;
      check_cuda(cudaMallocAsync(&d_in, crop_elems * elem * m, s), "cudaMallocAsync");
      check_cuda(cudaMallocAsync(reinterpret_cast<void**>(&d_out), sizeof(float) * bins * m, s),
                 "cudaMallocAsync");
      check_cuda(cudaMemcpyAsync(d_in, host_in + start * crop_elems * elem, crop_elems * elem * m,
                                 cudaMemcpyHostToDevice, s),
                 "cudaMemcpyAsync (crops)");
      CropView v{d_in, type, c, crop_elems, static_cast<int64_t>(w) * c, c, 0, 0};
      spectrum_device(v, m, h, w, bins, d_out, s);
      check_cuda(cudaMemcpyAsync(host_out + static_cast<int64_t>(start) * bins, d_out,
                                 sizeof(float) * bins * m, cudaMemcpyDeviceToHost, s),
                 "cudaMemcpyAsync (features)");
      cudaFreeAsync(d_in, s);
      cudaFreeAsync(d_out, s);
    }
    check_cuda(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  }
  return result;
}

py::dict radial_tables_py(int side) {
  if (side < kMinSide) throw std::invalid_argument("side below 8");
  const RadialTables t = make_radial_tables(side);
  py::dict d;
  d["n_radii"] = t.n_radii;
  d["perm"] = py::array_t<int32_t>(t.perm.size(), t.perm.data());
  d["offsets"] = py::array_t<int32_t>(t.offsets.size(), t.offsets.data());
  d["count"] = py::array_t<double>(t.count.size(), t.count.data());
  return d;
}

py::tuple resample_taps_py(int side, int bins) {
  if (side < kMinSide || bins < 2) throw std::invalid_argument("side >= 8 and bins >= 2 needed");
  const ResampleTaps t = make_taps(make_radial_tables(side), bins);
  return py::make_tuple(py::array_t<int32_t>(bins, t.left_bin.data()),
                        py::array_t<int32_t>(bins, t.right_bin.data()),
                        py::array_t<double>(bins, t.frac.data()));
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "Batched cuFFT R2C + fused log-magnitude radial binning (deepscreen spectral feature)";
  py::register_exception<CudaUnavailable>(m, "CudaUnavailableError", PyExc_RuntimeError);
  py::register_exception<CudaFailure>(m, "CudaError", PyExc_RuntimeError);
  m.def("cuda_status", &cuda_status, "(ok, reason): driver, device and cuFFT present?");
  m.def("set_cufft_candidates", &set_cufft_candidates, py::arg("paths"),
        "Library paths/sonames to dlopen for cuFFT, in order (before first use).");
  m.def("spectrum_device", &spectrum_device_py, py::arg("in_ptr"), py::arg("n"),
        py::arg("height"), py::arg("width"), py::arg("channels"), py::arg("type"),
        py::arg("stride_n"), py::arg("stride_y"), py::arg("stride_x"), py::arg("bins"),
        py::arg("stream"), py::arg("out_ptr"));
  m.def("spectrum_device_to_host", &spectrum_device_to_host_py, py::arg("in_ptr"), py::arg("n"),
        py::arg("height"), py::arg("width"), py::arg("channels"), py::arg("type"),
        py::arg("stride_n"), py::arg("stride_y"), py::arg("stride_x"), py::arg("bins"),
        py::arg("stream"));
  m.def("spectrum_host", &spectrum_host_py, py::arg("crops"), py::arg("bins"),
        py::arg("stream") = 0);
  m.def("radial_tables", &radial_tables_py, py::arg("side"));
  m.def("resample_taps", &resample_taps_py, py::arg("side"), py::arg("bins"));
  m.def("cached_plans", &cached_plans, "(device, side, batch) of the cached cuFFT plans");
  m.def("clear_cache", &clear_cache);
  m.attr("MIN_SIDE") = kMinSide;
}
