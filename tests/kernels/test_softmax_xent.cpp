// tests/kernels/test_softmax_xent.cpp: kernels/softmax_xent.cu
// (launch_softmax_xent) against a CPU twin in double written from
// softmax_xent.cuh: per row, the loss log(sum_k exp(z_k - m)) - (z_t - m) and
// the gradient (softmax(z) - onehot(t)) / count written over the logits;
// rows with a negative target give loss 0 and a zero gradient. Also its
// bitwise reproducibility (claimed by the header) and its stability for
// logits far from 0. Skips without a usable GPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "device_buffer.hpp"
#include "kernels/softmax_xent.cuh"
#include "testbed.hpp"

namespace {

using kernel_test::DeviceBuffer;

class SoftmaxXentKernel : public kernel_test::GpuTest {};

// Tolerance of the float kernel against the double twin, as a relative norm
// error over each case's losses and over its gradients. The logits are in
// [-1, 1] (plus an offset in the stability test, under which z - m stays
// exact), so every row's softmax has p_k >= e^-2 / O and, for O >= 2,
// p_target <= 0.89 and loss >= 0.12: no cancellation amplifies the kernel's
// roundings (two-ulp expf, the float sum, one division, logf) by more than
// about 8, a worst case near 1.1e-6 for a single row with O = 2 and far
// less summed over rows; a float emulation of the kernel's order of
// operations (lane-strided sums, butterfly) measured at most 2e-7 over
// thousands of random rows of every shape here. 2e-6 is ten times that and
// still far below the 1e-5 relative error a wrong formula (say, a missed
// 1/count or a dropped max shift) would show by orders of magnitude.
constexpr double kTol = 2e-6;

struct Twin {
  std::vector<double> loss, grad;
};

// The CPU twin, in double: softmax_xent.cuh's definition, row by row.
Twin twin(int rows, int O, const std::vector<float>& logits, const std::vector<int32_t>& targets, int count) {
  Twin r;
  r.loss.assign(static_cast<size_t>(rows), 0.0);
  r.grad.assign(static_cast<size_t>(rows) * O, 0.0);
  for (int row = 0; row < rows; ++row) {
    const int t = targets[static_cast<size_t>(row)];
    if (t < 0) continue;  // ignored: loss 0, gradient 0
    const float* z = logits.data() + static_cast<size_t>(row) * O;
    double m = z[0];
    for (int k = 1; k < O; ++k) m = std::max(m, static_cast<double>(z[k]));
    double sum = 0.0;
    for (int k = 0; k < O; ++k) sum += std::exp(z[k] - m);
    r.loss[static_cast<size_t>(row)] = std::log(sum) - (z[t] - m);
    for (int k = 0; k < O; ++k)
      r.grad[static_cast<size_t>(row) * O + k] = (std::exp(z[k] - m) / sum - (k == t ? 1.0 : 0.0)) / count;
  }
  return r;
}

// Targets in [0, O), about one in five ignored (-1); row 0 always counted
// and, with more than one row, the last row always ignored.
std::vector<int32_t> random_targets(int rows, int O, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int32_t> target(0, O - 1);
  std::bernoulli_distribution ignored(0.2);
  std::vector<int32_t> t(static_cast<size_t>(rows));
  for (auto& v : t) v = ignored(gen) ? -1 : target(gen);
  t[0] = target(gen);
  if (rows > 1) t.back() = -1;
  return t;
}

int counted(const std::vector<int32_t>& targets) {
  return static_cast<int>(std::count_if(targets.begin(), targets.end(), [](int32_t t) { return t >= 0; }));
}

struct Result {
  std::vector<float> loss, grad;
};

// One launch on copies of logits and targets; the loss and the gradient back.
::testing::AssertionResult run(int rows, int O, const std::vector<float>& logits, const std::vector<int32_t>& targets,
                               int count, Result* out) {
  DeviceBuffer<float> d_logits, d_loss;
  DeviceBuffer<int32_t> d_targets;
  auto failed = [](const char* what, cudaError_t e) {
    return ::testing::AssertionFailure() << what << ": " << cudaGetErrorString(e);
  };
  cudaError_t e;
  if ((e = d_logits.upload(logits)) != cudaSuccess) return failed("logits upload", e);
  if ((e = d_targets.upload(targets)) != cudaSuccess) return failed("targets upload", e);
  // The loss buffer starts as NaN and one element longer: every row's loss must be written, and nothing past them.
  if ((e = d_loss.upload(std::vector<float>(static_cast<size_t>(rows) + 1, NAN))) != cudaSuccess)
    return failed("loss upload", e);
  if ((e = rnn::kernels::launch_softmax_xent(rows, O, d_logits.get(), d_targets.get(), count, d_loss.get(),
                                             nullptr)) != cudaSuccess)
    return failed("launch_softmax_xent", e);
  if ((e = cudaGetLastError()) != cudaSuccess) return failed("cudaGetLastError", e);
  if ((e = cudaDeviceSynchronize()) != cudaSuccess) return failed("cudaDeviceSynchronize", e);
  if ((e = d_logits.download(out->grad)) != cudaSuccess) return failed("gradient download", e);
  if ((e = d_loss.download(out->loss)) != cudaSuccess) return failed("loss download", e);
  if (!std::isnan(out->loss.back())) return ::testing::AssertionFailure() << "row_loss[rows] was written";
  out->loss.pop_back();
  return ::testing::AssertionSuccess();
}

// Ignored rows exactly 0 (loss and gradient), the rest within kTol of the twin.
void expect_matches_twin(int rows, int O, const std::vector<float>& logits, const std::vector<int32_t>& targets,
                         const Result& r) {
  const int count = counted(targets);
  const Twin expected = twin(rows, O, logits, targets, count);
  for (int row = 0; row < rows; ++row) {
    if (targets[static_cast<size_t>(row)] >= 0) continue;
    EXPECT_EQ(r.loss[static_cast<size_t>(row)], 0.0f) << "ignored row " << row;
    for (int k = 0; k < O; ++k)
      if (const float g = r.grad[static_cast<size_t>(row) * O + k]; g != 0.0f) {
        ADD_FAILURE() << "ignored row " << row << ": gradient [" << k << "] = " << g;
        break;
      }
  }
  EXPECT_TRUE(kernel_test::close(r.loss, expected.loss, kTol)) << "row losses";
  EXPECT_TRUE(kernel_test::close(r.grad, expected.grad, kTol)) << "gradient";
}

// Rows around the block's 8 (one warp each), O around the warp's 32 and
// several times it, O = 1 (loss and gradient exactly 0), a mix of counted and
// ignored rows.
TEST_F(SoftmaxXentKernel, MatchesDoubleTwinAcrossShapes) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  uint64_t k = 0;
  for (int rows : {1, 7, 8, 9, 100, 1001})
    for (int O : {1, 2, 31, 32, 33, 1000}) {
      SCOPED_TRACE("rows=" + std::to_string(rows) + " O=" + std::to_string(O));
      const std::vector<float> logits = kernel_test::random_floats(static_cast<size_t>(rows) * O, seed + 16 * k);
      const std::vector<int32_t> targets = random_targets(rows, O, seed + 16 * k + 1);
      ++k;
      Result r;
      ASSERT_TRUE(run(rows, O, logits, targets, counted(targets), &r));
      expect_matches_twin(rows, O, logits, targets, r);
    }
}

