// host/cuda/runtime.cpp: the CUDA runtime queries the host side needs.
// Compiled only when the build has CUDA (RNN_HAVE_CUDA).
#include <cuda_runtime.h>

#include <string>

#include "gpu.hpp"

namespace rnn::detail {

int cuda_runtime_device_count(std::string* why) noexcept {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    if (why) *why = std::string("cudaGetDeviceCount: ") + cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return 0;
  }
  if (n == 0 && why) *why = "no CUDA device found";
  return n;
}

}  // namespace rnn::detail
