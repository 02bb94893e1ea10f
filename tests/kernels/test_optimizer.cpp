// tests/kernels/test_optimizer.cpp: kernels/optimizer.cu (launch_sgd,
// launch_adam) against CPU twins in double written from PyTorch's formulas as
// optimizer.cuh states them: SGD (the momentum buffer starting as the first
// gradient, then momentum buf + g; p -= lr buf) and Adam (m, v, the bias
// corrections of step t), one and several steps, the Adam constants computed
// as the GPU learners compute them. Skips without a usable GPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "device_buffer.hpp"
#include "kernels/optimizer.cuh"
#include "testbed.hpp"

namespace {

using kernel_test::DeviceBuffer;

class OptimizerKernel : public kernel_test::GpuTest {};

// Tolerances, relative norm errors of the float kernels against the double
// twins. The inputs are well conditioned on purpose: each element's
// gradients keep one sign over all steps (magnitudes in [0.5, 1.5] times a
// scale) and its parameter starts on the other side of 0 with |p| in [1, 2],
// so momentum buffers and Adam's m never cancel, v is a sum of positive
// terms and every update moves |p| away from 0. Each value then carries only
// its own roundings relative to itself (u = 2^-24 ~ 6e-8 each, with or
// without nvcc's fma contraction): SGD, <= 5 steps, bounded by ~3u ~ 2e-7
// for p and the buffer; Adam, <= 10 steps, v's and m's errors are averaged
// by the recurrences (bounded by ~11u ~ 7e-7 worst case, all roundings one
// way) and p's by ~8u. Typical errors are a few times smaller still, and a
// wrong formula (a missed bias correction, eps in the wrong place, the
// buffer not restarted on the first step) is off by 1e-4 or more.
constexpr double kSgdTol = 1e-6;
constexpr double kAdamTol = 2e-6;

// n sizes: 1, around the block (256), and a large one not a multiple of it.
const size_t kSizes[] = {1, 255, 256, 257, 100003};

// A well-conditioned problem (see the tolerances): signs s_i, parameters
// -s_i [1, 2], and per step gradients s_i [0.5, 1.5] * scale.
struct Problem {
  std::vector<float> sign, params;
  uint64_t seed;
  Problem(size_t n, uint64_t seed_) : seed(seed_) {
    sign = kernel_test::random_floats(n, seed);
    for (float& s : sign) s = s > 0.0f ? 1.0f : -1.0f;
    params = kernel_test::random_floats(n, seed + 1);
    for (size_t i = 0; i < n; ++i) params[i] = -sign[i] * (1.0f + std::abs(params[i]));
  }
  std::vector<float> gradient(int step, float scale = 1.0f) const {
    // A seed per step, clear of the signs' and parameters' (seed, seed + 1) for steps >= -2.
    std::vector<float> g = kernel_test::random_floats(sign.size(), seed + 1000003 * static_cast<uint64_t>(step + 3));
    for (size_t i = 0; i < g.size(); ++i) g[i] = sign[i] * (0.5f + std::abs(g[i])) * scale;
    return g;
  }
};

std::vector<double> to_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// PyTorch's SGD (dampening 0, no Nesterov, no weight decay), in double.
void sgd_twin(std::vector<double>& p, std::vector<double>& buf, const std::vector<float>& g, double lr,
              double momentum, bool first) {
  for (size_t i = 0; i < p.size(); ++i) {
    double step = g[i];
    if (momentum != 0.0) {
      buf[i] = first ? g[i] : momentum * buf[i] + g[i];
      step = buf[i];
    }
    p[i] -= lr * step;
  }
}

struct AdamHyper {
  double lr, beta1, beta2, eps;
  float grad_scale;  // the gradients' scale: 1e-3 with eps 1e-3 makes eps count
  std::string name() const {
    std::ostringstream s;
    s << "lr=" << lr << " beta1=" << beta1 << " beta2=" << beta2 << " eps=" << eps;
    return s.str();
  }
};
// PyTorch's defaults but for lr; and small betas with an eps as large as sqrt(v).
const AdamHyper kAdamSets[] = {{1e-2, 0.9, 0.999, 1e-8, 1.0f}, {1e-2, 0.5, 0.9, 1e-3, 1e-3f}};

// PyTorch's Adam (no weight decay, no amsgrad), step t (from 1), in double:
// step_size = lr / (1 - b1^t), denom = sqrt(v) / sqrt(1 - b2^t) + eps.
void adam_twin(std::vector<double>& p, std::vector<double>& m, std::vector<double>& v, const std::vector<float>& g,
               const AdamHyper& h, int t) {
  const double bc1 = 1.0 - std::pow(h.beta1, t), bc2 = 1.0 - std::pow(h.beta2, t);
  for (size_t i = 0; i < p.size(); ++i) {
    m[i] = h.beta1 * m[i] + (1.0 - h.beta1) * g[i];
    v[i] = h.beta2 * v[i] + (1.0 - h.beta2) * static_cast<double>(g[i]) * g[i];
    p[i] -= h.lr / bc1 * m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + h.eps);
  }
}