// Every row counted (no -1), and every row but one ignored.
TEST_F(SoftmaxXentKernel, MatchesDoubleTwinAllCountedAndOneCounted) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  const int rows = 37, O = 45;
  const std::vector<float> logits = kernel_test::random_floats(static_cast<size_t>(rows) * O, seed);
  std::vector<int32_t> all(static_cast<size_t>(rows)), one(static_cast<size_t>(rows), -1);
  std::mt19937_64 gen(seed + 1);
  for (auto& t : all) t = std::uniform_int_distribution<int32_t>(0, O - 1)(gen);
  one[17] = all[17];
  for (const auto* targets : {&all, &one}) {
    SCOPED_TRACE("count=" + std::to_string(counted(*targets)));
    Result r;
    ASSERT_TRUE(run(rows, O, logits, *targets, counted(*targets), &r));
    expect_matches_twin(rows, O, logits, *targets, r);
  }
}

// An ignored row's logits are overwritten with 0 whatever they held (here
// NaN and infinities), and its loss is 0; counted rows are unaffected.
// Targets below -1 are ignored too (the header says t < 0).
TEST_F(SoftmaxXentKernel, IgnoredRowsBecomeZeroWhateverTheyHeld) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  const int rows = 20, O = 40;
  std::vector<float> logits = kernel_test::random_floats(static_cast<size_t>(rows) * O, seed);
  std::vector<int32_t> targets = random_targets(rows, O, seed + 1);
  targets[3] = -1;
  targets[4] = -100;
  const float poison[] = {NAN, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()};
  for (int row = 0; row < rows; ++row)
    if (targets[static_cast<size_t>(row)] < 0)
      for (int k = 0; k < O; ++k) logits[static_cast<size_t>(row) * O + k] = poison[(row + k) % 3];
  Result r;
  ASSERT_TRUE(run(rows, O, logits, targets, counted(targets), &r));
  expect_matches_twin(rows, O, logits, targets, r);
}

