// Kernels of the spectral feature. Binning design (why no atomics):
//
// A per-pixel atomicAdd into radius bins is the obvious kernel, and a bad one: neighbouring
// threads read neighbouring frequencies, which mostly share a radius, so a warp's 32 atomics hit
// 2-5 addresses and serialise (worst near the axes, where a whole row segment is one bin). Instead
// the host precomputes, once per size, the half-plane element indices ordered by bin (a CSR
// layout: perm + offsets). One warp owns one (crop, bin) pair, walks that bin's elements with
// its 32 lanes, computes log1p(|F|) with the symmetry weight, and reduces with shuffles: no
// atomics, no shared-memory histogram, deterministic sums. Bins are interleaved across warps and
// blocks, so the long outer bins and the short inner ones spread evenly, and the grid has
// (crops x bin groups) blocks, enough to fill the GPU even for one crop. The reads follow arcs of
// the half-plane; for the sizes we use (64..1024) one crop's spectrum (<= 4 MB) sits in L2.
#include "kernels.h"

namespace dsfft {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ double warp_sum_d(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}

// Sum of one value per thread over the block; result valid in thread 0.
__device__ double block_sum_d(double v) {
  __shared__ double part[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum_d(v);
  if (lane == 0) part[warp] = v;
  __syncthreads();
  v = threadIdx.x < (blockDim.x >> 5) ? part[threadIdx.x] : 0.0;
  if (warp == 0) v = warp_sum_d(v);
  return v;
}

template <typename T, int C>
__global__ void gray_kernel(const T* __restrict__ in, int64_t sn, int64_t sy, int64_t sx, int top,
                            int left, int side, float* __restrict__ gray,
                            double* __restrict__ sums) {
  const int n = blockIdx.y;
  const int64_t pixels = static_cast<int64_t>(side) * side;
  const T* src = in + n * sn + top * sy + left * sx;
  float* dst = gray + n * pixels;
  double local = 0.0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < pixels;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t y = i / side, x = i - y * side;
    const T* p = src + y * sy + x * sx;
    float g;
    if constexpr (C == 3) {
      // OpenCV's BGR2GRAY weights, in float32 (the reference is float64: ~6e-8 relative).
      g = 0.114f * static_cast<float>(p[0]) + 0.587f * static_cast<float>(p[1]) +
          0.299f * static_cast<float>(p[2]);
    } else {
      g = static_cast<float>(p[0]);
    }
    dst[i] = g;
    local += g;
  }
  const double total = block_sum_d(local);
  if (threadIdx.x == 0) atomicAdd(sums + n, total);  // one atomic per block, not per pixel
}

__global__ void center_kernel(float* __restrict__ gray, const double* __restrict__ sums,
                              int side) {
  const int n = blockIdx.y;
  const int64_t pixels = static_cast<int64_t>(side) * side;
  const float mean = static_cast<float>(sums[n] / static_cast<double>(pixels));
  float* g = gray + n * pixels;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < pixels;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    g[i] -= mean;
}

__global__ void profile_kernel(const float2* __restrict__ spec, const double* __restrict__ sums,
                               int side, const int32_t* __restrict__ perm,
                               const int32_t* __restrict__ offsets,
                               const float* __restrict__ scale, int n_radii,
                               float* __restrict__ profile) {
  const int n = blockIdx.y;
  const int half_w = side / 2 + 1;
  const bool even = (side & 1) == 0;
  const int lane = threadIdx.x & 31;
  const int warps = blockDim.x >> 5;
  const float2* f = spec + static_cast<int64_t>(n) * side * half_w;
  const float dc = static_cast<float>(fabs(sums[n]));  // the FFT saw a zero-mean crop
  for (int r = blockIdx.x * warps + (threadIdx.x >> 5); r < n_radii; r += gridDim.x * warps) {
    float acc = 0.f;
    const int end = offsets[r + 1];
    for (int k = offsets[r] + lane; k < end; k += 32) {
      const int idx = perm[k];
      const int col = idx % half_w;
      const float w = (col == 0 || (even && col == half_w - 1)) ? 1.f : 2.f;
      float mag;
      if (idx == 0) {
        mag = dc;
      } else {
        const float2 v = f[idx];
        mag = sqrtf(fmaf(v.x, v.x, v.y * v.y));
      }
      acc = fmaf(w, log1pf(mag), acc);
    }
    acc = warp_sum(acc);
    if (lane == 0) profile[static_cast<int64_t>(n) * n_radii + r] = acc * scale[r];
  }
}

__global__ void resample_kernel(const float* __restrict__ profile, int n_radii,
                                const int32_t* __restrict__ left, const int32_t* __restrict__ right,
                                const float* __restrict__ frac, int bins, float* __restrict__ out) {
  const int n = blockIdx.x;
  const float* p = profile + static_cast<int64_t>(n) * n_radii;
  float* o = out + static_cast<int64_t>(n) * bins;
  double local = 0.0;
  for (int j = threadIdx.x; j < bins; j += blockDim.x) {
    const float v = p[left[j]] + frac[j] * (p[right[j]] - p[left[j]]);
    o[j] = v;
    local += v;
  }
  __shared__ double mean;
  const double total = block_sum_d(local);
  if (threadIdx.x == 0) mean = total / bins;
  __syncthreads();
  const float m = static_cast<float>(mean);
  for (int j = threadIdx.x; j < bins; j += blockDim.x) o[j] = m > 0.f ? o[j] / m : 0.f;
}

int blocks_for(int64_t pixels, int n) {
  // Enough blocks per crop to cover the crop; the grid's y dimension is the crop index.
  int64_t b = (pixels + kThreads * 8 - 1) / (kThreads * 8);
  (void)n;
  return static_cast<int>(b < 1 ? 1 : (b > 1024 ? 1024 : b));
}

}  // namespace