// The kernel's constants for step t, as the GPU learners compute them
// (kernels/optimizer.cuh's adam_constants, in double, then rounded).
rnn::kernels::AdamConstants adam_constants(const AdamHyper& h, int t) {
  return rnn::kernels::adam_constants(h.lr, h.beta1, h.beta2, h.eps, t);
}

// `steps` SGD steps on the device and in the twin, compared after each; with
// momentum 0, `pass_buf` hands the kernel a buffer it must leave untouched.
void check_sgd(size_t n, double lr, double momentum, int steps, bool pass_buf, uint64_t seed) {
  SCOPED_TRACE("n=" + std::to_string(n) + " momentum=" + std::to_string(momentum) + (pass_buf ? " buf" : " no buf"));
  const Problem problem(n, seed);
  // The buffer's contents before the first step must not matter (NaN); with momentum 0 it must stay as it is.
  const std::vector<float> buf0(n, momentum > 0.0 ? NAN : -777.0f);
  DeviceBuffer<float> d_p, d_g, d_buf;
  ASSERT_EQ(d_p.upload(problem.params), cudaSuccess);
  if (pass_buf) ASSERT_EQ(d_buf.upload(buf0), cudaSuccess);
  std::vector<double> p = to_double(problem.params), buf(n, 0.0);
  for (int step = 1; step <= steps; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const std::vector<float> g = problem.gradient(step);
    ASSERT_EQ(d_g.upload(g), cudaSuccess);
    ASSERT_EQ(rnn::kernels::launch_sgd(n, d_p.get(), d_g.get(), d_buf.get(), static_cast<float>(lr),
                                       static_cast<float>(momentum), step == 1, nullptr),
              cudaSuccess);
    ASSERT_EQ(cudaGetLastError(), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    sgd_twin(p, buf, g, lr, momentum, step == 1);
    std::vector<float> actual;
    ASSERT_EQ(d_p.download(actual), cudaSuccess);
    EXPECT_TRUE(kernel_test::close(actual, p, kSgdTol)) << "parameters";
    if (pass_buf) {
      ASSERT_EQ(d_buf.download(actual), cudaSuccess);
      if (momentum > 0.0)
        EXPECT_TRUE(kernel_test::close(actual, buf, kSgdTol)) << "momentum buffer";
      else
        EXPECT_TRUE(kernel_test::same_bits(actual, buf0)) << "buffer with momentum 0";
    }
    if (::testing::Test::HasFailure()) return;  // later steps would only repeat it
  }
}

// `steps` Adam steps from step first_step on, from state (m0, v0), on the
// device and in the twin, compared after each step.
void check_adam(size_t n, const AdamHyper& h, int first_step, int steps, const std::vector<float>& m0,
                const std::vector<float>& v0, const Problem& problem) {
  SCOPED_TRACE("n=" + std::to_string(n) + " " + h.name() + " from step " + std::to_string(first_step));
  DeviceBuffer<float> d_p, d_g, d_m, d_v;
  ASSERT_EQ(d_p.upload(problem.params), cudaSuccess);
  ASSERT_EQ(d_m.upload(m0), cudaSuccess);
  ASSERT_EQ(d_v.upload(v0), cudaSuccess);
  std::vector<double> p = to_double(problem.params), m = to_double(m0), v = to_double(v0);
  for (int t = first_step; t < first_step + steps; ++t) {
    SCOPED_TRACE("step " + std::to_string(t));
    const std::vector<float> g = problem.gradient(t, h.grad_scale);
    ASSERT_EQ(d_g.upload(g), cudaSuccess);
    ASSERT_EQ(rnn::kernels::launch_adam(n, d_p.get(), d_g.get(), d_m.get(), d_v.get(), adam_constants(h, t), nullptr),
              cudaSuccess);
    ASSERT_EQ(cudaGetLastError(), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    adam_twin(p, m, v, g, h, t);
    std::vector<float> actual;
    ASSERT_EQ(d_p.download(actual), cudaSuccess);
    EXPECT_TRUE(kernel_test::close(actual, p, kAdamTol)) << "parameters";
    ASSERT_EQ(d_m.download(actual), cudaSuccess);
    EXPECT_TRUE(kernel_test::close(actual, m, kAdamTol)) << "first moment m";
    ASSERT_EQ(d_v.download(actual), cudaSuccess);
    EXPECT_TRUE(kernel_test::close(actual, v, kAdamTol)) << "second moment v";
    if (::testing::Test::HasFailure()) return;  // later steps would only repeat it
  }
}

// Momentum 0: p -= lr g, three steps; with no buffer (nullptr, allowed) and
// with one the kernel must not touch.
TEST_F(OptimizerKernel, SgdWithoutMomentumMatchesPyTorch) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  uint64_t k = 0;
  for (size_t n : kSizes)
    for (bool pass_buf : {false, true}) {
      check_sgd(n, 0.01, 0.0, 3, pass_buf, seed + 64 * k++);
      if (HasFatalFailure()) return;
    }
}

// Momentum 0.9: the buffer is the gradient on the first step (whatever it
// held, here NaN), momentum buf + g after; five steps.
TEST_F(OptimizerKernel, SgdWithMomentumMatchesPyTorch) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  uint64_t k = 0;
  for (size_t n : kSizes) {
    check_sgd(n, 0.01, 0.9, 5, true, seed + 64 * k++);
    if (HasFatalFailure()) return;
  }
}

