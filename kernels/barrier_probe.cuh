// kernels/barrier_probe.cuh: measures the latency of a grid-wide barrier,
// the floor of the persistent kernel's per-step cost.
#pragma once

#include <cuda_runtime.h>

namespace rnn::kernels {

// Runs `iterations` grid.sync() calls in one cooperative launch of one block
// per multiprocessor on the current device and returns the mean time of one
// barrier in microseconds (*us). Synchronous (times with CUDA events).
cudaError_t measure_grid_barrier(int iterations, float* us);

}  // namespace rnn::kernels
