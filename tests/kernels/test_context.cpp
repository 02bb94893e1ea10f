// tests/kernels/test_context.cpp: kernels/context.cu against its CPU twins,
// plain loops written from context.cuh: append_context copies c into the
// last H columns of every row and leaves the symbols alone (a copy:
// bitwise); context_grad adds the sum over each sequence's valid steps in
// ascending t (float, the kernel's order: bitwise too), never reading a
// padded row (NaN there). Skips without a usable GPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "device_buffer.hpp"
#include "kernels/context.cuh"

namespace {

using kernel_test::DeviceBuffer;

class ContextKernel : public kernel_test::GpuTest {};

struct Shape {
  int T, B, V, H;
};
// H around the block's width (32-multiples up to 256), V = 0 and wide.
const std::vector<Shape> kShapes = {{1, 1, 1, 1}, {3, 2, 4, 5}, {7, 5, 0, 33}, {4, 9, 11, 256}, {2, 3, 70, 300}};

TEST_F(ContextKernel, AppendMatchesTheCpuTwin) {
  for (const Shape& s : kShapes) {
    SCOPED_TRACE("T=" + std::to_string(s.T) + " B=" + std::to_string(s.B) + " V=" + std::to_string(s.V) +
                 " H=" + std::to_string(s.H));
    const size_t W = static_cast<size_t>(s.V + s.H), rows = static_cast<size_t>(s.T) * s.B;
    const std::vector<float> x0 = kernel_test::random_floats(rows * W, 1), top = kernel_test::random_floats(
                                                                                 static_cast<size_t>(s.B) * s.H, 2);
    std::vector<float> want = x0;
    for (size_t r = 0; r < rows; ++r)
      for (int k = 0; k < s.H; ++k) want[r * W + s.V + k] = top[(r % s.B) * s.H + k];
    DeviceBuffer<float> d_x, d_top;
    ASSERT_EQ(d_x.upload(x0), cudaSuccess);
    ASSERT_EQ(d_top.upload(top), cudaSuccess);
    ASSERT_EQ(rnn::kernels::launch_append_context(s.T, s.B, s.V, s.H, d_top.get(), d_x.get(), nullptr), cudaSuccess);
    std::vector<float> got;
    ASSERT_EQ(d_x.download(got), cudaSuccess);
    EXPECT_TRUE(kernel_test::same_bits(got, want));
  }
}

TEST_F(ContextKernel, GradientMatchesTheCpuTwin) {
  for (const Shape& s : kShapes) {
    for (const bool with_lengths : {false, true}) {
      SCOPED_TRACE("T=" + std::to_string(s.T) + " B=" + std::to_string(s.B) + " V=" + std::to_string(s.V) +
                   " H=" + std::to_string(s.H) + (with_lengths ? " lengths" : ""));
      const size_t W = static_cast<size_t>(s.V + s.H);
      std::vector<float> dx = kernel_test::random_floats(static_cast<size_t>(s.T) * s.B * W, 3);
      const std::vector<float> dtop0 = kernel_test::random_floats(static_cast<size_t>(s.B) * s.H, 4);
      std::mt19937_64 gen(5);
      std::vector<int32_t> lengths(static_cast<size_t>(s.B));
      for (auto& l : lengths) l = with_lengths ? 1 + static_cast<int32_t>(gen() % s.T) : s.T;
      for (int t = 0; t < s.T; ++t)  // padded rows must never be read
        for (int b = 0; b < s.B; ++b)
          if (t >= lengths[static_cast<size_t>(b)])
            for (size_t k = 0; k < W; ++k) dx[(static_cast<size_t>(t) * s.B + b) * W + k] = std::nanf("");
      std::vector<float> want = dtop0;
      for (int b = 0; b < s.B; ++b)
        for (int k = 0; k < s.H; ++k) {
          float sum = want[static_cast<size_t>(b) * s.H + k];
          for (int t = 0; t < lengths[static_cast<size_t>(b)]; ++t)
            sum += dx[(static_cast<size_t>(t) * s.B + b) * W + s.V + k];
          want[static_cast<size_t>(b) * s.H + k] = sum;
        }
      DeviceBuffer<float> d_dx, d_dtop;
      DeviceBuffer<int32_t> d_len;
      ASSERT_EQ(d_dx.upload(dx), cudaSuccess);
      ASSERT_EQ(d_dtop.upload(dtop0), cudaSuccess);
      ASSERT_EQ(d_len.upload(lengths), cudaSuccess);
      ASSERT_EQ(rnn::kernels::launch_context_grad(s.T, s.B, s.V, s.H, with_lengths ? d_len.get() : nullptr,
                                                  d_dx.get(), d_dtop.get(), nullptr),
                cudaSuccess);
      std::vector<float> got;
      ASSERT_EQ(d_dtop.download(got), cudaSuccess);
      EXPECT_TRUE(kernel_test::same_bits(got, want));
    }
  }
}

TEST_F(ContextKernel, RefusesBadSizesAndNullPointers) {
  float* p = reinterpret_cast<float*>(16);  // never dereferenced: refused before launch
  EXPECT_EQ(rnn::kernels::launch_append_context(0, 1, 1, 1, p, p, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(rnn::kernels::launch_append_context(1, 1, -1, 1, p, p, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(rnn::kernels::launch_append_context(1, 1, 1, 1, nullptr, p, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(rnn::kernels::launch_append_context(65536, 65536, 1, 1, p, p, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(rnn::kernels::launch_context_grad(1, 0, 1, 1, nullptr, p, p, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(rnn::kernels::launch_context_grad(1, 1, 1, 1, nullptr, nullptr, p, nullptr), cudaErrorInvalidValue);
}

}  // namespace