// Ten steps from PyTorch's starting state (m = v = 0, the one place zeros
// belong), for both sets of hyperparameters.
TEST_F(OptimizerKernel, AdamFromZeroStateMatchesPyTorch) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  uint64_t k = 0;
  for (size_t n : kSizes)
    for (const AdamHyper& h : kAdamSets) {
      const Problem problem(n, seed + 64 * k++);
      check_adam(n, h, 1, 10, std::vector<float>(n, 0.0f), std::vector<float>(n, 0.0f), problem);
      if (HasFatalFailure()) return;
    }
}

// One step from a random mid-training state (m with the gradients' signs,
// v > 0) at steps 7 and 1000: the bias corrections of a later step.
TEST_F(OptimizerKernel, AdamFromMidTrainingStateMatchesPyTorch) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  uint64_t k = 0;
  for (size_t n : kSizes)
    for (const AdamHyper& h : kAdamSets)
      for (int t : {7, 1000}) {
        const Problem problem(n, seed + 64 * k++);
        // m ~ the gradients' scale, v ~ its square, as after some steps.
        std::vector<float> m0 = problem.gradient(-1, h.grad_scale), v0 = problem.gradient(-2, h.grad_scale);
        for (float& x : v0) x *= x;
        check_adam(n, h, t, 1, m0, v0, problem);
        if (HasFatalFailure()) return;
      }
}

// More elements than one pass of the grid covers (65536 blocks of 256
// threads = 16777216): the grid-stride loops' second pass, two steps each.
TEST_F(OptimizerKernel, MatchesPyTorchBeyondOneGridPass) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  const size_t n = size_t{65536} * 256 + 1000;
  check_sgd(n, 0.01, 0.9, 2, true, seed);
  if (HasFatalFailure()) return;
  check_adam(n, kAdamSets[0], 1, 2, std::vector<float>(n, 0.0f), std::vector<float>(n, 0.0f), Problem(n, seed + 64));
}

// Not in optimizer.cuh: the launchers' own checks (optimizer.cu). n = 0 is
// a no-op (success, even with null pointers); with n > 0 a null params or
// grads, a null buffer with momentum > 0, or a null m or v is rejected.
TEST_F(OptimizerKernel, RejectsNullBuffersAndAcceptsZeroSize) {
  using rnn::kernels::launch_adam;
  using rnn::kernels::launch_sgd;
  const rnn::kernels::AdamConstants c = adam_constants(kAdamSets[0], 1);
  EXPECT_EQ(launch_sgd(0, nullptr, nullptr, nullptr, 0.1f, 0.9f, true, nullptr), cudaSuccess);
  EXPECT_EQ(launch_adam(0, nullptr, nullptr, nullptr, nullptr, c, nullptr), cudaSuccess);

  DeviceBuffer<float> p, g, b1, b2;
  ASSERT_EQ(p.upload(kernel_test::random_floats(10, 1)), cudaSuccess);
  ASSERT_EQ(g.upload(kernel_test::random_floats(10, 2)), cudaSuccess);
  ASSERT_EQ(b1.upload(std::vector<float>(10, 0.0f)), cudaSuccess);
  ASSERT_EQ(b2.upload(std::vector<float>(10, 0.0f)), cudaSuccess);
  EXPECT_EQ(launch_sgd(10, nullptr, g.get(), b1.get(), 0.1f, 0.9f, true, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_sgd(10, p.get(), nullptr, b1.get(), 0.1f, 0.9f, true, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_sgd(10, p.get(), g.get(), nullptr, 0.1f, 0.9f, true, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_sgd(10, p.get(), g.get(), nullptr, 0.1f, 0.0f, true, nullptr), cudaSuccess);
  EXPECT_EQ(launch_adam(10, nullptr, g.get(), b1.get(), b2.get(), c, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_adam(10, p.get(), nullptr, b1.get(), b2.get(), c, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_adam(10, p.get(), g.get(), nullptr, b2.get(), c, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_adam(10, p.get(), g.get(), b1.get(), nullptr, c, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(launch_adam(10, p.get(), g.get(), b1.get(), b2.get(), c, nullptr), cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

}  // namespace
