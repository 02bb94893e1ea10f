// tests/kernels/test_fill.cpp: kernels/fill.cu against its CPU twin
// (std::fill). Skips without a usable GPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/fill.cuh"
#include "rnn/device.hpp"

namespace {

class FillKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (rnn::cuda_device_count() == 0) GTEST_SKIP() << "no usable CUDA device on this machine";
  }
};

// Sizes around the block (256) and grid-cap (4096 * 256) boundaries.
TEST_F(FillKernel, MatchesCpuFillAtBoundarySizes) {
  for (size_t n : {size_t{1}, size_t{255}, size_t{256}, size_t{257}, size_t{4096 * 256 + 3}}) {
    float* d = nullptr;
    ASSERT_EQ(cudaMalloc(&d, (n + 1) * sizeof(float)), cudaSuccess);
    std::vector<float> host(n + 1, 1.5f);
    ASSERT_EQ(cudaMemcpy(d, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
    ASSERT_EQ(rnn::kernels::launch_fill(d, n, -3.25f, nullptr), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(host.data(), d, host.size() * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
    std::vector<float> expected(n + 1, 1.5f);
    std::fill(expected.begin(), expected.begin() + static_cast<long>(n), -3.25f);
    EXPECT_EQ(host, expected) << "n = " << n << " (the element past n must stay untouched)";
    cudaFree(d);
  }
}

TEST_F(FillKernel, FillsNaNForPoisoning) {
  float* d = nullptr;
  ASSERT_EQ(cudaMalloc(&d, 1000 * sizeof(float)), cudaSuccess);
  ASSERT_EQ(rnn::kernels::launch_fill(d, 1000, std::nanf(""), nullptr), cudaSuccess);
  std::vector<float> host(1000, 0.0f);
  ASSERT_EQ(cudaMemcpy(host.data(), d, 1000 * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
  for (float v : host) ASSERT_TRUE(std::isnan(v));
  cudaFree(d);
}

TEST_F(FillKernel, RejectsNullWithElements) {
  EXPECT_EQ(rnn::kernels::launch_fill(nullptr, 10, 1.0f, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(rnn::kernels::launch_fill(nullptr, 0, 1.0f, nullptr), cudaSuccess);
}

}  // namespace