// Logits shifted far from 0 (+100: exp would overflow float unshifted;
// +-1000): the max shift keeps every loss and gradient finite and exact to
// the same tolerance (z - m is exact for these, so the twin sees the same
// differences the kernel does).
TEST_F(SoftmaxXentKernel, StableForLogitsFarFromZero) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  const int rows = 33, O = 70;
  uint64_t k = 0;
  for (float offset : {100.0f, 1000.0f, -1000.0f}) {
    SCOPED_TRACE("offset " + std::to_string(offset));
    std::vector<float> logits = kernel_test::random_floats(static_cast<size_t>(rows) * O, seed + 16 * k);
    for (float& z : logits) z += offset;
    const std::vector<int32_t> targets = random_targets(rows, O, seed + 16 * k + 1);
    ++k;
    Result r;
    ASSERT_TRUE(run(rows, O, logits, targets, counted(targets), &r));
    expect_matches_twin(rows, O, logits, targets, r);
  }
}

// "Fixed reduction order, so bitwise reproducible": two launches, same bits.
TEST_F(SoftmaxXentKernel, BitwiseReproducible) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  const int rows = 257, O = 1001;
  const std::vector<float> logits = kernel_test::random_floats(static_cast<size_t>(rows) * O, seed, 5.0f);
  const std::vector<int32_t> targets = random_targets(rows, O, seed + 1);
  Result a, b;
  ASSERT_TRUE(run(rows, O, logits, targets, counted(targets), &a));
  ASSERT_TRUE(run(rows, O, logits, targets, counted(targets), &b));
  EXPECT_TRUE(kernel_test::same_bits(a.loss, b.loss)) << "row losses";
  EXPECT_TRUE(kernel_test::same_bits(a.grad, b.grad)) << "gradient";
}

// Not in softmax_xent.cuh: the launcher's own checks (softmax_xent.cu). rows,
// O or count below 1 and null logits, targets or row_loss are rejected before
// any launch.
TEST_F(SoftmaxXentKernel, RejectsBadSizesAndNullBuffers) {
  DeviceBuffer<float> logits, loss;
  DeviceBuffer<int32_t> targets;
  ASSERT_EQ(logits.upload(kernel_test::random_floats(3 * 4, 1)), cudaSuccess);
  ASSERT_EQ(targets.upload({0, 3, -1}), cudaSuccess);
  ASSERT_EQ(loss.allocate(3), cudaSuccess);
  using rnn::kernels::launch_softmax_xent;
  EXPECT_EQ(launch_softmax_xent(0, 4, logits.get(), targets.get(), 2, loss.get(), nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_softmax_xent(3, 0, logits.get(), targets.get(), 2, loss.get(), nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_softmax_xent(3, 4, logits.get(), targets.get(), 0, loss.get(), nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_softmax_xent(-3, 4, logits.get(), targets.get(), 2, loss.get(), nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_softmax_xent(3, 4, nullptr, targets.get(), 2, loss.get(), nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_softmax_xent(3, 4, logits.get(), nullptr, 2, loss.get(), nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_softmax_xent(3, 4, logits.get(), targets.get(), 2, nullptr, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_softmax_xent(3, 4, logits.get(), targets.get(), 2, loss.get(), nullptr), cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

}  // namespace
