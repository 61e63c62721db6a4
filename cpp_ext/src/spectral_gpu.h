// The GPU pipeline with its caches: radial tables per (device, size), resampling taps per
// (device, size, bins), cuFFT plans and work buffers per (device, size, batch).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "kernels.h"

namespace dsfft {

constexpr int kMinSide = 8;
// Work buffers are sized for at most this many pixels per cuFFT batch (gray + spectrum ~ 4 GB
// would be the worst case otherwise); larger batches run as several chunks with cached plans.
constexpr int64_t kMaxChunkPixels = int64_t{1} << 26;

// (ok, reason): is there a driver, a device and cuFFT? Never throws.
std::pair<bool, std::string> cuda_status();
// Throws CudaUnavailable with the reason when cuda_status() is not ok.
void ensure_available();

// Crops per chunk for a given side (what the plan cache is keyed on for big batches).
int chunk_crops(int side, int64_t n);

// Feature of n crops already on the device; writes n * bins floats to out (device), async on
// `stream`. Input strides are in elements; channels (1 or 3 BGR) contiguous.
void spectrum_device(const CropView& in, int n, int height, int width, int bins, float* out,
                     cudaStream_t stream);

std::vector<std::tuple<int, int, int>> cached_plans();  // (device, side, batch)
void clear_cache();

}  // namespace dsfft
