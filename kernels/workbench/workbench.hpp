// kernels/workbench/workbench.hpp: what the kernel workbench's programs share
// (each stays one file about its family): device buffers, the CUDA check,
// CUDA-event timing and the command line.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace workbench {

// A device copy of a host vector (or n uninitialised elements), freed with it.
template <class T>
struct Dev {
  T* p = nullptr;
  explicit Dev(const std::vector<T>& h) {
    if (!h.empty() && cudaMalloc(&p, h.size() * sizeof(T)) == cudaSuccess)
      cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice);
  }
  explicit Dev(size_t n) {
    if (n) cudaMalloc(&p, n * sizeof(T));
  }
  ~Dev() { cudaFree(p); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
};

// The median of `runs` CUDA-event-timed calls of launch() (ms), or -1 when
// a launch fails.
template <class F>
double median_ms(F&& launch, int runs) {
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  std::vector<float> times;
  for (int r = 0; r < runs; ++r) {
    cudaEventRecord(a);
    if (launch() != cudaSuccess) break;
    cudaEventRecord(b);
    if (cudaEventSynchronize(b) != cudaSuccess) break;
    float t = 0;
    cudaEventElapsedTime(&t, a, b);
    times.push_back(t);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  if (times.size() != static_cast<size_t>(runs)) return -1;
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// --cases all|small|timing and --runs N; false (usage printed) on anything else.
inline bool parse_args(int argc, char** argv, std::string& which, int& runs) {
  which = "all";
  runs = 10;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--cases" && i + 1 < argc) which = argv[++i];
    else if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    else which = "?";
  }
  if (which != "all" && which != "small" && which != "timing") {
    std::fprintf(stderr, "usage: %s [--cases all|small|timing] [--runs N]\n", argv[0]);
    return false;
  }
  return true;
}

// True when a CUDA device is usable; otherwise says that the kernels were not run.
inline bool have_device() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    cudaGetLastError();
    std::printf("workbench: no usable CUDA device here: the twin was checked, the kernels were not run\n");
    return false;
  }
  return true;
}

}  // namespace workbench

#define WB_CHECK(call)                                                                             \
  do {                                                                                             \
    const cudaError_t e_ = (call);                                                                 \
    if (e_ != cudaSuccess) {                                                                       \
      std::fprintf(stderr, "workbench: %s failed: %s\n", #call, cudaGetErrorString(e_));           \
      return false;                                                                                \
    }                                                                                              \
  } while (0)
