// tests/host/test_train.cpp: softmax cross-entropy, the optimizers against
// hand-computed steps, clipping, the training step's gradients against
// finite differences, and determinism. The step API against forward():
// test_stepper.cpp.
#include <cmath>
#include <random>
#include <functional>

#include "testbed.hpp"

namespace {

TEST(SoftmaxCrossEntropy, ValuesAndGradientByHand) {
  // Row 0: logits (0, ln 2, ln 3) -> p = (1, 2, 3) / 6, target 2: loss -ln(1/2).
  // Row 1 ignored (-1). Row 2: logits (0, 0, 0), target 0: loss ln 3.
  const rnn::Tensor z({3, 3}, {0.0f, std::log(2.0f), std::log(3.0f), 5, 6, 7, 0, 0, 0});
  const auto r = rnn::softmax_cross_entropy(z, {2, -1, 0});
  EXPECT_EQ(r.count, 2);
  EXPECT_NEAR(r.loss, (std::log(2.0) + std::log(3.0)) / 2.0, 1e-7);
  // d/dz = (p - onehot) / count
  const std::vector<float> g = {1.0f / 12, 2.0f / 12, (3.0f / 6 - 1) / 2, 0, 0, 0, (1.0f / 3 - 1) / 2, 1.0f / 6,
                                1.0f / 6};
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(r.dlogits[i], g[i], 1e-7) << i;
}

TEST(SoftmaxCrossEntropy, StableForHugeLogits) {
  const rnn::Tensor z({1, 3}, {1e30f, -1e30f, 0.0f});
  const auto r = rnn::softmax_cross_entropy(z, {1});
  EXPECT_TRUE(std::isfinite(r.loss));
  EXPECT_NEAR(r.loss, 2e30, 1e24);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::isfinite(r.dlogits[i]));
}

TEST(SoftmaxCrossEntropy, RejectsBadTargets) {
  const rnn::Tensor z({2, 3});
  EXPECT_TRUE(testbed::says(testbed::error_of([&] { rnn::softmax_cross_entropy(z, {0}); }, "targets"),
                            "1 targets for 2 rows"));
  EXPECT_TRUE(testbed::says(testbed::error_of([&] { rnn::softmax_cross_entropy(z, {0, 3}); }, "targets"),
                            "outside [0, 3)"));
}

rnn::Model tiny_model(uint64_t seed = 3) {
  rnn::ModelConfig c;
  c.input_size = 2;
  c.hidden_size = 3;
  c.output_size = 4;
  return rnn::Model::random(c, seed);
}

// A Model whose every parameter is `value`.
rnn::Model filled(const rnn::Model& like, float value) {
  rnn::Model m(like.config());
  for (auto& [name, t] : m.parameters())
    for (int64_t i = 0; i < t->numel(); ++i) (*t)[i] = value;
  return m;
}

TEST(Optimizer, SgdWithoutMomentumIsWMinusLrG) {
  rnn::Model m = tiny_model();
  const rnn::Model before = m;
  rnn::OptimizerOptions o;
  o.kind = rnn::OptimizerKind::Sgd;
  o.lr = 0.5;
  rnn::Optimizer opt(m, o);
  opt.step(m, filled(m, 0.25f));
  const auto a = m.parameters();
  const auto b = before.parameters();
  for (size_t k = 0; k < a.size(); ++k)
    for (int64_t i = 0; i < a[k].second->numel(); ++i)
      ASSERT_EQ((*a[k].second)[i], static_cast<float>((*b[k].second)[i] - 0.125)) << a[k].first;
}

TEST(Optimizer, SgdMomentumByHand) {
  // PyTorch: v1 = g1; v2 = 0.9 v1 + g2; w2 = w0 - lr v1 - lr v2.
  rnn::Model m = filled(tiny_model(), 1.0f);
  rnn::OptimizerOptions o;
  o.kind = rnn::OptimizerKind::Sgd;
  o.lr = 0.25;
  o.momentum = 0.9;
  rnn::Optimizer opt(m, o);
  opt.step(m, filled(m, 1.0f));  // w = 1 - 0.25 * 1 = 0.75
  opt.step(m, filled(m, 2.0f));  // v = 0.9 + 2 = 2.9; w = 0.75 - 0.725 = 0.025
  for (const auto& [name, t] : m.parameters())
    for (int64_t i = 0; i < t->numel(); ++i) ASSERT_NEAR((*t)[i], 0.025f, 1e-7) << name;
}

