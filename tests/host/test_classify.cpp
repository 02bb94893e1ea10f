// tests/host/test_classify.cpp: many-to-one: the final-state features, the
// classification step's gradients against finite differences, and a small
// task learnt to high accuracy.
#include <cmath>
#include <random>
#include <utility>

#include "testbed.hpp"

namespace {

rnn::ModelConfig config(bool bidir) {
  rnn::ModelConfig c;
  c.input_size = 4;
  c.hidden_size = 6;
  c.num_layers = 2;
  c.bidirectional = bidir;
  c.output_size = 3;
  return c;
}

TEST(Classify, FinalFeaturesAreTheTopLayersFinalStates) {
  const rnn::Model m = rnn::Model::random(config(true), 1);
  const auto x = testbed::random_tensor({5, 2, 4}, 2);
  const std::vector<int64_t> len = {3, 5};
  rnn::ForwardOptions o;
  o.device = rnn::Device::Cpu;
  const auto r = rnn::forward(m, x, nullptr, &len, o);
  const auto f = rnn::final_features(m, r.h_n);
  ASSERT_EQ(f.shape(), (std::vector<int64_t>{2, 12}));
  // forward half = y at each sequence's last step; reverse half = y at t = 0
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t i = 0; i < 6; ++i) {
      EXPECT_EQ(f[b * 12 + i], r.y[((len[b] - 1) * 2 + b) * 12 + i]);
      EXPECT_EQ(f[b * 12 + 6 + i], r.y[(0 * 2 + b) * 12 + 6 + i]);
    }
}

double batch_loss(const rnn::Model& m, const rnn::Tensor& x, const std::vector<int64_t>& len,
                  const std::vector<int64_t>& y) {
  rnn::ForwardOptions o;
  o.device = rnn::Device::Cpu;
  return rnn::softmax_cross_entropy(rnn::classify_logits(m, x, len, o), y).loss;
}

// SGD with lr 1 and no clipping makes the update exactly -grad: compare it
// with central differences of the loss.
TEST(Classify, StepGradientsMatchFiniteDifferences) {
  for (bool bidir : {false, true}) {
    const rnn::Model m0 = rnn::Model::random(config(bidir), 3);
    const auto x = testbed::random_tensor({4, 3, 4}, 4);
    const std::vector<int64_t> len = {4, 2, 3}, y = {0, 2, 1};
    rnn::Model m = m0;
    rnn::OptimizerOptions oo;
    oo.kind = rnn::OptimizerKind::Sgd;
    oo.lr = 1.0;
    rnn::Optimizer opt(m, oo);
    rnn::ForwardOptions o;
    o.device = rnn::Device::Cpu;
    rnn::classify_step(m, opt, x, len, y, 0.0, o);
    rnn::Model probe = m0;
    auto params = probe.parameters();
    const auto before = m0.parameters();
    const auto after = std::as_const(m).parameters();
    for (size_t k = 0; k < params.size(); ++k) {
      rnn::Tensor& w = *params[k].second;
      double num = 0, den = 0;
      for (int64_t i = 0; i < w.numel(); ++i) {
        const float keep = w[i], eps = 0x1p-10f;
        w[i] = keep + eps;
        const double up = batch_loss(probe, x, len, y);
        w[i] = keep - eps;
        const double down = batch_loss(probe, x, len, y);
        w[i] = keep;
        const double fd = (up - down) / (2 * eps);
        const double analytic = static_cast<double>((*before[k].second)[i]) - (*after[k].second)[i];
        num += (fd - analytic) * (fd - analytic);
        den += fd * fd;
      }
      EXPECT_LT(std::sqrt(num) / std::max(std::sqrt(den), 1e-12), 5e-3) << params[k].first << " bidir=" << bidir;
    }
  }
}

// Label = which of three symbols the sequence holds most of: learnt to >= 90%.
// Every label is counted (the loss is a mean over the batch): a label
// outside [0, O), -1 included, or a count other than B is refused, naming
// the labels, and the model is left as it was.
TEST(Classify, StepRefusesLabelsOutsideTheHead) {
  const rnn::Model m0 = rnn::Model::random(config(false), 5);
  const auto x = testbed::random_tensor({4, 3, 4}, 6);
  const std::vector<int64_t> len = {4, 2, 3};
  for (const std::vector<int64_t>& bad : {std::vector<int64_t>{0, -1, 1}, std::vector<int64_t>{0, 3, 1},
                                          std::vector<int64_t>{0, 1}}) {
    rnn::Model m = m0;
    rnn::Optimizer opt(m, rnn::OptimizerOptions{});
    rnn::ForwardOptions o;
    o.device = rnn::Device::Cpu;
    EXPECT_TRUE(testbed::says(testbed::error_of([&] { rnn::classify_step(m, opt, x, len, bad, 0.0, o); }, "labels"),
                              "label"));
    EXPECT_EQ(std::as_const(m).parameters()[0].second->values(), m0.parameters()[0].second->values());
  }
}

TEST(Classify, LearnsAMajoritySymbolTask) {
  rnn::ModelConfig c;
  c.input_size = 3;
  c.hidden_size = 16;
  c.bidirectional = true;
  c.output_size = 3;
  rnn::Model m = rnn::Model::random(c, 5);
  rnn::OptimizerOptions oo;
  oo.lr = 0.02;
  rnn::Optimizer opt(m, oo);
  std::mt19937_64 gen(6);
  auto batch = [&](int64_t B, rnn::Tensor& x, std::vector<int64_t>& len, std::vector<int64_t>& y) {
    const int64_t T = 7;
    x = rnn::Tensor({T, B, 3});
    len.assign(static_cast<size_t>(B), 0);
    y.assign(static_cast<size_t>(B), 0);
    for (int64_t b = 0; b < B; ++b) {
      len[b] = 3 + static_cast<int64_t>(gen() % 5);
      int counts[3] = {0, 0, 0};
      for (int64_t t = 0; t < len[b]; ++t) {
        const int s = static_cast<int>(gen() % 3);
        ++counts[s];
        x[(t * B + b) * 3 + s] = 1.0f;
      }
      y[b] = std::max_element(counts, counts + 3) - counts;
    }
  };
  rnn::ForwardOptions o;
  o.device = rnn::Device::Cpu;
  for (int step = 0; step < 400; ++step) {
    rnn::Tensor x;
    std::vector<int64_t> len, y;
    batch(32, x, len, y);
    rnn::classify_step(m, opt, x, len, y, 5.0, o);
  }
  rnn::Tensor x;
  std::vector<int64_t> len, y;
  batch(500, x, len, y);
  const rnn::Tensor z = rnn::classify_logits(m, x, len, o);
  int correct = 0;
  for (int64_t b = 0; b < 500; ++b)
    correct += (std::max_element(z.data() + b * 3, z.data() + b * 3 + 3) - (z.data() + b * 3)) == y[b];
  EXPECT_GE(correct, 450) << "accuracy " << correct / 500.0;
}

}  // namespace
