#include "spectral_gpu.h"

#include <algorithm>
#include <list>
#include <map>
#include <memory>
#include <mutex>

#include "cufft_dyn.h"
#include "errors.h"
#include "tables.h"

namespace dsfft {
namespace {

// Device memory owned by a cache entry. Errors on free are ignored: at interpreter exit the
// driver may already be shutting down.
template <typename T>
struct DeviceBuffer {
  T* ptr = nullptr;
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t count) {
    check_cuda(cudaMalloc(reinterpret_cast<void**>(&ptr), sizeof(T) * std::max<size_t>(count, 1)),
               "cudaMalloc");
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (ptr) cudaFree(ptr);
  }
  void upload(const std::vector<T>& host) {
    check_cuda(cudaMemcpy(ptr, host.data(), sizeof(T) * host.size(), cudaMemcpyHostToDevice),
               "cudaMemcpy (tables)");
  }
};

struct SizeEntry {
  int n_radii = 0;
  std::unique_ptr<DeviceBuffer<int32_t>> perm, offsets;
  std::unique_ptr<DeviceBuffer<float>> scale;  // 20 / count (0 for an empty bin)
};

struct TapEntry {
  std::unique_ptr<DeviceBuffer<int32_t>> left, right;
  std::unique_ptr<DeviceBuffer<float>> frac;
};

struct PlanEntry {
  int device = 0, side = 0, batch = 0;
  cufftHandle plan = 0;
  bool has_plan = false;  // 0 can be a valid cuFFT handle
  cudaEvent_t done = nullptr;  // last use of the buffers; the next call's stream waits on it
  std::unique_ptr<DeviceBuffer<float>> gray, profile;
  std::unique_ptr<DeviceBuffer<float2>> spec;
  std::unique_ptr<DeviceBuffer<double>> sums;
  ~PlanEntry() {
    if (done) {
      cudaEventSynchronize(done);
      cudaEventDestroy(done);
    }
    if (has_plan) cufft().destroy(plan);
  }
};

constexpr size_t kMaxPlans = 16;

// The caches live on the heap and are never destroyed at exit: static destructors run after the
// CUDA runtime may have torn down its context, and freeing then can crash the interpreter's exit.
// clear_cache() releases them explicitly.
std::mutex g_mutex;
auto& g_sizes = *new std::map<std::pair<int, int>, SizeEntry>();
auto& g_taps = *new std::map<std::tuple<int, int, int>, TapEntry>();
auto& g_plans = *new std::list<std::unique_ptr<PlanEntry>>();  // most recently used first

bool g_status_known = false;
std::pair<bool, std::string> g_status;

std::pair<bool, std::string> probe() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e == cudaErrorInsufficientDriver)
    return {false, "no CUDA driver: " + cuda_error_text(e)};
  if (e == cudaErrorNoDevice || (e == cudaSuccess && count == 0))
    return {false, "no CUDA device: " + cuda_error_text(e == cudaSuccess ? cudaErrorNoDevice : e)};
  if (e != cudaSuccess) return {false, "CUDA unavailable: " + cuda_error_text(e)};
  int dev = 0;
  cudaGetDevice(&dev);
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, dev);
  try {
    const CufftApi& api = cufft();
    return {true, "GPU " + std::to_string(dev) + ": " + prop.name + " (sm_" +
                      std::to_string(prop.major) + std::to_string(prop.minor) + "), cuFFT " +
                      std::to_string(api.version) + " from " + api.path};
  } catch (const CudaUnavailable& ex) {
    return {false, ex.what()};
  }
}

SizeEntry& size_entry(int device, int side) {
  auto key = std::make_pair(device, side);
  auto it = g_sizes.find(key);
  if (it != g_sizes.end()) return it->second;
  const RadialTables t = make_radial_tables(side);
  SizeEntry e;
  e.n_radii = t.n_radii;
  std::vector<float> scale(t.n_radii);
  for (int r = 0; r < t.n_radii; ++r)
    scale[r] = t.count[r] > 0 ? static_cast<float>(20.0 / t.count[r]) : 0.f;
  e.perm = std::make_unique<DeviceBuffer<int32_t>>(t.perm.size());
  e.perm->upload(t.perm);
  e.offsets = std::make_unique<DeviceBuffer<int32_t>>(t.offsets.size());
  e.offsets->upload(t.offsets);
  e.scale = std::make_unique<DeviceBuffer<float>>(scale.size());
  e.scale->upload(scale);
  return g_sizes.emplace(key, std::move(e)).first->second;
}

TapEntry& tap_entry(int device, int side, int bins) {
  auto key = std::make_tuple(device, side, bins);
  auto it = g_taps.find(key);
  if (it != g_taps.end()) return it->second;
  const ResampleTaps t = make_taps(make_radial_tables(side), bins);
  TapEntry e;
  std::vector<float> frac(t.frac.begin(), t.frac.end());
  e.left = std::make_unique<DeviceBuffer<int32_t>>(bins);
  e.left->upload(t.left_bin);
  e.right = std::make_unique<DeviceBuffer<int32_t>>(bins);
  e.right->upload(t.right_bin);
  e.frac = std::make_unique<DeviceBuffer<float>>(bins);
  e.frac->upload(frac);
  return g_taps.emplace(key, std::move(e)).first->second;
}

