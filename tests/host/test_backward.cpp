// tests/host/test_backward.cpp: the CPU reference backward pass against
// central finite differences of the forward pass, for every feature, and
// its input validation. (Against PyTorch autograd: test_grad_parity.cpp.)
#include <cmath>
#include <functional>

#include "testbed.hpp"

namespace {

struct FdCase {
  const char* name;
  int64_t I, H, L;
  bool bidir, bias, relu, h0, dhn, lengths, batch_first;
};

// L(theta) = sum(dy * y) + sum(dhn * h_n): its gradient is what backward(dy, dhn) returns.
double loss(const rnn::Model& m, const rnn::Tensor& x, const rnn::Tensor* h0, const std::vector<int64_t>* len,
            const rnn::Tensor& dy, const rnn::Tensor* dhn, bool batch_first) {
  rnn::ForwardOptions o;
  o.device = rnn::Device::Cpu;
  o.batch_first = batch_first;
  const auto r = rnn::forward(m, x, h0, len, o);
  double l = 0.0;
  const int64_t T = batch_first ? x.dim(1) : x.dim(0), B = batch_first ? x.dim(0) : x.dim(1);
  const int64_t W = r.y.dim(2);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) {
      if (len && t >= (*len)[b]) continue;  // dy at padded positions is ignored
      const int64_t row = batch_first ? b * T + t : t * B + b;
      for (int64_t k = 0; k < W; ++k) l += static_cast<double>(dy[row * W + k]) * r.y[row * W + k];
    }
  if (dhn)
    for (int64_t i = 0; i < dhn->numel(); ++i) l += static_cast<double>((*dhn)[i]) * r.h_n[i];
  return l;
}

