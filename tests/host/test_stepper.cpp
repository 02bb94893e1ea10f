// tests/host/test_stepper.cpp: the step API (rnn::Stepper) against
// forward(): the reference stepper bit for bit, the fast one on one-hot and
// dense inputs, one-hot steps against dense ones, and the models and devices
// it refuses. The training step: test_train.cpp.
#include <cmath>
#include <random>

#include "testbed.hpp"

namespace {

rnn::Model tiny_model(uint64_t seed = 3) {
  rnn::ModelConfig c;
  c.input_size = 2;
  c.hidden_size = 3;
  c.output_size = 4;
  return rnn::Model::random(c, seed);
}

TEST(Stepper, SteppingEqualsForwardBitForBit) {
  rnn::ModelConfig c;
  c.input_size = 3;
  c.hidden_size = 5;
  c.num_layers = 2;
  c.output_size = 4;
  const rnn::Model m = rnn::Model::random(c, 7);
  const int64_t T = 6, B = 2;
  const auto x = testbed::random_tensor({T, B, 3}, 8);
  const auto h0 = testbed::random_tensor({2, B, 5}, 9);
  rnn::ForwardOptions o;
  o.device = rnn::Device::Reference;
  const auto r = rnn::forward(m, x, &h0, nullptr, o);
  rnn::Stepper s(m, B, rnn::Device::Reference);
  s.reset(&h0);
  for (int64_t t = 0; t < T; ++t) {
    rnn::Tensor xt({B, 3});
    std::copy_n(x.data() + t * B * 3, B * 3, xt.data());
    const rnn::Tensor& h = s.step(xt);
    for (int64_t k = 0; k < B * 5; ++k) ASSERT_EQ(h[k], r.y[t * B * 5 + k]) << "t=" << t;
  }
  EXPECT_EQ(s.state().values(), r.h_n.values());
  rnn::Tensor last({B, 5});
  std::copy_n(r.y.data() + (T - 1) * B * 5, B * 5, last.data());
  EXPECT_EQ(s.logits().values(), rnn::apply_head(m, last).values());
}

// The fast stepper (Device::Cpu, the default) runs the fast forward pass's
// kernels in its order: a one-layer model on one-hot inputs gives its
// outputs bit for bit (the same copies, the same step kernel); dense inputs
// and upper layers within float rounding (the BLAS sums one step's rows, the
// forward pass all steps' at once). B = 1 (a GEMV), 3 (the step kernel) and
// 70 (BLAS), one and two layers, h0, and reset() taking up changed weights.
TEST(Stepper, FastSteppingEqualsTheFastForwardPass) {
  for (const int64_t L : {1, 2})
    for (const int64_t B : {1, 3, 70}) {
      SCOPED_TRACE("L=" + std::to_string(L) + " B=" + std::to_string(B));
      rnn::ModelConfig c;
      c.input_size = 11;
      c.hidden_size = 24;
      c.num_layers = L;
      c.output_size = 11;
      rnn::Model m = rnn::Model::random(c, 17 + B);
      const int64_t T = 7, N = B * 24;
      std::mt19937_64 gen(B);
      std::vector<std::vector<int64_t>> ids(static_cast<size_t>(T), std::vector<int64_t>(static_cast<size_t>(B)));
      rnn::Tensor hot({T, B, 11});
      for (int64_t t = 0; t < T; ++t)
        for (int64_t b = 0; b < B; ++b) {
          ids[t][b] = static_cast<int64_t>(gen() % 11);
          hot[(t * B + b) * 11 + ids[t][b]] = 1.0f;
        }
      const rnn::Tensor dense = testbed::random_tensor({T, B, 11}, 30 + B);
      const rnn::Tensor h0 = testbed::random_tensor({L, B, 24}, 40 + B);
      rnn::ForwardOptions o;
      o.device = rnn::Device::Cpu;
      const auto want_hot = rnn::forward(m, hot, &h0, nullptr, o);
      const auto want_dense = rnn::forward(m, dense, &h0, nullptr, o);
      rnn::Stepper a(m, B), d(m, B);
      a.reset(&h0);
      d.reset(&h0);
      double num[2] = {0, 0}, den[2] = {0, 0};
      for (int64_t t = 0; t < T; ++t) {
        rnn::Tensor xt({B, 11});
        std::copy_n(dense.data() + t * B * 11, B * 11, xt.data());
        const rnn::Tensor* got[2] = {&a.step_one_hot(ids[t]), &d.step(xt)};
        const rnn::Tensor* want[2] = {&want_hot.y, &want_dense.y};
        for (int v = 0; v < 2; ++v)
          for (int64_t k = 0; k < N; ++k) {
            const double w = (*want[v])[t * N + k], e = static_cast<double>((*got[v])[k]) - w;
            num[v] += e * e;
            den[v] += w * w;
            if (v == 0 && L == 1) ASSERT_EQ((*got[v])[k], w) << "t=" << t << " k=" << k;
          }
      }
      EXPECT_LT(std::sqrt(num[0] / den[0]), 1e-6) << "one-hot";
      EXPECT_LT(std::sqrt(num[1] / den[1]), 1e-6) << "dense";
      if (L == 1) EXPECT_EQ(a.state().values(), want_hot.h_n.values());
      // Weights changed after the Stepper was made: reset() takes them up.
      m.cell(0, 0).w_hh[0] += 0.5f;
      a.reset(&h0);
      const auto changed = rnn::forward(m, hot, &h0, nullptr, o);
      const rnn::Tensor& first = a.step_one_hot(ids[0]);
      double e = 0, n = 0;
      for (int64_t k = 0; k < N; ++k) {
        e += (static_cast<double>(first[k]) - changed.y[k]) * (static_cast<double>(first[k]) - changed.y[k]);
        n += static_cast<double>(changed.y[k]) * changed.y[k];
      }
      EXPECT_LT(std::sqrt(e / n), 1e-6) << "after reset()";
    }
}

TEST(Stepper, OneHotStepEqualsDenseStep) {
  const rnn::Model m = tiny_model(4);
  rnn::Stepper a(m), b(m);
  rnn::Tensor x({1, 2});
  x[1] = 1.0f;
  EXPECT_EQ(a.step(x).values(), b.step_one_hot({1}).values());
  EXPECT_THROW(b.step_one_hot({2}), rnn::Error);
}

TEST(Stepper, RefusesBidirectionalModels) {
  rnn::ModelConfig c;
  c.input_size = 2;
  c.hidden_size = 3;
  c.bidirectional = true;
  const rnn::Model m = rnn::Model::random(c, 1);
  EXPECT_TRUE(testbed::says(testbed::error_of([&] { rnn::Stepper s(m); }, "model"), "bidirectional"));
}

// The host step API steps on the CPU: Auto is the CPU on any machine (a GPU
// present or not), and Cuda is refused pointing at the GPU's own step API.
TEST(Stepper, AutoStepsOnTheCpuAndCudaPointsToTheGpuStepper) {
  rnn::ModelConfig c;
  c.input_size = 2;
  c.hidden_size = 3;
  const rnn::Model m = rnn::Model::random(c, 1);
  rnn::Stepper s(m, 2, rnn::Device::Auto);
  rnn::Stepper cpu(m, 2, rnn::Device::Cpu);
  EXPECT_EQ(s.step_one_hot({0, 1}).values(), cpu.step_one_hot({0, 1}).values());
  EXPECT_TRUE(testbed::says(testbed::error_of([&] { rnn::Stepper g(m, 1, rnn::Device::Cuda); }, "device"),
                            "rnn::cuda::Stepper"));
}

}  // namespace
