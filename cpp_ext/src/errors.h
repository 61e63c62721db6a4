// Exceptions thrown by the C++ side; bindings.cpp maps them to Python classes.
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace dsfft {

// No driver, no device, or no cuFFT: nothing on this machine can run the extension.
struct CudaUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A CUDA or cuFFT call failed on a machine that has a GPU.
struct CudaFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline std::string cuda_error_text(cudaError_t e) {
  return std::string(cudaGetErrorName(e)) + " (" + cudaGetErrorString(e) + ")";
}

inline void check_cuda(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw CudaFailure(std::string(what) + " failed: " + cuda_error_text(e));
}

}  // namespace dsfft
