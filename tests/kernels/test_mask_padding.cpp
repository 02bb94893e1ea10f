// tests/kernels/test_mask_padding.cpp: kernels/mask_padding.cu
// (launch_mask_padding) against its CPU twin, a plain loop over rows written
// from mask_padding.cuh: row (t, b) copied where t < lengths[b], else 0. A
// masked copy, so bitwise equality; the padded rows of the input hold NaN
// and infinities (what the kernel exists to keep out of a GEMM).
// Skips without a usable GPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "device_buffer.hpp"
#include "kernels/mask_padding.cuh"
#include "testbed.hpp"

namespace {

using kernel_test::DeviceBuffer;

class MaskPaddingKernel : public kernel_test::GpuTest {};

constexpr float kUnwritten = -777.0f;  // out's contents before the launch: every element must be overwritten

struct Case {
  int T, B, W;
  bool batch_first;
  std::string name() const {
    return "T=" + std::to_string(T) + " B=" + std::to_string(B) + " W=" + std::to_string(W) +
           (batch_first ? " batch_first" : " time-major");
  }
};

int64_t row_of(int t, int b, int T, int B, bool batch_first) {
  return batch_first ? static_cast<int64_t>(b) * T + t : static_cast<int64_t>(t) * B + b;
}

// Lengths in [1, T] (the API's range): sequence 0 full, sequence 1 (if any)
// shorter than T (when T > 1), the rest random; all T when `full`.
std::vector<int32_t> random_lengths(int T, int B, uint64_t seed, bool full) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int32_t> u(1, T);
  std::vector<int32_t> lengths(static_cast<size_t>(B));
  for (auto& len : lengths) len = full ? T : u(gen);
  lengths[0] = T;
  if (!full && B > 1 && T > 1) lengths[1] = std::uniform_int_distribution<int32_t>(1, T - 1)(gen);
  return lengths;
}

// The CPU twin: mask_padding.cuh's definition, row by row.
std::vector<float> twin(const Case& c, const std::vector<int32_t>& lengths, const std::vector<float>& in) {
  std::vector<float> out(in.size(), kUnwritten);
  for (int b = 0; b < c.B; ++b)
    for (int t = 0; t < c.T; ++t) {
      const size_t row = static_cast<size_t>(row_of(t, b, c.T, c.B, c.batch_first));
      for (size_t k = 0; k < static_cast<size_t>(c.W); ++k)
        out[row * c.W + k] = t < lengths[static_cast<size_t>(b)] ? in[row * c.W + k] : 0.0f;
    }
  return out;
}

// Runs one case on the device and compares it with the twin, bitwise,
// including one element past the end of out that must stay untouched.
void check_case(const Case& c, uint64_t seed, bool full_lengths = false) {
  SCOPED_TRACE(c.name() + (full_lengths ? " all lengths T" : ""));
  const size_t n = static_cast<size_t>(c.T) * c.B * c.W;
  std::vector<float> in = kernel_test::random_floats(n, seed);
  const std::vector<int32_t> lengths = random_lengths(c.T, c.B, seed + 1, full_lengths);
  const float poison[] = {NAN, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()};
  for (int b = 0; b < c.B; ++b)
    for (int t = lengths[static_cast<size_t>(b)]; t < c.T; ++t)
      for (int64_t k = 0; k < c.W; ++k)
        in[static_cast<size_t>(row_of(t, b, c.T, c.B, c.batch_first) * c.W + k)] = poison[(t + k) % 3];

  DeviceBuffer<float> d_in, d_out;
  DeviceBuffer<int32_t> d_lengths;
  ASSERT_EQ(d_in.upload(in), cudaSuccess);
  ASSERT_EQ(d_lengths.upload(lengths), cudaSuccess);
  ASSERT_EQ(d_out.upload(std::vector<float>(n + 1, kUnwritten)), cudaSuccess);
  ASSERT_EQ(rnn::kernels::launch_mask_padding(c.T, c.B, c.W, c.batch_first, d_lengths.get(), d_in.get(), d_out.get(),
                                              nullptr),
            cudaSuccess);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::vector<float> actual;
  ASSERT_EQ(d_out.download(actual), cudaSuccess);

  std::vector<float> expected = twin(c, lengths, in);
  expected.push_back(kUnwritten);  // the element past the end
  EXPECT_TRUE(kernel_test::same_bits(actual, expected));
}

// Both layouts on shapes with sizes of 1 and element counts below, at and
// off multiples of the block (256).
TEST_F(MaskPaddingKernel, MatchesCpuTwinOnSmallShapes) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  const int shapes[][3] = {{1, 1, 1}, {1, 4, 3}, {5, 1, 2}, {4, 3, 5}, {6, 3, 1}, {3, 2, 128}, {7, 5, 257}, {9, 4, 64}};
  uint64_t k = 0;
  for (const auto& s : shapes)
    for (bool batch_first : {false, true}) {
      check_case(Case{s[0], s[1], s[2], batch_first}, seed + 16 * k++);
      if (HasFatalFailure()) return;
    }
}

// No padding at all: out is in, bit for bit.
TEST_F(MaskPaddingKernel, CopiesEverythingWhenNoSequenceIsShort) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  check_case(Case{5, 3, 33, false}, seed, true);
  check_case(Case{5, 3, 33, true}, seed + 16, true);
}

// More elements than one pass of the grid covers (65536 blocks of 256
// threads = 16777216): the grid-stride loop's second pass.
TEST_F(MaskPaddingKernel, MatchesCpuTwinBeyondOneGridPass) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  const Case c{65, 64, 4097, false};  // 65 * 64 * 4097 = 17043520 elements
  ASSERT_GT(int64_t{c.T} * c.B * c.W, int64_t{65536} * 256);
  check_case(c, seed);
}

// Not in mask_padding.cuh: the launcher's own checks (mask_padding.cu).
// Sizes below 1 and null lengths, in or out are rejected before any launch.
TEST_F(MaskPaddingKernel, RejectsBadSizesAndNullBuffers) {
  DeviceBuffer<float> in, out;
  DeviceBuffer<int32_t> lengths;
  ASSERT_EQ(in.upload(kernel_test::random_floats(2 * 3 * 4, 1)), cudaSuccess);
  ASSERT_EQ(out.allocate(2 * 3 * 4), cudaSuccess);
  ASSERT_EQ(lengths.upload({2, 1, 2}), cudaSuccess);
  using rnn::kernels::launch_mask_padding;
  EXPECT_EQ(launch_mask_padding(0, 3, 4, false, lengths.get(), in.get(), out.get(), nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_mask_padding(2, 0, 4, false, lengths.get(), in.get(), out.get(), nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_mask_padding(2, 3, 0, false, lengths.get(), in.get(), out.get(), nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_mask_padding(2, 3, -4, false, lengths.get(), in.get(), out.get(), nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_mask_padding(2, 3, 4, false, nullptr, in.get(), out.get(), nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_mask_padding(2, 3, 4, false, lengths.get(), nullptr, out.get(), nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_mask_padding(2, 3, 4, false, lengths.get(), in.get(), nullptr, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_mask_padding(2, 3, 4, true, lengths.get(), in.get(), out.get(), nullptr), cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

}  // namespace
