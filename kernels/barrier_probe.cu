// kernels/barrier_probe.cu: grid-barrier latency (see barrier_probe.cuh).
//
// Kernels:
//   barrier_probe_kernel   (static) `iterations` back-to-back grid.sync() calls,
//                    each after a global store, as the persistent kernel does
//                    (registers: scripts/kernel_report.sh)
#include <cooperative_groups.h>

#include "barrier_probe.cuh"

namespace cg = cooperative_groups;

namespace rnn::kernels {

static __global__ void barrier_probe_kernel(int iterations, int* sink) {
  cg::grid_group grid = cg::this_grid();
  for (int i = 0; i < iterations; ++i) {
    if (threadIdx.x == 0) sink[blockIdx.x] = i;
    grid.sync();
  }
}

cudaError_t measure_grid_barrier(int iterations, float* us) {
  if (iterations < 1 || !us) return cudaErrorInvalidValue;
  int dev = 0, sms = 0;
  cudaError_t err = cudaGetDevice(&dev);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
  if (err != cudaSuccess) return err;
  int* sink = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
  if ((err = cudaMalloc(&sink, sms * sizeof(int))) != cudaSuccess) return err;
  err = cudaEventCreate(&start);
  if (err == cudaSuccess) err = cudaEventCreate(&stop);
  float ms[2] = {0, 0};
  // A warm-up launch (its first launch pays the kernel's loading), then two
  // timed ones of `iterations` and 2 * `iterations` barriers: the difference
  // removes the launch overhead.
  for (int k = -1; k < 2 && err == cudaSuccess; ++k) {
    int n = k < 0 ? 1 : iterations * (k + 1);
    void* args[] = {&n, &sink};
    err = cudaEventRecord(start);
    if (err == cudaSuccess)
      err = cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(barrier_probe_kernel), dim3(sms), dim3(128), args, 0,
                                        nullptr);
    if (err == cudaSuccess) err = cudaEventRecord(stop);
    if (err == cudaSuccess) err = cudaEventSynchronize(stop);
    if (err == cudaSuccess && k >= 0) err = cudaEventElapsedTime(&ms[k], start, stop);
  }
  if (err == cudaSuccess) *us = (ms[1] - ms[0]) * 1000.0f / iterations;
  if (start) cudaEventDestroy(start);
  if (stop) cudaEventDestroy(stop);
  cudaFree(sink);
  return err;
}

}  // namespace rnn::kernels
