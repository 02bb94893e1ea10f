// tests/host/test_reference.cpp: the CPU reference (the oracle) against
// values computed by hand, and against properties any correct RNN has
// (padding is inert, sequences are independent, reverse = forward on the
// reversed sequence, layers compose, zero h0 = no h0).
#include <cmath>

#include "testbed.hpp"

namespace {

rnn::ForwardResult run_cpu(const rnn::Model& m, const rnn::Tensor& x, const rnn::Tensor* h0 = nullptr,
                           const std::vector<int64_t>* lengths = nullptr) {
  rnn::ForwardOptions opt;
  opt.device = rnn::Device::Reference;
  return rnn::forward(m, x, h0, lengths, opt);
}

// I = H = 1: h_t = tanh(0.5 x_t + 0.1 + (-0.25) h_{t-1} + 0.05), x = 1, 2, -1.
TEST(ReferenceHand, ScalarTanhByHand) {
  rnn::ModelConfig cfg;
  cfg.input_size = 1;
  cfg.hidden_size = 1;
  rnn::Model m(cfg);
  m.cell(0, 0).w_ih[0] = 0.5f;
  m.cell(0, 0).w_hh[0] = -0.25f;
  m.cell(0, 0).b_ih[0] = 0.1f;
  m.cell(0, 0).b_hh[0] = 0.05f;
  rnn::Tensor x({3, 1, 1}, {1.0f, 2.0f, -1.0f});
  // h1 = tanh(0.65); h2 = tanh(1.15 - 0.25 h1); h3 = tanh(-0.35 - 0.25 h2), worked in double:
  const double h1 = 0.5716699660851173, h2 = 0.7645526203754297, h3 = -0.49384902430720273;
  auto r = run_cpu(m, x);
  // The weights are floats (0.1f != 0.1), so compare to float precision.
  EXPECT_NEAR(r.y[0], h1, 2e-7);
  EXPECT_NEAR(r.y[1], h2, 2e-7);
  EXPECT_NEAR(r.y[2], h3, 2e-7);
  EXPECT_EQ(r.h_n[0], r.y[2]);
}

// Bidirectional relu, no bias, exact dyadic arithmetic:
//   W_ih = [[1, .5], [-1, 2]], W_hh = [[.5, 0], [.25, -1]] in both directions.
//   Sequence 0 (length 2): x1 = [1, 2], x2 = [-1, .5]
//     forward: h1 = relu([2, 3]) = [2, 3]; h2 = relu([-.75, 2] + [1, -2.5]) = [.25, 0]
//     reverse: r2 = relu([-.75, 2]) = [0, 2]; r1 = relu([2, 3] + [0, -2]) = [2, 1]
//   Sequence 1 (length 1): x1 = [1, 2], x2 = padding (100, 100: must be ignored)
//     forward h1 = [2, 3]; reverse starts at t = 0: r1 = [2, 3]; y at t = 1 is 0.
TEST(ReferenceHand, BidirectionalReluWithLengthsByHand) {
  rnn::ModelConfig cfg;
  cfg.input_size = 2;
  cfg.hidden_size = 2;
  cfg.bidirectional = true;
  cfg.bias = false;
  cfg.nonlinearity = rnn::Nonlinearity::Relu;
  rnn::Model m(cfg);
  for (int d = 0; d < 2; ++d) {
    m.cell(0, d).w_ih = rnn::Tensor({2, 2}, {1.0f, 0.5f, -1.0f, 2.0f});
    m.cell(0, d).w_hh = rnn::Tensor({2, 2}, {0.5f, 0.0f, 0.25f, -1.0f});
  }
  // x [T=2, B=2, I=2]
  rnn::Tensor x({2, 2, 2}, {1, 2, 1, 2, /* t=1 */ -1, 0.5f, 100, 100});
  const std::vector<int64_t> lengths = {2, 1};
  auto r = run_cpu(m, x, nullptr, &lengths);
  // y [T, B, 4]: forward half then reverse half
  const std::vector<float> y = {2, 3, 2, 1, /* b1 */ 2, 3, 2, 3,
                                /* t=1 */ 0.25f, 0, 0, 2, /* b1 padding */ 0, 0, 0, 0};
  EXPECT_EQ(r.y.values(), y);
  // h_n [2, B, 2]: forward states at each sequence's last step, reverse at t = 0
  const std::vector<float> hn = {0.25f, 0, 2, 3, /* reverse */ 2, 1, 2, 3};
  EXPECT_EQ(r.h_n.values(), hn);
}

TEST(ReferenceHand, ReluPropagatesNaNLikePyTorch) {
  rnn::ModelConfig cfg;
  cfg.input_size = 1;
  cfg.hidden_size = 1;
  cfg.bias = false;
  cfg.nonlinearity = rnn::Nonlinearity::Relu;
  rnn::Model m(cfg);
  m.cell(0, 0).w_ih[0] = 1.0f;
  rnn::Tensor x({2, 1, 1}, {std::nanf(""), -1.0f});
  auto r = run_cpu(m, x);
  EXPECT_TRUE(std::isnan(r.y[0]));
  EXPECT_TRUE(std::isnan(r.y[1]));  // 0 * NaN from W_hh h carries the NaN on
}

rnn::ModelConfig config(int64_t I, int64_t H, int64_t L, bool bidir, rnn::Nonlinearity nl = rnn::Nonlinearity::Tanh) {
  rnn::ModelConfig c;
  c.input_size = I;
  c.hidden_size = H;
  c.num_layers = L;
  c.bidirectional = bidir;
  c.nonlinearity = nl;
  return c;
}

TEST(ReferenceProperties, FullLengthsEqualNoLengths) {
  const auto m = rnn::Model::random(config(3, 5, 2, true), 1);
  const auto x = testbed::random_tensor({6, 3, 3}, 2);
  const std::vector<int64_t> lengths = {6, 6, 6};
  EXPECT_EQ(run_cpu(m, x, nullptr, &lengths).y.values(), run_cpu(m, x).y.values());
  EXPECT_EQ(run_cpu(m, x, nullptr, &lengths).h_n.values(), run_cpu(m, x).h_n.values());
}

TEST(ReferenceProperties, PaddingIsInertAndZeroInOutput) {
  const auto m = rnn::Model::random(config(4, 6, 2, true, rnn::Nonlinearity::Relu), 3);
  auto x = testbed::random_tensor({7, 3, 4}, 4);
  const std::vector<int64_t> lengths = {2, 7, 5};
  const auto a = run_cpu(m, x, nullptr, &lengths);
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t t = lengths[b]; t < 7; ++t)
      for (int64_t i = 0; i < 4; ++i) x[(t * 3 + b) * 4 + i] = 1e6f;  // garbage in the padding
  const auto b2 = run_cpu(m, x, nullptr, &lengths);
  EXPECT_EQ(a.y.values(), b2.y.values());
  EXPECT_EQ(a.h_n.values(), b2.h_n.values());
  const int64_t W = 12;
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t t = lengths[b]; t < 7; ++t)
      for (int64_t i = 0; i < W; ++i) ASSERT_EQ(a.y[(t * 3 + b) * W + i], 0.0f) << "t=" << t << " b=" << b;
  EXPECT_FALSE(testbed::all_zero(a.y));
}