TEST(Optimizer, AdamByHand) {
  // Step 1: m = 0.1 g, v = 0.001 g^2, m^ = g, v^ = g^2: w -= lr * g / (|g| + eps).
  // Step 2 with g2: m = 0.09 g1 + 0.1 g2, v = 0.000999 g1^2 + 0.001 g2^2,
  //   m^ = m / 0.19, v^ = v / 0.001999.
  rnn::Model m = filled(tiny_model(), 0.5f);
  rnn::OptimizerOptions o;
  o.lr = 0.01;
  rnn::Optimizer opt(m, o);
  opt.step(m, filled(m, 2.0f));
  const double w1 = 0.5 - 0.01 * 2.0 / (2.0 + 1e-8);
  opt.step(m, filled(m, -1.0f));
  const double mh = (0.09 * 2.0 + 0.1 * -1.0) / 0.19, vh = (0.000999 * 4.0 + 0.001 * 1.0) / (1.0 - 0.999 * 0.999);
  const double w2 = w1 - 0.01 * mh / (std::sqrt(vh) + 1e-8);
  for (const auto& [name, t] : m.parameters())
    for (int64_t i = 0; i < t->numel(); ++i) ASSERT_NEAR((*t)[i], w2, 1e-7) << name;
  EXPECT_EQ(opt.steps(), 2);
}

TEST(Optimizer, RejectsBadSettingsAndMismatchedGradients) {
  rnn::OptimizerOptions o;
  o.lr = 0;
  EXPECT_THROW(rnn::Optimizer(tiny_model(), o), rnn::Error);
  rnn::Model m = tiny_model();
  rnn::Optimizer opt(m, rnn::OptimizerOptions{});
  rnn::ModelConfig other = m.config();
  other.hidden_size = 5;
  EXPECT_THROW(opt.step(m, rnn::Model(other)), rnn::Error);
}

TEST(ClipGradNorm, ScalesToMaxNormLikePyTorch) {
  rnn::Model g = filled(tiny_model(), 1.0f);
  const double n = std::sqrt(static_cast<double>(g.parameter_count()));
  EXPECT_NEAR(rnn::clip_grad_norm(g, 0.0), n, 1e-9);  // measure only
  EXPECT_NEAR(rnn::clip_grad_norm(g, 2.0), n, 1e-9);
  for (const auto& [name, t] : g.parameters())
    for (int64_t i = 0; i < t->numel(); ++i) ASSERT_NEAR((*t)[i], 2.0 / (n + 1e-6), 1e-7);
  EXPECT_NEAR(rnn::clip_grad_norm(g, 100.0), 2.0, 1e-5);  // below max: untouched
}

// Several models share one global norm (an encoder and its decoder).
TEST(ClipGradNorm, SeveralModelsShareOneNorm) {
  rnn::Model a = filled(tiny_model(), 1.0f), b = filled(tiny_model(), 2.0f);
  const double na = static_cast<double>(a.parameter_count()), nb = static_cast<double>(b.parameter_count());
  const double n = std::sqrt(na + 4.0 * nb);
  EXPECT_NEAR(rnn::clip_grad_norm({&a, &b}, 1.0), n, 1e-9);
  for (const auto& [name, t] : a.parameters()) ASSERT_NEAR((*t)[0], 1.0 / (n + 1e-6), 1e-7) << name;
  for (const auto& [name, t] : b.parameters()) ASSERT_NEAR((*t)[0], 2.0 / (n + 1e-6), 1e-7) << name;
  EXPECT_NEAR(rnn::clip_grad_norm({&a, &b}, 0.0), 1.0, 1e-5);
}

