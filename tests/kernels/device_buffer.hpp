// tests/kernels/device_buffer.hpp: what the kernel tests share: a device
// buffer owning its cudaMalloc (freed on destruction) with copies to and
// from host vectors, each returning the CUDA status for ASSERT_EQ; a fixture
// that skips without a usable GPU; random host vectors (testbed's, never
// zeros), a bitwise and a relative-norm comparison, each printing a few
// differences, not millions.
#pragma once

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <vector>

#include "rnn/device.hpp"
#include "testbed.hpp"

namespace kernel_test {

// n elements of T on the device (n >= 1: never a zero-byte cudaMalloc).
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer() {
    if (data_) cudaFree(data_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  // A fresh allocation of n elements (the previous one freed); contents undefined.
  cudaError_t allocate(size_t n) {
    if (data_) cudaFree(data_);
    data_ = nullptr;
    size_ = 0;
    if (n == 0) return cudaErrorInvalidValue;
    const cudaError_t e = cudaMalloc(reinterpret_cast<void**>(&data_), n * sizeof(T));
    if (e == cudaSuccess) size_ = n;
    return e;
  }
  // Allocates host.size() elements and copies host in.
  cudaError_t upload(const std::vector<T>& host) {
    const cudaError_t e = allocate(host.size());
    if (e != cudaSuccess) return e;
    return cudaMemcpy(data_, host.data(), size_ * sizeof(T), cudaMemcpyHostToDevice);
  }
  // The whole buffer into host (resized to size()); synchronises with the device.
  cudaError_t download(std::vector<T>& host) const {
    host.resize(size_);
    return cudaMemcpy(host.data(), data_, size_ * sizeof(T), cudaMemcpyDeviceToHost);
  }

  T* get() const { return data_; }
  size_t size() const { return size_; }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
};

// The fixture of every kernel suite: skips where no GPU is usable.
class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (rnn::cuda_device_count() == 0) GTEST_SKIP() << "no usable CUDA device on this machine";
  }
};

// n floats uniform in [-scale, scale], none exactly 0 (testbed::random_tensor).
inline std::vector<float> random_floats(size_t n, uint64_t seed, float scale = 1.0f) {
  const rnn::Tensor t = testbed::random_tensor({static_cast<int64_t>(n)}, seed, scale);
  return std::vector<float>(t.data(), t.data() + t.numel());
}

// Success when actual and expected have the same size and the same bits
// everywhere (a NaN equals only the same NaN); else the first differences.
inline ::testing::AssertionResult same_bits(const std::vector<float>& actual, const std::vector<float>& expected) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << "size " << actual.size() << ", expected " << expected.size();
  std::ostringstream s;
  size_t differ = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    if (std::memcmp(&actual[i], &expected[i], sizeof(float)) == 0) continue;
    if (++differ <= 5) s << " [" << i << "] " << actual[i] << " vs " << expected[i] << ";";
  }
  if (differ == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << differ << " of " << actual.size() << " elements differ; first:" << s.str();
}

// Success when actual has expected's size, every element finite, and
// ||actual - expected|| / ||expected|| <= tol, in double (testbed::rel_err's
// measure, 1e-30 floor on the denominator: an all-zero expected needs an
// all-zero actual); else the error and the first elements off by more than
// tol relative to the norm's scale.
inline ::testing::AssertionResult close(const std::vector<float>& actual, const std::vector<double>& expected,
                                        double tol) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << "size " << actual.size() << ", expected " << expected.size();
  double num = 0.0, den = 0.0, largest = 0.0;
  for (size_t i = 0; i < actual.size(); ++i) {
    if (!std::isfinite(actual[i])) return ::testing::AssertionFailure() << "non-finite element [" << i << "]";
    const double d = actual[i] - expected[i];
    num += d * d;
    den += expected[i] * expected[i];
    largest = std::max(largest, std::abs(expected[i]));
  }
  const double e = std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
  if (e <= tol) return ::testing::AssertionSuccess();
  std::ostringstream s;
  s.precision(9);
  s << "relative error " << e << " > " << tol << "; first differences:";
  int shown = 0;
  for (size_t i = 0; i < actual.size() && shown < 5; ++i) {
    if (std::abs(actual[i] - expected[i]) > tol * std::max(largest, 1e-30)) {
      s << " [" << i << "] " << actual[i] << " vs " << expected[i] << ";";
      ++shown;
    }
  }
  return ::testing::AssertionFailure() << s.str();
}

}  // namespace kernel_test