void launch_gray(const CropView& in, int n, int side, float* gray, double* sums, cudaStream_t s) {
  cudaMemsetAsync(sums, 0, sizeof(double) * n, s);
  const dim3 grid(blocks_for(static_cast<int64_t>(side) * side, n), n);
  if (in.type == PixelType::kU8) {
    const auto* p = static_cast<const uint8_t*>(in.data);
    if (in.channels == 3)
      gray_kernel<uint8_t, 3><<<grid, kThreads, 0, s>>>(p, in.stride_n, in.stride_y, in.stride_x,
                                                       in.top, in.left, side, gray, sums);
    else
      gray_kernel<uint8_t, 1><<<grid, kThreads, 0, s>>>(p, in.stride_n, in.stride_y, in.stride_x,
                                                       in.top, in.left, side, gray, sums);
  } else {
    const auto* p = static_cast<const float*>(in.data);
    if (in.channels == 3)
      gray_kernel<float, 3><<<grid, kThreads, 0, s>>>(p, in.stride_n, in.stride_y, in.stride_x,
                                                     in.top, in.left, side, gray, sums);
    else
      gray_kernel<float, 1><<<grid, kThreads, 0, s>>>(p, in.stride_n, in.stride_y, in.stride_x,
                                                     in.top, in.left, side, gray, sums);
  }
}

void launch_center(float* gray, const double* sums, int n, int side, cudaStream_t s) {
  const dim3 grid(blocks_for(static_cast<int64_t>(side) * side, n), n);
  center_kernel<<<grid, kThreads, 0, s>>>(gray, sums, side);
}

void launch_profile(const float2* spec, const double* sums, int n, int side, const int32_t* perm,
                    const int32_t* offsets, const float* scale, int n_radii, float* profile,
                    int sm_count, cudaStream_t s) {
  const int warps = kThreads / 32;
  const int max_groups = (n_radii + warps - 1) / warps;
  // Aim for ~4 blocks per SM overall; a big batch needs one bin group per crop.
  int groups = (4 * sm_count + n - 1) / n;
  groups = groups < 1 ? 1 : (groups > max_groups ? max_groups : groups);
  const dim3 grid(groups, n);
  profile_kernel<<<grid, kThreads, 0, s>>>(spec, sums, side, perm, offsets, scale, n_radii,
                                           profile);
}

void launch_resample(const float* profile, int n, int n_radii, const int32_t* left,
                     const int32_t* right, const float* frac, int bins, float* out,
                     cudaStream_t s) {
  resample_kernel<<<n, 128, 0, s>>>(profile, n_radii, left, right, frac, bins, out);
}

}  // namespace dsfft