PlanEntry& plan_entry(int device, int side, int batch, int n_radii) {
  for (auto it = g_plans.begin(); it != g_plans.end(); ++it) {
    if ((*it)->device == device && (*it)->side == side && (*it)->batch == batch) {
      g_plans.splice(g_plans.begin(), g_plans, it);  // move to front (LRU)
      return *g_plans.front();
    }
  }
  while (g_plans.size() >= kMaxPlans) g_plans.pop_back();
  auto p = std::make_unique<PlanEntry>();
  p->device = device;
  p->side = side;
  p->batch = batch;
  const int64_t pixels = static_cast<int64_t>(side) * side;
  const int64_t half = static_cast<int64_t>(side) * (side / 2 + 1);
  p->gray = std::make_unique<DeviceBuffer<float>>(pixels * batch);
  // Crops beyond the call's count in a bucketed plan are transformed but never read: zero them
  // once so that they are defined values.
  check_cuda(cudaMemset(p->gray->ptr, 0, sizeof(float) * pixels * batch), "cudaMemset");
  p->spec = std::make_unique<DeviceBuffer<float2>>(half * batch);
  p->sums = std::make_unique<DeviceBuffer<double>>(batch);
  p->profile = std::make_unique<DeviceBuffer<float>>(static_cast<size_t>(n_radii) * batch);
  check_cuda(cudaEventCreateWithFlags(&p->done, cudaEventDisableTiming), "cudaEventCreate");
  int dims[2] = {side, side};
  const cufftResult r =
      cufft().planMany(&p->plan, 2, dims, nullptr, 1, 0, nullptr, 1, 0, kCufftR2C, batch);
  if (r != kCufftSuccess) {
    throw CudaFailure(std::string("cufftPlanMany(") + std::to_string(side) + "x" +
                      std::to_string(side) + ", batch " + std::to_string(batch) +
                      ") failed: " + cufft_result_name(r));
  }
  p->has_plan = true;
  g_plans.push_front(std::move(p));
  return *g_plans.front();
}

}  // namespace

std::pair<bool, std::string> cuda_status() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!g_status_known || !g_status.first) {
    g_status = probe();
    g_status_known = true;
  }
  return g_status;
}

void ensure_available() {
  auto [ok, reason] = cuda_status();
  if (!ok) throw CudaUnavailable(reason);
}

static int plan_batch(int m, int max_chunk) {
  // Plans are cached per (size, batch); a streaming engine sees every batch size from 1 to its
  // maximum, so batches are rounded up to a power of two (at most 2x the FFT work, few plans).
  int b = 1;
  while (b < m) b <<= 1;
  return std::min(b, max_chunk);
}

int chunk_crops(int side, int64_t n) {
  const int64_t pixels = static_cast<int64_t>(side) * side;
  int64_t c = std::max<int64_t>(1, kMaxChunkPixels / pixels);
  c = std::min<int64_t>({c, n, 65535});  // 65535: the grid's y dimension is the crop index
  return static_cast<int>(std::max<int64_t>(c, 1));
}

void spectrum_device(const CropView& in, int n, int height, int width, int bins, float* out,
                     cudaStream_t stream) {
  ensure_available();
  const int side = std::min(height, width);
  if (side < kMinSide) throw std::invalid_argument("crop side below 8 pixels");
  if (bins < 2) throw std::invalid_argument("bins must be >= 2");
  if (n <= 0) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  int device = 0, sm_count = 1;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  check_cuda(cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, device),
             "cudaDeviceGetAttribute");
  SizeEntry& size = size_entry(device, side);
  TapEntry& taps = tap_entry(device, side, bins);
  CropView view = in;
  view.top = (height - side) / 2;
  view.left = (width - side) / 2;
  const size_t elem = in.type == PixelType::kU8 ? 1 : 4;
  const int chunk = chunk_crops(side, n);
  const int max_chunk = chunk_crops(side, INT64_MAX);
  for (int start = 0; start < n; start += chunk) {
    const int m = std::min(chunk, n - start);
    PlanEntry& p = plan_entry(device, side, plan_batch(m, max_chunk), size.n_radii);
    check_cuda(cudaStreamWaitEvent(stream, p.done, 0), "cudaStreamWaitEvent");
    view.data = static_cast<const char*>(in.data) + start * in.stride_n * elem;
    launch_gray(view, m, side, p.gray->ptr, p.sums->ptr, stream);
    launch_center(p.gray->ptr, p.sums->ptr, m, side, stream);
    cufftResult r = cufft().setStream(p.plan, stream);
    if (r == kCufftSuccess) r = cufft().execR2C(p.plan, p.gray->ptr, p.spec->ptr);
    if (r != kCufftSuccess)
      throw CudaFailure(std::string("cufftExecR2C failed: ") + cufft_result_name(r));
    launch_profile(p.spec->ptr, p.sums->ptr, m, side, size.perm->ptr, size.offsets->ptr,
                   size.scale->ptr, size.n_radii, p.profile->ptr, sm_count, stream);
    launch_resample(p.profile->ptr, m, size.n_radii, taps.left->ptr, taps.right->ptr,
                    taps.frac->ptr, bins, out + static_cast<int64_t>(start) * bins, stream);
    check_cuda(cudaGetLastError(), "kernel launch");
    check_cuda(cudaEventRecord(p.done, stream), "cudaEventRecord");
  }
}

std::vector<std::tuple<int, int, int>> cached_plans() {
  std::lock_guard<std::mutex> lock(g_mutex);
  std::vector<std::tuple<int, int, int>> out;
  for (const auto& p : g_plans) out.emplace_back(p->device, p->side, p->batch);
  return out;
}

void clear_cache() {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_plans.clear();
  g_taps.clear();
  g_sizes.clear();
}

}  // namespace dsfft
