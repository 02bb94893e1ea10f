// tests/kernels/test_prev_states.cpp: kernels/prev_states.cu (launch_prev_states)
// against its CPU twin, a plain loop over (t, b, d, i) written from
// prev_states.cuh: h0 (or 0) before each direction's first step, y at the
// time of the previous step otherwise, 0 at padded positions. A gather, so
// bitwise equality; y's padded rows hold NaN, which must never be read.
// Skips without a usable GPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "device_buffer.hpp"
#include "kernels/prev_states.cuh"
#include "testbed.hpp"

namespace {

using kernel_test::DeviceBuffer;

class PrevStatesKernel : public kernel_test::GpuTest {};

constexpr float kUnwritten = -777.0f;  // prev's contents before the launch: every element must be overwritten

struct Case {
  int T, B, H, D;
  bool batch_first, with_h0, with_lengths;
  std::string name() const {
    return "T=" + std::to_string(T) + " B=" + std::to_string(B) + " H=" + std::to_string(H) +
           " D=" + std::to_string(D) + (batch_first ? " batch_first" : " time-major") + (with_h0 ? " h0" : " no h0") +
           (with_lengths ? " lengths" : " no lengths");
  }
};

int64_t row_of(int t, int b, int T, int B, bool batch_first) {
  return batch_first ? static_cast<int64_t>(b) * T + t : static_cast<int64_t>(t) * B + b;
}

// Lengths in [1, T] (the API's range): sequence 0 full, sequence 1 (if any)
// shorter than T (when T > 1), the rest random.
std::vector<int32_t> random_lengths(int T, int B, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int32_t> u(1, T);
  std::vector<int32_t> lengths(static_cast<size_t>(B));
  for (auto& len : lengths) len = u(gen);
  lengths[0] = T;
  if (B > 1 && T > 1) lengths[1] = std::uniform_int_distribution<int32_t>(1, T - 1)(gen);
  return lengths;
}

// The CPU twin: prev_states.cuh's definition, element by element.
std::vector<float> twin(const Case& c, const std::vector<float>& y, const std::vector<float>* h0,
                        const std::vector<int32_t>* lengths) {
  const int64_t DH = static_cast<int64_t>(c.D) * c.H;
  std::vector<float> prev(static_cast<size_t>(static_cast<int64_t>(c.T) * c.B * DH), kUnwritten);
  for (int b = 0; b < c.B; ++b) {
    const int len = lengths ? (*lengths)[static_cast<size_t>(b)] : c.T;
    for (int t = 0; t < c.T; ++t) {
      const int64_t row = row_of(t, b, c.T, c.B, c.batch_first);
      for (int d = 0; d < c.D; ++d) {
        // Direction 0 runs times 0, 1, ..., len-1; direction 1 runs len-1, ..., 0.
        const bool first_step = d == 0 ? t == 0 : t == len - 1;
        const int previous_time = d == 0 ? t - 1 : t + 1;
        for (int i = 0; i < c.H; ++i) {
          const int64_t col = static_cast<int64_t>(d) * c.H + i;
          float v = 0.0f;
          if (t < len) {
            if (first_step)
              v = h0 ? (*h0)[static_cast<size_t>((static_cast<int64_t>(d) * c.B + b) * c.H + i)] : 0.0f;
            else
              v = y[static_cast<size_t>(row_of(previous_time, b, c.T, c.B, c.batch_first) * DH + col)];
          }
          prev[static_cast<size_t>(row * DH + col)] = v;
        }
      }
    }
  }
  return prev;
}

// Runs one case on the device and compares it with the twin, bitwise,
// including one element past the end of prev that must stay untouched.
void check_case(const Case& c, uint64_t seed) {
  SCOPED_TRACE(c.name());
  const int64_t DH = static_cast<int64_t>(c.D) * c.H, rows = static_cast<int64_t>(c.T) * c.B;
  const size_t n = static_cast<size_t>(rows * DH);
  std::vector<float> y = kernel_test::random_floats(n, seed);
  const std::vector<float> h0 = kernel_test::random_floats(static_cast<size_t>(c.D) * c.B * c.H, seed + 1);
  const std::vector<int32_t> lengths = random_lengths(c.T, c.B, seed + 2);
  if (c.with_lengths) {
    // y at padded positions is never an earlier step's state: poison it.
    for (int b = 0; b < c.B; ++b)
      for (int t = lengths[static_cast<size_t>(b)]; t < c.T; ++t)
        for (int64_t k = 0; k < DH; ++k) y[static_cast<size_t>(row_of(t, b, c.T, c.B, c.batch_first) * DH + k)] = NAN;
  }

  DeviceBuffer<float> d_y, d_h0, d_prev;
  DeviceBuffer<int32_t> d_lengths;
  ASSERT_EQ(d_y.upload(y), cudaSuccess);
  if (c.with_h0) ASSERT_EQ(d_h0.upload(h0), cudaSuccess);
  if (c.with_lengths) ASSERT_EQ(d_lengths.upload(lengths), cudaSuccess);
  ASSERT_EQ(d_prev.upload(std::vector<float>(n + 1, kUnwritten)), cudaSuccess);
  ASSERT_EQ(rnn::kernels::launch_prev_states(c.T, c.B, c.H, c.D, c.batch_first, d_y.get(), d_h0.get(),
                                             d_lengths.get(), d_prev.get(), nullptr),
            cudaSuccess);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::vector<float> actual;
  ASSERT_EQ(d_prev.download(actual), cudaSuccess);

  std::vector<float> expected = twin(c, y, c.with_h0 ? &h0 : nullptr, c.with_lengths ? &lengths : nullptr);
  expected.push_back(kUnwritten);  // the element past the end
  EXPECT_TRUE(kernel_test::same_bits(actual, expected));
}

// Every combination of layout, h0 and lengths on shapes with sizes of 1 and
// element counts below, at and off multiples of the block (256).
TEST_F(PrevStatesKernel, MatchesCpuTwinOnSmallShapes) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  const int shapes[][4] = {{1, 1, 1, 1}, {1, 1, 1, 2}, {1, 3, 5, 2},  {4, 1, 7, 1},
                           {5, 3, 7, 2}, {6, 4, 33, 1}, {2, 1, 128, 1}, {7, 5, 129, 2}};
  uint64_t k = 0;
  for (const auto& s : shapes)
    for (bool batch_first : {false, true})
      for (bool with_h0 : {false, true})
        for (bool with_lengths : {false, true}) {
          check_case(Case{s[0], s[1], s[2], s[3], batch_first, with_h0, with_lengths}, seed + 16 * k++);
          if (HasFatalFailure()) return;
        }
}

