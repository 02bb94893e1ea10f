// tests/host/test_parity.cpp: the CPU backend against PyTorch. Every folder
// of tests/data/parity (made by tests/data/make_fixtures.py with
// torch.nn.RNN, expected values in float64) is one test case.
#include <filesystem>
#include <fstream>

#include "testbed.hpp"

namespace {

std::vector<std::string> parity_cases() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(testbed::data_path("parity")))
    if (e.is_directory()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

class TorchParity : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchParity, CpuMatchesFloat64PyTorch) {
  const std::string dir = testbed::data_path("parity/" + GetParam()) + "/";
  const auto model = rnn::load_model(dir + "model.safetensors");
  const auto x = rnn::read_npy(dir + "x.npy");
  ASSERT_FALSE(testbed::all_zero(x));
  rnn::Tensor h0;
  const bool has_h0 = std::filesystem::exists(dir + "h0.npy");
  if (has_h0) h0 = rnn::read_npy(dir + "h0.npy");
  rnn::IntArray lengths;
  const bool has_lengths = std::filesystem::exists(dir + "lengths.npy");
  if (has_lengths) lengths = rnn::read_npy_int(dir + "lengths.npy");
  std::ifstream args_file(dir + "args.txt");
  std::string args((std::istreambuf_iterator<char>(args_file)), std::istreambuf_iterator<char>());

  rnn::ForwardOptions opt;
  opt.device = rnn::Device::Cpu;
  opt.batch_first = args.find("--batch-first") != std::string::npos;
  const auto r = rnn::forward(model, x, has_h0 ? &h0 : nullptr, has_lengths ? &lengths.data : nullptr, opt);
  // The oracle computes in double; the fixtures are float64 PyTorch rounded
  // to float32, so the two agree to the last bit or two.
  EXPECT_TRUE(testbed::close(r.y, rnn::read_npy(dir + "expected_y.npy"), 1e-6));
  EXPECT_TRUE(testbed::close(r.h_n, rnn::read_npy(dir + "expected_hn.npy"), 1e-6));
  if (std::filesystem::exists(dir + "expected_logits.npy")) {
    EXPECT_TRUE(testbed::close(rnn::apply_head(model, r.y), rnn::read_npy(dir + "expected_logits.npy"), 1e-6));
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TorchParity, ::testing::ValuesIn(parity_cases()),
                         [](const auto& info) { return info.param; });

TEST(TorchParityFixtures, AllCasesPresent) { EXPECT_GE(parity_cases().size(), 17u); }

}  // namespace
