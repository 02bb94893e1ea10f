// tests/host/test_grad_parity.cpp: the CPU backward pass against PyTorch
// autograd. Every folder of tests/data/grad (made by
// tests/data/make_fixtures.py, expected values in float64) is one case.
#include "testbed.hpp"

namespace {

class TorchGradParity : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchGradParity, CpuBackwardMatchesFloat64Autograd) {
  const testbed::FixtureCase c("grad/" + GetParam());
  const auto r =
      rnn::backward(c.model, c.x, c.h0_ptr(), c.lengths_ptr(), c.dy, c.dhn_ptr(), c.options(rnn::Device::Cpu));
  EXPECT_TRUE(testbed::close(r.y, c.expected("expected_y.npy"), 1e-6));
  EXPECT_TRUE(testbed::close(r.dx, c.expected("expected_dx.npy"), 1e-6));
  if (c.has_h0) EXPECT_TRUE(testbed::close(r.dh0, c.expected("expected_dh0.npy"), 1e-6));
  const rnn::TensorFile expected = rnn::read_safetensors(c.dir + "expected_grads.safetensors");
  const auto params = r.grads.parameters();
  ASSERT_EQ(params.size(), expected.tensors.size());
  for (const auto& [name, t] : params) {
    const rnn::Tensor* e = expected.find(name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_TRUE(testbed::close(*t, *e, 1e-6)) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TorchGradParity, ::testing::ValuesIn(testbed::case_names("grad")),
                         [](const auto& info) { return info.param; });

TEST(TorchGradParityFixtures, AllCasesPresent) { EXPECT_GE(testbed::case_names("grad").size(), 9u); }

}  // namespace
