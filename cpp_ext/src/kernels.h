// Device side of the spectral feature. All launches are asynchronous on the given stream.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace dsfft {

enum class PixelType { kU8 = 0, kF32 = 1 };

// Input view: element strides for crop, row and column; channels (1 or 3, BGR) are contiguous.
struct CropView {
  const void* data;
  PixelType type;
  int channels;
  int64_t stride_n, stride_y, stride_x;
  int top, left;  // centre-crop offsets
};

// gray[n] = BT.601 grayscale of the centred S x S window; sums[n] += sum of gray[n] (double).
void launch_gray(const CropView& in, int n, int side, float* gray, double* sums, cudaStream_t s);
// gray[n] -= sums[n] / S^2 (a zero-mean input keeps the float32 FFT's round-off, which scales
// with the largest coefficient, from swamping the small high-frequency magnitudes).
void launch_center(float* gray, const double* sums, int n, int side, cudaStream_t s);
// profile[n, r] = 20 / count[r] * sum over bin r of weight * log1p(|F|), |F(0,0)| = |sums[n]|.
void launch_profile(const float2* spec, const double* sums, int n, int side, const int32_t* perm,
                    const int32_t* offsets, const float* scale, int n_radii, float* profile,
                    int sm_count, cudaStream_t s);
// out[n, j] = linear interpolation of profile[n] at the taps, divided by its mean over j.
void launch_resample(const float* profile, int n, int n_radii, const int32_t* left,
                     const int32_t* right, const float* frac, int bins, float* out, cudaStream_t s);

}  // namespace dsfft
