// tests/host/cuda/plan_helpers.hpp: what the CUDA Plan suites share
// (test_plan.cpp, test_plan_api.cpp, test_plan_threads.cpp): CUDA_OK, which
// fails a test on a CUDA error; SKIP_WITHOUT_GPU, which skips it, saying
// why, on a machine without a usable GPU; and Device<T>, a device buffer
// freed when it goes out of scope.
#pragma once

#include <cuda_runtime.h>

#include <vector>

#include "rnn/cuda.hpp"
#include "testbed.hpp"

#define CUDA_OK(call)                                                              \
  do {                                                                             \
    const cudaError_t err_ = (call);                                               \
    ASSERT_EQ(err_, cudaSuccess) << #call << ": " << cudaGetErrorString(err_);     \
  } while (0)

namespace plan_test {

inline bool have_gpu() { return rnn::cuda_device_count() > 0; }

template <class T>
class Device {
 public:
  explicit Device(size_t n) : n_(n) {
    if (n) EXPECT_EQ(cudaMalloc(&p_, n * sizeof(T)), cudaSuccess);
  }
  Device(const std::vector<T>& host) : Device(host.size()) {
    if (n_) EXPECT_EQ(cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~Device() { cudaFree(p_); }
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  T* get() const { return p_; }
  std::vector<T> host() const {
    std::vector<T> h(n_);
    EXPECT_EQ(cudaMemcpy(h.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return h;
  }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace plan_test

#define SKIP_WITHOUT_GPU() \
  if (!plan_test::have_gpu()) GTEST_SKIP() << "no usable CUDA device on this machine"