// More elements than one pass of the grid covers (65536 blocks of 256
// threads = 16777216): the grid-stride loop's second pass.
TEST_F(PrevStatesKernel, MatchesCpuTwinBeyondOneGridPass) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  const Case c{64, 64, 2049, 2, true, true, true};  // 64 * 64 * 2 * 2049 = 16785408 elements
  ASSERT_GT(int64_t{c.T} * c.B * c.D * c.H, int64_t{65536} * 256);
  check_case(c, seed);
}

// Not in prev_states.cuh: the launcher's own checks (prev_states.cu). Sizes
// below 1, D other than 1 or 2, and a null y or prev are rejected before any
// launch; a null h0 and null lengths are allowed (documented).
TEST_F(PrevStatesKernel, RejectsBadSizesAndNullBuffers) {
  DeviceBuffer<float> y, prev;
  ASSERT_EQ(y.upload(kernel_test::random_floats(2 * 3 * 2 * 4, 1)), cudaSuccess);
  ASSERT_EQ(prev.allocate(2 * 3 * 2 * 4), cudaSuccess);
  auto launch = [](int T, int B, int H, int D, const float* y_ptr, float* prev_ptr) {
    return rnn::kernels::launch_prev_states(T, B, H, D, false, y_ptr, nullptr, nullptr, prev_ptr, nullptr);
  };
  EXPECT_EQ(launch(0, 3, 4, 2, y.get(), prev.get()), cudaErrorInvalidValue);
  EXPECT_EQ(launch(-1, 3, 4, 2, y.get(), prev.get()), cudaErrorInvalidValue);
  EXPECT_EQ(launch(2, 0, 4, 2, y.get(), prev.get()), cudaErrorInvalidValue);
  EXPECT_EQ(launch(2, 3, 0, 2, y.get(), prev.get()), cudaErrorInvalidValue);
  EXPECT_EQ(launch(2, 3, 4, 0, y.get(), prev.get()), cudaErrorInvalidValue);
  EXPECT_EQ(launch(2, 3, 4, 3, y.get(), prev.get()), cudaErrorInvalidValue);
  EXPECT_EQ(launch(2, 3, 4, 2, nullptr, prev.get()), cudaErrorInvalidValue);
  EXPECT_EQ(launch(2, 3, 4, 2, y.get(), nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch(2, 3, 4, 2, y.get(), prev.get()), cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

}  // namespace