double chunk_loss(const rnn::Model& m, const rnn::Tensor& x, const rnn::Tensor* h0, const std::vector<int64_t>& y) {
  rnn::ForwardOptions o;
  o.device = rnn::Device::Cpu;
  const auto r = rnn::forward(m, x, h0, nullptr, o);
  return rnn::softmax_cross_entropy(rnn::apply_head(m, r.y), y).loss;
}

TEST(LossAndGrads, MatchFiniteDifferencesIncludingTheHead) {
  rnn::ModelConfig c;
  c.input_size = 3;
  c.hidden_size = 4;
  c.num_layers = 2;
  c.output_size = 5;
  rnn::Model m = rnn::Model::random(c, 9);
  const auto x = testbed::random_tensor({4, 2, 3}, 10);
  const auto h0 = testbed::random_tensor({2, 2, 4}, 11, 0.5f);
  const std::vector<int64_t> y = {0, 4, 2, -1, 3, 1, 1, 2};
  const auto lg = rnn::loss_and_grads(m, x, &h0, y);
  EXPECT_NEAR(lg.loss, chunk_loss(m, x, &h0, y), 1e-6);
  EXPECT_EQ(lg.count, 7);
  auto params = m.parameters();
  const auto grads = lg.grads.parameters();
  ASSERT_EQ(params.size(), grads.size());
  for (size_t k = 0; k < params.size(); ++k) {
    rnn::Tensor& w = *params[k].second;
    double num = 0, den = 0;
    for (int64_t i = 0; i < w.numel(); ++i) {
      const float keep = w[i], eps = 0x1p-10f;
      w[i] = keep + eps;
      const double up = chunk_loss(m, x, &h0, y);
      w[i] = keep - eps;
      const double down = chunk_loss(m, x, &h0, y);
      w[i] = keep;
      const double fd = (up - down) / (2 * eps);
      num += (fd - (*grads[k].second)[i]) * (fd - (*grads[k].second)[i]);
      den += fd * fd;
    }
    EXPECT_LT(std::sqrt(num) / std::max(std::sqrt(den), 1e-30), 2e-3) << params[k].first;
  }
}

// Per-step targets with per-sequence lengths on a bidirectional model (the
// tagging setting): gradients against finite differences.
TEST(LossAndGrads, WithLengthsAndBothDirectionsMatchFiniteDifferences) {
  rnn::ModelConfig c;
  c.input_size = 3;
  c.hidden_size = 4;
  c.bidirectional = true;
  c.output_size = 3;
  rnn::Model m = rnn::Model::random(c, 12);
  const auto x = testbed::random_tensor({5, 2, 3}, 13);
  const std::vector<int64_t> len = {5, 3};
  // [T, B] time-major; -1 past each length
  const std::vector<int64_t> y = {0, 2, 1, 1, 2, 0, 0, -1, 1, -1};
  auto loss = [&] {
    rnn::ForwardOptions o;
    o.device = rnn::Device::Cpu;
    const auto r = rnn::forward(m, x, nullptr, &len, o);
    return rnn::softmax_cross_entropy(rnn::apply_head(m, r.y), y).loss;
  };
  const auto lg = rnn::loss_and_grads(m, x, nullptr, y, &len);
  EXPECT_NEAR(lg.loss, loss(), 1e-6);
  auto params = m.parameters();
  const auto grads = lg.grads.parameters();
  for (size_t k = 0; k < params.size(); ++k) {
    rnn::Tensor& w = *params[k].second;
    double num = 0, den = 0;
    for (int64_t i = 0; i < w.numel(); ++i) {
      const float keep = w[i], eps = 0x1p-10f;
      w[i] = keep + eps;
      const double up = loss();
      w[i] = keep - eps;
      const double down = loss();
      w[i] = keep;
      const double fd = (up - down) / (2 * eps);
      num += (fd - (*grads[k].second)[i]) * (fd - (*grads[k].second)[i]);
      den += fd * fd;
    }
    EXPECT_LT(std::sqrt(num) / std::max(std::sqrt(den), 1e-30), 2e-3) << params[k].first;
  }
  // A target past a sequence's length is refused.
  std::vector<int64_t> bad = y;
  bad[7] = 0;
  EXPECT_TRUE(testbed::says(testbed::error_of([&] { rnn::loss_and_grads(m, x, nullptr, bad, &len); }, "targets"),
                            "past the sequence's length"));
}

