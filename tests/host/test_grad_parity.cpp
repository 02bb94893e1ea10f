// tests/host/test_grad_parity.cpp: the CPU backward pass against PyTorch
// autograd. Every folder of tests/data/grad (made by
// tests/data/make_fixtures.py, expected values in float64) is one case.
#include <filesystem>
#include <fstream>

#include "testbed.hpp"

namespace {

std::vector<std::string> grad_cases() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(testbed::data_path("grad")))
    if (e.is_directory()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

class TorchGradParity : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchGradParity, CpuBackwardMatchesFloat64Autograd) {
  const std::string dir = testbed::data_path("grad/" + GetParam()) + "/";
  auto has = [&](const char* f) { return std::filesystem::exists(dir + f); };
  const auto model = rnn::load_model(dir + "model.safetensors");
  const auto x = rnn::read_npy(dir + "x.npy");
  rnn::Tensor h0, dhn;
  if (has("h0.npy")) h0 = rnn::read_npy(dir + "h0.npy");
  if (has("dhn.npy")) dhn = rnn::read_npy(dir + "dhn.npy");
  rnn::IntArray lengths;
  if (has("lengths.npy")) lengths = rnn::read_npy_int(dir + "lengths.npy");
  std::ifstream args_file(dir + "args.txt");
  const std::string args((std::istreambuf_iterator<char>(args_file)), std::istreambuf_iterator<char>());
  rnn::ForwardOptions opt;
  opt.device = rnn::Device::Cpu;
  opt.batch_first = args.find("--batch-first") != std::string::npos;
  const auto r = rnn::backward(model, x, has("h0.npy") ? &h0 : nullptr, has("lengths.npy") ? &lengths.data : nullptr,
                               rnn::read_npy(dir + "dy.npy"), has("dhn.npy") ? &dhn : nullptr, opt);
  EXPECT_TRUE(testbed::close(r.y, rnn::read_npy(dir + "expected_y.npy"), 1e-6));
  EXPECT_TRUE(testbed::close(r.dx, rnn::read_npy(dir + "expected_dx.npy"), 1e-6));
  if (has("h0.npy")) EXPECT_TRUE(testbed::close(r.dh0, rnn::read_npy(dir + "expected_dh0.npy"), 1e-6));
  const rnn::TensorFile expected = rnn::read_safetensors(dir + "expected_grads.safetensors");
  const auto params = r.grads.parameters();
  ASSERT_EQ(params.size(), expected.tensors.size());
  for (const auto& [name, t] : params) {
    const rnn::Tensor* e = expected.find(name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_TRUE(testbed::close(*t, *e, 1e-6)) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TorchGradParity, ::testing::ValuesIn(grad_cases()),
                         [](const auto& info) { return info.param; });

TEST(TorchGradParityFixtures, AllCasesPresent) { EXPECT_GE(grad_cases().size(), 9u); }

}  // namespace
