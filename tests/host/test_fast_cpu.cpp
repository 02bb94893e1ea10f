// tests/host/test_fast_cpu.cpp: the fast CPU backend (Device::Cpu, float32 +
// BLAS, host/cpu/fast.cpp) against its twin, the double reference
// (Device::Reference), on fresh random inputs: every batch size around the
// small-batch kernel's limits (1..9 rows, 17), hidden sizes that are and
// are not multiples of 8, layers, directions, lengths, h0, both
// nonlinearities, no bias, batch-first; forward, backward and the
// training step's loss and gradients.
#include <cmath>
#include <random>

#include "cpu/fast.hpp"
#include "case_table.hpp"
#include "testbed.hpp"

namespace {

double rel_err(const rnn::Tensor& a, const rnn::Tensor& b) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    num += d * d;
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

// Gradients a against the reference's b, norm-wise: every tensor's error
// measured against the norm of the whole gradient (a tensor holding a sum
// that cancels, a bias at H = 1, say, is as accurate as float allows
// relative to the terms summed, not to its own small value), and the whole
// gradient's relative error.
void expect_grads_close(const rnn::Model& a, const rnn::Model& b, double tol) {
  const auto pa = a.parameters();
  const auto pb = b.parameters();
  ASSERT_EQ(pa.size(), pb.size());
  double total = 0, err = 0;
  for (const auto& [name, t] : pb)
    for (int64_t i = 0; i < t->numel(); ++i) total += static_cast<double>((*t)[i]) * (*t)[i];
  for (size_t k = 0; k < pa.size(); ++k) {
    ASSERT_EQ(pa[k].first, pb[k].first);
    ASSERT_EQ(pa[k].second->shape(), pb[k].second->shape());
    double e = 0;
    for (int64_t i = 0; i < pa[k].second->numel(); ++i) {
      const double d = static_cast<double>((*pa[k].second)[i]) - (*pb[k].second)[i];
      e += d * d;
    }
    err += e;
    EXPECT_LT(std::sqrt(e / std::max(total, 1e-300)), tol) << pa[k].first;
  }
  EXPECT_LT(std::sqrt(err / std::max(total, 1e-300)), tol) << "all gradients";
}

// The input gradients dx and dh0 against the reference's, each measured
// against the norm of both together: at H = 1 dh0 is one number, W_hh dz
// at the first step, and when the sum that made dz cancels it is as
// accurate as float allows relative to dx's steps, not to its own value.
void expect_input_grads_close(const rnn::Tensor& dx, const rnn::Tensor& dh0, const rnn::Tensor& ref_dx,
                              const rnn::Tensor& ref_dh0, double tol) {
  ASSERT_EQ(dx.shape(), ref_dx.shape());
  ASSERT_EQ(dh0.shape(), ref_dh0.shape());
  double total = 0;
  for (const rnn::Tensor* t : {&ref_dx, &ref_dh0})
    for (int64_t i = 0; i < t->numel(); ++i) total += static_cast<double>((*t)[i]) * (*t)[i];
  const auto err = [&](const rnn::Tensor& a, const rnn::Tensor& b) {
    double e = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
      const double d = static_cast<double>(a[i]) - b[i];
      e += d * d;
    }
    return std::sqrt(e / std::max(total, 1e-300));
  };
  EXPECT_LT(err(dx, ref_dx), tol) << "dx";
  EXPECT_LT(err(dh0, ref_dh0), tol) << "dh0";
}

struct Case {
  int64_t B, H, I, L;
  bool bidir, relu, bias, lengths, h0, batch_first;
};

class FastCpu : public ::testing::TestWithParam<Case> {};