// Relative norm error between analytic and central-difference gradients of
// every element of `param` (perturbed in place by eps, a power of two so
// the perturbation is exact in float).
double fd_error(rnn::Tensor& param, const rnn::Tensor& analytic, const std::function<double()>& f, float eps) {
  double num = 0.0, den = 0.0;
  for (int64_t i = 0; i < param.numel(); ++i) {
    const float keep = param[i];
    param[i] = keep + eps;
    const double up = f();
    param[i] = keep - eps;
    const double down = f();
    param[i] = keep;
    const double fd = (up - down) / (2.0 * eps);
    num += (fd - analytic[i]) * (fd - analytic[i]);
    den += fd * fd;
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

class BackwardFiniteDifferences : public ::testing::TestWithParam<FdCase> {};

TEST_P(BackwardFiniteDifferences, AllGradientsMatch) {
  const FdCase& c = GetParam();
  rnn::ModelConfig cfg;
  cfg.input_size = c.I;
  cfg.hidden_size = c.H;
  cfg.num_layers = c.L;
  cfg.bidirectional = c.bidir;
  cfg.bias = c.bias;
  cfg.nonlinearity = c.relu ? rnn::Nonlinearity::Relu : rnn::Nonlinearity::Tanh;
  rnn::Model m = rnn::Model::random(cfg, 17);
  const int64_t T = 5, B = 3, D = c.bidir ? 2 : 1;
  rnn::Tensor x = testbed::random_tensor(c.batch_first ? std::vector<int64_t>{B, T, c.I}
                                                       : std::vector<int64_t>{T, B, c.I},
                                         18);
  rnn::Tensor h0 = testbed::random_tensor({c.L * D, B, c.H}, 19, 0.5f);
  const rnn::Tensor dy = testbed::random_tensor(c.batch_first ? std::vector<int64_t>{B, T, D * c.H}
                                                              : std::vector<int64_t>{T, B, D * c.H},
                                                20);
  const rnn::Tensor dhn = testbed::random_tensor({c.L * D, B, c.H}, 21);
  const std::vector<int64_t> lengths = {3, 5, 1};
  const rnn::Tensor* h0p = c.h0 ? &h0 : nullptr;
  const rnn::Tensor* dhnp = c.dhn ? &dhn : nullptr;
  const std::vector<int64_t>* lenp = c.lengths ? &lengths : nullptr;

  rnn::ForwardOptions o;
  o.device = rnn::Device::Cpu;
  o.batch_first = c.batch_first;
  const auto g = rnn::backward(m, x, h0p, lenp, dy, dhnp, o);
  auto f = [&] { return loss(m, x, h0p, lenp, dy, dhnp, c.batch_first); };
  // relu has kinks: a smaller step keeps the differences off them.
  const float eps = c.relu ? 0x1p-12f : 0x1p-9f;
  const double tol = 2e-3;
  for (int64_t l = 0; l < c.L; ++l) {
    for (int64_t d = 0; d < D; ++d) {
      rnn::CellWeights& w = m.cell(l, d);
      const rnn::CellWeights& gw = g.grads.cell(l, d);
      EXPECT_LT(fd_error(w.w_ih, gw.w_ih, f, eps), tol) << rnn::parameter_name("weight_ih", l, d);
      EXPECT_LT(fd_error(w.w_hh, gw.w_hh, f, eps), tol) << rnn::parameter_name("weight_hh", l, d);
      if (c.bias) {
        EXPECT_LT(fd_error(w.b_ih, gw.b_ih, f, eps), tol) << rnn::parameter_name("bias_ih", l, d);
        EXPECT_LT(fd_error(w.b_hh, gw.b_hh, f, eps), tol) << rnn::parameter_name("bias_hh", l, d);
      }
    }
  }
  EXPECT_LT(fd_error(x, g.dx, f, eps), tol) << "dx";
  if (c.h0) EXPECT_LT(fd_error(h0, g.dh0, f, eps), tol) << "dh0";
  EXPECT_FALSE(testbed::all_zero(g.dx));
  if (c.lengths) {  // dx is 0 at padded positions
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = lengths[b]; t < T; ++t)
        for (int64_t k = 0; k < c.I; ++k) {
          const int64_t row = c.batch_first ? b * T + t : t * B + b;
          ASSERT_EQ(g.dx[row * c.I + k], 0.0f);
        }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Features, BackwardFiniteDifferences,
    ::testing::Values(
        //     name                   I  H  L  bidir  bias   relu   h0     dhn    len    bf
        FdCase{"tanh_single", 3, 4, 1, false, true, false, false, false, false, false},
        FdCase{"tanh_h0_dhn_layers2", 3, 4, 2, false, true, false, true, true, false, false},
        FdCase{"relu_nobias", 3, 4, 1, false, false, true, true, true, false, false},
        FdCase{"bidir_layers2_varlen", 2, 3, 2, true, true, false, true, true, true, false},
        FdCase{"bidir_relu_varlen_batch_first", 3, 4, 1, true, true, true, true, true, true, true},
        FdCase{"layers3_batch_first", 2, 3, 3, false, true, false, true, false, false, true}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(BackwardValidation, DyAndDhnShapesAreChecked) {
  rnn::ModelConfig cfg;
  cfg.input_size = 2;
  cfg.hidden_size = 3;
  const auto m = rnn::Model::random(cfg, 1);
  const auto x = testbed::random_tensor({4, 2, 2}, 2);
  rnn::ForwardOptions o;
  o.device = rnn::Device::Cpu;
  EXPECT_TRUE(testbed::says(
      testbed::error_of([&] { rnn::backward(m, x, nullptr, nullptr, rnn::Tensor({4, 2, 4}), nullptr, o); }, "dy"),
      "expected y's shape [4, 2, 3]"));
  const rnn::Tensor dhn({2, 2, 3});
  EXPECT_TRUE(testbed::says(
      testbed::error_of([&] { rnn::backward(m, x, nullptr, nullptr, rnn::Tensor({4, 2, 3}), &dhn, o); }, "dh_n"),
      "expected [L*D, B, H] = [1, 2, 3]"));
  o.device = rnn::Device::Cuda;
  EXPECT_THROW(rnn::backward(m, x, nullptr, nullptr, rnn::Tensor({4, 2, 3}), nullptr, o), rnn::Error);
}

TEST(BackwardValidation, RecomputedForwardEqualsForward) {
  rnn::ModelConfig cfg;
  cfg.input_size = 2;
  cfg.hidden_size = 3;
  cfg.bidirectional = true;
  const auto m = rnn::Model::random(cfg, 1);
  const auto x = testbed::random_tensor({4, 2, 2}, 2);
  rnn::ForwardOptions o;
  o.device = rnn::Device::Reference;
  const auto f = rnn::forward(m, x, nullptr, nullptr, o);
  const auto b = rnn::backward(m, x, nullptr, nullptr, testbed::random_tensor({4, 2, 6}, 3), nullptr, o);
  EXPECT_EQ(f.y.values(), b.y.values());
  EXPECT_EQ(f.h_n.values(), b.h_n.values());
  EXPECT_FALSE(b.grads.has_head());
}

}  // namespace