// Each sequence of a batch run alone (B = 1, T = its length) gives its slice.
TEST(ReferenceProperties, SequencesAreIndependent) {
  const auto m = rnn::Model::random(config(3, 4, 2, true), 5);
  const int64_t T = 6, B = 3, I = 3, H = 4, D = 2, L = 2;
  const auto x = testbed::random_tensor({T, B, I}, 6);
  const auto h0 = testbed::random_tensor({L * D, B, H}, 7, 0.5f);
  const std::vector<int64_t> lengths = {4, 6, 1};
  const auto all = run_cpu(m, x, &h0, &lengths);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = lengths[b];
    rnn::Tensor xb({len, 1, I}), h0b({L * D, 1, H});
    for (int64_t t = 0; t < len; ++t)
      for (int64_t i = 0; i < I; ++i) xb[t * I + i] = x[(t * B + b) * I + i];
    for (int64_t k = 0; k < L * D; ++k)
      for (int64_t j = 0; j < H; ++j) h0b[k * H + j] = h0[(k * B + b) * H + j];
    const auto one = run_cpu(m, xb, &h0b);
    for (int64_t t = 0; t < len; ++t)
      for (int64_t j = 0; j < D * H; ++j) ASSERT_EQ(one.y[t * D * H + j], all.y[(t * B + b) * D * H + j]);
    for (int64_t k = 0; k < L * D; ++k)
      for (int64_t j = 0; j < H; ++j) ASSERT_EQ(one.h_n[k * H + j], all.h_n[(k * B + b) * H + j]);
  }
}