TEST_P(FastCpu, MatchesTheReference) {
  const Case c = GetParam();
  const int64_t T = 11;
  rnn::ModelConfig cfg;
  cfg.input_size = c.I;
  cfg.hidden_size = c.H;
  cfg.num_layers = c.L;
  cfg.bidirectional = c.bidir;
  cfg.bias = c.bias;
  cfg.nonlinearity = c.relu ? rnn::Nonlinearity::Relu : rnn::Nonlinearity::Tanh;
  const uint64_t first_seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(first_seed) + " (RNN_TEST_SEED replays it)");
  rnn::Model m;
  rnn::Tensor x, h0;
  std::vector<int64_t> lengths(static_cast<size_t>(c.B));
  const auto* len = c.lengths ? &lengths : nullptr;
  const auto* h = c.h0 ? &h0 : nullptr;
  for (uint64_t seed = first_seed;; seed = testbed::next_seed(seed)) {
    m = rnn::Model::random(cfg, seed);
    x = c.batch_first ? testbed::random_tensor({c.B, T, c.I}, seed + 1)
                      : testbed::random_tensor({T, c.B, c.I}, seed + 1);
    h0 = testbed::random_tensor({c.L * cfg.num_directions(), c.B, c.H}, seed + 2);
    std::mt19937_64 gen(seed + 3);
    for (auto& l : lengths) l = 1 + static_cast<int64_t>(gen() % T);
    lengths[gen() % lengths.size()] = T;
    if (!testbed::relu_sides_differ(m, x, h, len, c.batch_first)) break;
  }
  const uint64_t seed = first_seed;  // dy and dh_n below
  rnn::ForwardOptions fast, ref;
  fast.device = rnn::Device::Cpu;
  ref.device = rnn::Device::Reference;
  fast.batch_first = ref.batch_first = c.batch_first;
  const rnn::ForwardResult a = rnn::forward(m, x, h, len, fast), b = rnn::forward(m, x, h, len, ref);
  EXPECT_EQ(a.device, rnn::Device::Cpu);
  EXPECT_EQ(b.device, rnn::Device::Reference);
  ASSERT_EQ(a.y.shape(), b.y.shape());
  ASSERT_EQ(a.h_n.shape(), b.h_n.shape());
  EXPECT_LT(rel_err(a.y, b.y), 1e-5);
  EXPECT_LT(rel_err(a.h_n, b.h_n), 1e-5);
  // Padded positions are exactly 0, as PyTorch returns them.
  for (int64_t i = 0; i < a.y.numel(); ++i)
    if (b.y[i] == 0.0f) EXPECT_EQ(a.y[i], 0.0f) << i;
  // Deterministic: the same call, the same bits.
  const rnn::ForwardResult again = rnn::forward(m, x, h, len, fast);
  EXPECT_EQ(again.y.values(), a.y.values());

  // Backward, from a random dy and dh_n: dx, dh0 and every gradient.
  const int64_t W = cfg.num_directions() * c.H;
  const rnn::Tensor dy = c.batch_first ? testbed::random_tensor({c.B, T, W}, seed + 4)
                                       : testbed::random_tensor({T, c.B, W}, seed + 4);
  const rnn::Tensor dh_n = testbed::random_tensor(b.h_n.shape(), seed + 5);
  const rnn::BackwardResult ga = rnn::backward(m, x, h, len, dy, &dh_n, fast);
  const rnn::BackwardResult gb = rnn::backward(m, x, h, len, dy, &dh_n, ref);
  EXPECT_EQ(ga.device, rnn::Device::Cpu);
  ASSERT_EQ(ga.dx.shape(), gb.dx.shape());
  ASSERT_EQ(ga.dh0.shape(), gb.dh0.shape());
  expect_input_grads_close(ga.dx, ga.dh0, gb.dx, gb.dh0, 1e-5);
  expect_grads_close(ga.grads, gb.grads, 1e-5);
  const rnn::BackwardResult gagain = rnn::backward(m, x, h, len, dy, &dh_n, fast);
  EXPECT_EQ(gagain.dx.values(), ga.dx.values());
  EXPECT_EQ(gagain.grads.cell(0, 0).w_hh.values(), ga.grads.cell(0, 0).w_hh.values());
}

