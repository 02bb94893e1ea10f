// tests/host/test_parity.cpp: the CPU backend against PyTorch. Every folder
// of tests/data/parity (made by tests/data/make_fixtures.py with
// torch.nn.RNN, expected values in float64) is one test case.
#include "testbed.hpp"

namespace {

class TorchParity : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchParity, CpuMatchesFloat64PyTorch) {
  const testbed::FixtureCase c("parity/" + GetParam());
  ASSERT_FALSE(testbed::all_zero(c.x));
  const auto r = rnn::forward(c.model, c.x, c.h0_ptr(), c.lengths_ptr(), c.options(rnn::Device::Cpu));
  // The oracle computes in double; the fixtures are float64 PyTorch rounded
  // to float32, so the two agree to the last bit or two.
  EXPECT_TRUE(testbed::close(r.y, c.expected_states(), 1e-6));
  EXPECT_TRUE(testbed::close(r.h_n, c.expected("expected_hn.npy"), 1e-6));
  // With a head, expected_y.npy holds the model's output: the logits.
  if (c.exists("expected_states.npy"))
    EXPECT_TRUE(testbed::close(rnn::apply_head(c.model, r.y), c.expected("expected_y.npy"), 1e-6));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TorchParity, ::testing::ValuesIn(testbed::case_names("parity")),
                         [](const auto& info) { return info.param; });

TEST(TorchParityFixtures, AllCasesPresent) { EXPECT_GE(testbed::case_names("parity").size(), 17u); }

}  // namespace