TEST(TrainStep, SameSeedSameModelBitForBit) {
  auto run = [] {
    rnn::Model m = tiny_model(5);
    rnn::Optimizer opt(m, rnn::OptimizerOptions{});
    const auto x = testbed::random_tensor({6, 2, 2}, 12);
    const std::vector<int64_t> y = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};
    rnn::Tensor h;
    for (int i = 0; i < 5; ++i) h = rnn::train_step(m, opt, x, h.empty() ? nullptr : &h, y, 1.0).h_n;
    return m;
  };
  const rnn::Model a = run(), b = run();
  const auto pa = a.parameters(), pb = b.parameters();
  for (size_t k = 0; k < pa.size(); ++k) EXPECT_EQ(pa[k].second->values(), pb[k].second->values()) << pa[k].first;
}

TEST(TrainStep, LossFallsOnAFixedBatch) {
  rnn::Model m = tiny_model(6);
  rnn::Optimizer opt(m, rnn::OptimizerOptions{});
  const auto x = testbed::random_tensor({5, 1, 2}, 13);
  const std::vector<int64_t> y = {3, 1, 0, 2, 3};
  const double first = rnn::train_step(m, opt, x, nullptr, y, 5.0).loss;
  double last = first;
  for (int i = 0; i < 200; ++i) last = rnn::train_step(m, opt, x, nullptr, y, 5.0).loss;
  EXPECT_LT(last, first * 0.5);
}

// The overload taking ForwardOptions (the one every training command
// calls) is, on the CPU, loss_and_grads, clip_grad_norm and one optimizer
// step, bit for bit; batch-first input is refused (targets are time-major).
TEST(TrainStep, WithCpuOptionsIsLossGradsClipAndOneUpdate) {
  rnn::ModelConfig c;
  c.input_size = 3;
  c.hidden_size = 6;
  c.bidirectional = true;
  c.output_size = 4;
  rnn::Model a = rnn::Model::random(c, 2), b = rnn::Model::random(c, 2);
  rnn::Optimizer oa(a, {}), ob(b, {});
  const rnn::Tensor x = testbed::random_tensor({5, 2, 3}, 3);
  const std::vector<int64_t> len = {5, 3}, targets = {0, 1, 2, 3, 1, 0, 3, -1, 2, -1};
  rnn::ForwardOptions o;
  o.device = rnn::Device::Cpu;
  const auto ra = rnn::train_step(a, oa, x, nullptr, &len, targets, 0.05, o);
  rnn::LossAndGrads lg = rnn::loss_and_grads(b, x, nullptr, targets, &len);
  const double norm = rnn::clip_grad_norm(lg.grads, 0.05);
  ob.step(b, lg.grads);
  EXPECT_EQ(ra.loss, lg.loss);
  EXPECT_EQ(ra.count, 8);
  EXPECT_EQ(ra.grad_norm, norm);
  EXPECT_GT(norm, 0.05) << "clipping should have acted here";
  EXPECT_EQ(ra.h_n.values(), lg.h_n.values());
  const auto pa = std::as_const(a).parameters(), pb = std::as_const(b).parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_EQ(pa[i].second->values(), pb[i].second->values()) << pa[i].first;
  o.batch_first = true;
  EXPECT_TRUE(testbed::says(
      testbed::error_of([&] { rnn::train_step(b, ob, x, nullptr, &len, targets, 1.0, o); }, "options"),
      "batch_first must be false"));
}

TEST(TrainStep, NeedsAHead) {
  rnn::ModelConfig c;
  c.input_size = 2;
  c.hidden_size = 3;
  rnn::Model m = rnn::Model::random(c, 1);
  rnn::Optimizer opt(m, rnn::OptimizerOptions{});
  EXPECT_TRUE(testbed::says(
      testbed::error_of([&] { rnn::train_step(m, opt, rnn::Tensor({2, 1, 2}), nullptr, {0, 0}, 1.0); }, "model"),
      "no output head"));
}

}  // namespace