// The training step's pass (forward, head, softmax cross-entropy, backward)
// on the fast backend against the reference's: loss, every gradient (the
// head's included), dx and dh0, with lengths and ignored targets.
TEST_P(FastCpu, LossAndGradsMatchTheReference) {
  const Case c = GetParam();
  if (c.batch_first) GTEST_SKIP() << "loss_and_grads takes time-major x";
  const int64_t T = 9, O = 6;
  rnn::ModelConfig cfg;
  cfg.input_size = c.I;
  cfg.hidden_size = c.H;
  cfg.num_layers = c.L;
  cfg.bidirectional = c.bidir;
  cfg.bias = c.bias;
  cfg.output_size = O;
  cfg.output_bias = c.bias;
  cfg.nonlinearity = c.relu ? rnn::Nonlinearity::Relu : rnn::Nonlinearity::Tanh;
  const uint64_t first_seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(first_seed) + " (RNN_TEST_SEED replays it)");
  rnn::Model m;
  rnn::Tensor x, h0;
  std::vector<int64_t> lengths(static_cast<size_t>(c.B));
  std::mt19937_64 gen;
  for (uint64_t seed = first_seed;; seed = testbed::next_seed(seed)) {
    m = rnn::Model::random(cfg, seed);
    x = testbed::random_tensor({T, c.B, c.I}, seed + 1);
    h0 = testbed::random_tensor({c.L * cfg.num_directions(), c.B, c.H}, seed + 2);
    gen.seed(seed + 3);
    for (auto& l : lengths) l = 1 + static_cast<int64_t>(gen() % T);
    if (!testbed::relu_sides_differ(m, x, c.h0 ? &h0 : nullptr, c.lengths ? &lengths : nullptr, false)) break;
  }
  std::vector<int64_t> targets(static_cast<size_t>(T * c.B));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < c.B; ++b) {
      const bool padded = c.lengths && t >= lengths[static_cast<size_t>(b)];
      targets[static_cast<size_t>(t * c.B + b)] = padded || gen() % 7 == 0 ? -1 : static_cast<int64_t>(gen() % O);
    }
  targets[0] = 1;  // at least one counted
  rnn::ForwardOptions fast, ref;
  fast.device = rnn::Device::Cpu;
  ref.device = rnn::Device::Reference;
  const auto* len = c.lengths ? &lengths : nullptr;
  const auto* h = c.h0 ? &h0 : nullptr;
  const rnn::LossAndGrads a = rnn::loss_and_grads(m, x, h, targets, len, fast);
  const rnn::LossAndGrads b = rnn::loss_and_grads(m, x, h, targets, len, ref);
  EXPECT_EQ(a.count, b.count);
  EXPECT_NEAR(a.loss, b.loss, 1e-5 * std::fabs(b.loss));
  EXPECT_LT(rel_err(a.h_n, b.h_n), 1e-5) << "h_n";
  expect_input_grads_close(a.dx, a.dh0, b.dx, b.dh0, 1e-5);
  expect_grads_close(a.grads, b.grads, 1e-5);
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (int64_t B : {1, 2, 3, 4, 5, 7, 8, 9, 17})
    for (int64_t H : {1, 8, 13, 40}) out.push_back({B, H, 5, 1, false, false, true, false, false, false});
  out.push_back({4, 24, 7, 2, true, false, true, true, true, false});
  out.push_back({9, 16, 3, 3, true, true, false, true, true, true});
  out.push_back({1, 33, 4, 2, true, false, true, true, false, false});
  out.push_back({6, 70, 70, 1, false, false, true, true, true, true});
  out.push_back({64, 32, 16, 1, false, true, true, true, false, false});
  out.push_back({3, 9, 2, 2, false, false, true, false, true, false});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Shapes, FastCpu, ::testing::ValuesIn(cases()), [](const auto& info) {
  const Case& c = info.param;
  return "B" + std::to_string(c.B) + "_H" + std::to_string(c.H) + "_I" + std::to_string(c.I) + "_L" +
         std::to_string(c.L) + (c.bidir ? "_bidir" : "") + (c.relu ? "_relu" : "") + (c.bias ? "" : "_nobias") +
         (c.lengths ? "_lengths" : "") + (c.h0 ? "_h0" : "") + (c.batch_first ? "_bf" : "");
});

// The shared case table (tests/case_table.hpp), as the GPU tests run it:
// the fast backend's forward and backward passes against the double
// reference, NaN in the padding never read.
class FastCpuTable : public ::testing::TestWithParam<case_table::Case> {};

TEST_P(FastCpuTable, MatchesTheReference) {
  const case_table::Case& c = GetParam();
  const int64_t D = c.bidir ? 2 : 1;
  const auto shape = [&](int64_t w) {
    return c.batch_first ? std::vector<int64_t>{c.B, c.T, w} : std::vector<int64_t>{c.T, c.B, w};
  };
  const std::vector<int64_t> lengths = case_table::lengths_for(c.T, c.B, 13 + c.H);
  const auto* len = c.lengths ? &lengths : nullptr;
  rnn::Model m;
  rnn::Tensor x, h0;
  for (uint64_t seed = 1000 + c.H + c.T;; seed = testbed::next_seed(seed)) {
    m = case_table::model_for(c, seed);
    x = testbed::random_tensor(shape(c.I), seed + 1, c.x_scale);
    h0 = testbed::random_tensor({c.L * D, c.B, c.H}, seed + 2, 0.5f);
    if (!testbed::relu_sides_differ(m, x, c.h0 ? &h0 : nullptr, len, c.batch_first)) break;
  }
  const rnn::Tensor* h = c.h0 ? &h0 : nullptr;
  rnn::Tensor x_fast = x;
  if (c.nan_padding)
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t t = lengths[static_cast<size_t>(b)]; t < c.T; ++t)
        for (int64_t k = 0; k < c.I; ++k) x_fast[(c.batch_first ? b * c.T + t : t * c.B + b) * c.I + k] = std::nanf("");
  rnn::ForwardOptions fast, ref;
  fast.device = rnn::Device::Cpu;
  ref.device = rnn::Device::Reference;
  fast.batch_first = ref.batch_first = c.batch_first;
  const rnn::ForwardResult a = rnn::forward(m, x_fast, h, len, fast), b = rnn::forward(m, x, h, len, ref);
  EXPECT_LT(rel_err(a.y, b.y), 1e-5);
  EXPECT_LT(rel_err(a.h_n, b.h_n), 1e-5);
  const rnn::Tensor dy = testbed::random_tensor(shape(D * c.H), 33);
  const rnn::Tensor dh_n = testbed::random_tensor(b.h_n.shape(), 34);
  const rnn::BackwardResult ga = rnn::backward(m, x_fast, h, len, dy, &dh_n, fast);
  const rnn::BackwardResult gb = rnn::backward(m, x, h, len, dy, &dh_n, ref);
  rnn::Tensor dx = ga.dx;
  if (c.nan_padding)  // dx at padded positions is 0 on both, whatever x held there
    for (int64_t i = 0; i < dx.numel(); ++i) EXPECT_FALSE(std::isnan(dx[i])) << i;
  expect_input_grads_close(dx, ga.dh0, gb.dx, gb.dh0, 1e-5);
  expect_grads_close(ga.grads, gb.grads, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Table, FastCpuTable, ::testing::ValuesIn(case_table::cases()),
                         [](const auto& info) { return info.param.name; });