// The reverse half of a bidirectional layer is a forward layer run on the
// time-reversed sequence (reversed back).
TEST(ReferenceProperties, ReverseDirectionIsForwardOnReversedInput) {
  const auto bi = rnn::Model::random(config(3, 5, 1, true), 8);
  rnn::Model uni(config(3, 5, 1, false));
  uni.cell(0, 0) = bi.cell(0, 1);
  const int64_t T = 5, B = 2, I = 3, H = 5;
  const auto x = testbed::random_tensor({T, B, I}, 9);
  rnn::Tensor xr({T, B, I});
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < B * I; ++k) xr[t * B * I + k] = x[(T - 1 - t) * B * I + k];
  const auto yb = run_cpu(bi, x);
  const auto yr = run_cpu(uni, xr);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j)
        ASSERT_EQ(yb.y[(t * B + b) * 2 * H + H + j], yr.y[((T - 1 - t) * B + b) * H + j]);
  for (int64_t k = 0; k < B * H; ++k) ASSERT_EQ(yb.h_n[B * H + k], yr.h_n[k]);
}

// A 2-layer model is layer 0 followed by layer 1 (up to the float rounding
// of the intermediate, which the reference keeps in double).
TEST(ReferenceProperties, LayersCompose) {
  const auto two = rnn::Model::random(config(4, 6, 2, true), 10);
  rnn::Model first(config(4, 6, 1, true)), second(config(12, 6, 1, true));
  for (int d = 0; d < 2; ++d) {
    first.cell(0, d) = two.cell(0, d);
    second.cell(0, d) = two.cell(1, d);
  }
  const auto x = testbed::random_tensor({5, 2, 4}, 11);
  const auto h0 = testbed::random_tensor({4, 2, 6}, 12, 0.5f);
  rnn::Tensor h0a({2, 2, 6}), h0b({2, 2, 6});
  std::copy_n(h0.data(), 24, h0a.data());
  std::copy_n(h0.data() + 24, 24, h0b.data());
  const auto full = run_cpu(two, x, &h0);
  const auto mid = run_cpu(first, x, &h0a);
  const auto top = run_cpu(second, mid.y, &h0b);
  EXPECT_TRUE(testbed::close(top.y, full.y, 1e-6));
}

TEST(ReferenceProperties, ZeroH0EqualsNoH0AndH0Matters) {
  const auto m = rnn::Model::random(config(3, 4, 2, false), 13);
  const auto x = testbed::random_tensor({4, 2, 3}, 14);
  const rnn::Tensor zeros({2, 2, 4});
  const auto h0 = testbed::random_tensor({2, 2, 4}, 15);
  EXPECT_EQ(run_cpu(m, x, &zeros).y.values(), run_cpu(m, x).y.values());
  EXPECT_NE(run_cpu(m, x, &h0).y.values(), run_cpu(m, x).y.values());
}

TEST(ReferenceProperties, SaturatedTanhStaysFiniteAndBounded) {
  const auto m = rnn::Model::random(config(4, 8, 1, false), 16);
  const auto x = testbed::random_tensor({50, 2, 4}, 17, 1e4f);
  const auto r = run_cpu(m, x);
  for (float v : r.y.values()) {
    ASSERT_TRUE(std::isfinite(v));
    ASSERT_LE(std::abs(v), 1.0f);
  }
}

}  // namespace
