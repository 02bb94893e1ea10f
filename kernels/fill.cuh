// kernels/fill.cuh: fill a device buffer with one float value.
//
// The first kernel family of the CUDA backend. Tests and the benchmark use
// it to poison output buffers (NaN) before a run, so an element a kernel
// fails to write cannot pass for a correct one.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

namespace rnn::kernels {

// data[0, n) = value, asynchronously on `stream`. Returns the launch status
// (cudaSuccess for n == 0; cudaErrorInvalidValue for data == nullptr, n > 0).
cudaError_t launch_fill(float* data, size_t n, float value, cudaStream_t stream);

}  // namespace rnn::kernels
