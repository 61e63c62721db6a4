// cuFFT loaded with dlopen at run time, from a path the Python layer finds.
//
// Why not link it: cuFFT ships in the pip package `nvidia-cufft` as nvidia/cu13/lib/libcufft.so.12
// with no unversioned libcufft.so for the linker and no stable install path (a venv, a user site,
// JetPack's /usr/local/cuda on a Jetson). Linking would need an RPATH guess at build time and
// would make the module fail to *import* wherever cuFFT is missing. Loading it on first use keeps
// `import deepscreen_fft` working everywhere, lets us report "cuFFT not found (tried ...)" as a
// Python exception, and means the build needs no cuFFT headers at all: the few entry points used
// are declared here with the types of the stable cuFFT C API (cufftHandle is int, cufftResult an
// int enum, cufftComplex a float2).
#pragma once

#include <cuda_runtime.h>

#include <string>
#include <vector>

namespace dsfft {

using cufftHandle = int;
using cufftResult = int;
constexpr int kCufftSuccess = 0;
constexpr int kCufftR2C = 0x2a;

struct CufftApi {
  cufftResult (*planMany)(cufftHandle*, int, int*, int*, int, int, int*, int, int, int, int) = nullptr;
  cufftResult (*setStream)(cufftHandle, cudaStream_t) = nullptr;
  cufftResult (*execR2C)(cufftHandle, float*, float2*) = nullptr;
  cufftResult (*destroy)(cufftHandle) = nullptr;
  cufftResult (*getVersion)(int*) = nullptr;
  std::string path;  // the library that was loaded
  int version = 0;
};

// Candidate library paths/sonames, tried in order on first use.
void set_cufft_candidates(const std::vector<std::string>& candidates);

// The loaded API, or throws CudaUnavailable naming every path tried and why it failed.
const CufftApi& cufft();

// Human-readable name of a cufftResult.
const char* cufft_result_name(cufftResult r);

}  // namespace dsfft