// One-hot inputs (the char-LM's) take the fast backend's gather path for
// the input projection and dW_ih: the same results as the reference, with
// all-zero rows, lengths, two layers and both directions; an input with a
// single value other than 0 or 1 takes the GEMM path and agrees too.
TEST(FastCpuOneHot, MatchesTheReference) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  for (const bool plain : {false, true}) {
    rnn::ModelConfig cfg;
    cfg.input_size = 11;
    cfg.hidden_size = 24;
    cfg.num_layers = 2;
    cfg.bidirectional = true;
    cfg.output_size = 11;
    const rnn::Model m = rnn::Model::random(cfg, seed);
    const int64_t T = 7, B = 5;
    std::mt19937_64 gen(seed + 1);
    rnn::Tensor x({T, B, 11});
    for (int64_t n = 0; n < T * B; ++n)
      if (n % 6 != 3) x[n * 11 + static_cast<int64_t>(gen() % 11)] = 1.0f;  // every sixth row all zeros
    if (plain) x[2] = 0.5f;
    std::vector<int64_t> lengths = {7, 3, 7, 1, 5}, targets(static_cast<size_t>(T * B));
    for (int64_t t = 0; t < T; ++t)
      for (int64_t b = 0; b < B; ++b)
        targets[static_cast<size_t>(t * B + b)] = t < lengths[static_cast<size_t>(b)] ? static_cast<int64_t>(gen() % 11) : -1;
    rnn::ForwardOptions fast, ref;
    fast.device = rnn::Device::Cpu;
    ref.device = rnn::Device::Reference;
    const rnn::LossAndGrads a = rnn::loss_and_grads(m, x, nullptr, targets, &lengths, fast);
    const rnn::LossAndGrads b = rnn::loss_and_grads(m, x, nullptr, targets, &lengths, ref);
    EXPECT_NEAR(a.loss, b.loss, 1e-5 * b.loss);
    EXPECT_LT(rel_err(a.dx, b.dx), 1e-5);
    expect_grads_close(a.grads, b.grads, 1e-5);
    const rnn::ForwardResult fa = rnn::forward(m, x, nullptr, &lengths, fast), fb = rnn::forward(m, x, nullptr, &lengths, ref);
    EXPECT_LT(rel_err(fa.y, fb.y), 1e-5);
  }
}

// The fast tanh against std::tanh: within a few float ulps everywhere
// (relative 2e-7 near 0, absolute 3e-7 elsewhere); NaN stays NaN.
TEST(FastCpuTanh, CloseToStdTanhEverywhere) {
  std::vector<float> v;
  for (double x = -12.0; x <= 12.0; x += 1e-3) v.push_back(static_cast<float>(x));
  for (float x : {0.0f, -0.0f, 1e-30f, -1e-20f, 3e-4f, 1e30f, -1e30f}) v.push_back(x);
  std::vector<float> got = v;
  rnn::cpu::fast::tanh_inplace(got.data(), static_cast<int64_t>(got.size()));
  double worst_rel = 0, worst_abs = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const double want = std::tanh(static_cast<double>(v[i]));
    const double err = std::fabs(got[i] - want);
    worst_abs = std::max(worst_abs, err);
    if (std::fabs(want) > 0) worst_rel = std::max(worst_rel, err / std::fabs(want));
  }
  EXPECT_LT(worst_rel, 2e-6) << "relative";
  EXPECT_LT(worst_abs, 3e-7) << "absolute";
  float nan = std::nanf("");
  rnn::cpu::fast::tanh_inplace(&nan, 1);
  EXPECT_TRUE(std::isnan(nan));
}

}  // namespace
