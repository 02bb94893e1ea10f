// tests/host/test_forward.cpp: the public forward API: validation of every
// input (one test per class of bad input), batch-first layout, the padding
// convenience, the output head and device selection.
#include "testbed.hpp"

namespace {

rnn::Model model_2x_bidir() {
  rnn::ModelConfig c;
  c.input_size = 3;
  c.hidden_size = 4;
  c.num_layers = 2;
  c.bidirectional = true;
  return rnn::Model::random(c, 21);
}

rnn::ForwardOptions cpu(bool batch_first = false) {
  rnn::ForwardOptions o;
  o.device = rnn::Device::Cpu;
  o.batch_first = batch_first;
  return o;
}

// Runs f, expects rnn::Error; returns it (subject and message) for checks.
template <class F>
rnn::Error error_of(F f) {
  try {
    f();
  } catch (const rnn::Error& e) {
    return e;
  }
  ADD_FAILURE() << "no rnn::Error thrown";
  return rnn::Error("", "");
}

TEST(ForwardValidation, XMustHaveRankThree) {
  const auto m = model_2x_bidir();
  const auto e = error_of([&] { rnn::forward(m, rnn::Tensor({5, 3}), nullptr, nullptr, cpu()); });
  EXPECT_EQ(e.subject(), "x");
  EXPECT_NE(e.message().find("expected 3 [T, B, I]"), std::string::npos) << e.what();
}

TEST(ForwardValidation, XInputSizeMustMatchModel) {
  const auto m = model_2x_bidir();
  const auto e = error_of([&] { rnn::forward(m, testbed::random_tensor({5, 2, 4}, 1), nullptr, nullptr, cpu()); });
  EXPECT_EQ(e.subject(), "x");
  EXPECT_NE(e.message().find("model expects 3"), std::string::npos) << e.what();
}

TEST(ForwardValidation, TZeroIsAnError) {
  const auto m = model_2x_bidir();
  auto e = error_of([&] { rnn::forward(m, rnn::Tensor({0, 2, 3}), nullptr, nullptr, cpu()); });
  EXPECT_EQ(e.subject(), "x");
  EXPECT_NE(e.message().find("T = 0"), std::string::npos) << e.what();
  e = error_of([&] { rnn::forward(m, rnn::Tensor({2, 0, 3}), nullptr, nullptr, cpu(true)); });  // [B, T, I]
  EXPECT_NE(e.message().find("T = 0"), std::string::npos) << e.what();
}

TEST(ForwardValidation, BZeroIsAnError) {
  const auto m = model_2x_bidir();
  const auto e = error_of([&] { rnn::forward(m, rnn::Tensor({4, 0, 3}), nullptr, nullptr, cpu()); });
  EXPECT_NE(e.message().find("B = 0"), std::string::npos) << e.what();
}

TEST(ForwardValidation, H0ShapeMustBeLDxBxH) {
  const auto m = model_2x_bidir();
  const auto x = testbed::random_tensor({5, 2, 3}, 2);
  for (const std::vector<int64_t>& bad : std::vector<std::vector<int64_t>>{{2, 2, 4}, {4, 3, 4}, {4, 2, 5}, {4, 8}}) {
    const rnn::Tensor h0(bad);
    const auto e = error_of([&] { rnn::forward(m, x, &h0, nullptr, cpu()); });
    EXPECT_EQ(e.subject(), "h0");
    EXPECT_NE(e.message().find("expected [L*D, B, H] = [4, 2, 4]"), std::string::npos) << e.what();
  }
}

TEST(ForwardValidation, LengthsCountMustBeB) {
  const auto m = model_2x_bidir();
  const auto x = testbed::random_tensor({5, 2, 3}, 3);
  const std::vector<int64_t> lengths = {5, 5, 5};
  const auto e = error_of([&] { rnn::forward(m, x, nullptr, &lengths, cpu()); });
  EXPECT_EQ(e.subject(), "lengths");
  EXPECT_NE(e.message().find("3 lengths for a batch of 2"), std::string::npos) << e.what();
}

TEST(ForwardValidation, LengthsMustLieInOneToT) {
  const auto m = model_2x_bidir();
  const auto x = testbed::random_tensor({5, 2, 3}, 4);
  for (int64_t bad : {int64_t{0}, int64_t{6}, int64_t{-1}}) {
    const std::vector<int64_t> lengths = {5, bad};
    const auto e = error_of([&] { rnn::forward(m, x, nullptr, &lengths, cpu()); });
    EXPECT_EQ(e.subject(), "lengths");
    EXPECT_NE(e.message().find("outside [1, T] = [1, 5]"), std::string::npos) << e.what();
  }
}

TEST(ForwardValidation, InconsistentModelIsAnError) {
  auto m = model_2x_bidir();
  m.cell(1, 0).w_ih = rnn::Tensor({4, 4});  // layer 1 reads D*H = 8 features
  const auto e = error_of([&] { rnn::forward(m, testbed::random_tensor({5, 2, 3}, 5), nullptr, nullptr, cpu()); });
  EXPECT_EQ(e.subject(), "model");
  EXPECT_NE(e.message().find("weight_ih_l1"), std::string::npos) << e.what();
}

TEST(ForwardLayout, BatchFirstIsTheTransposedProblem) {
  const auto m = model_2x_bidir();
  const int64_t T = 6, B = 3, I = 3;
  const auto x = testbed::random_tensor({T, B, I}, 6);
  rnn::Tensor xb({B, T, I});
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < I; ++i) xb[(b * T + t) * I + i] = x[(t * B + b) * I + i];
  const auto h0 = testbed::random_tensor({4, B, 4}, 7);
  const std::vector<int64_t> lengths = {3, 6, 1};
  const auto tm = rnn::forward(m, x, &h0, &lengths, cpu(false));
  const auto bf = rnn::forward(m, xb, &h0, &lengths, cpu(true));
  ASSERT_EQ(bf.y.shape(), (std::vector<int64_t>{B, T, 8}));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < 8; ++j) ASSERT_EQ(bf.y[(b * T + t) * 8 + j], tm.y[(t * B + b) * 8 + j]);
  EXPECT_EQ(bf.h_n.values(), tm.h_n.values());
}

TEST(ForwardSequences, EqualsPaddedBatchWithLengths) {
  const auto m = model_2x_bidir();
  const std::vector<int64_t> lengths = {4, 1, 7};
  std::vector<rnn::Tensor> seqs;
  for (size_t b = 0; b < lengths.size(); ++b) seqs.push_back(testbed::random_tensor({lengths[b], 3}, 30 + b));
  const auto h0 = testbed::random_tensor({4, 3, 4}, 8);
  const auto s = rnn::forward_sequences(m, seqs, &h0, rnn::Device::Cpu);
  rnn::Tensor x({7, 3, 3});
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t t = 0; t < lengths[b]; ++t)
      for (int64_t i = 0; i < 3; ++i) x[(t * 3 + b) * 3 + i] = seqs[b][t * 3 + i];
  const auto r = rnn::forward(m, x, &h0, &lengths, cpu());
  ASSERT_EQ(s.outputs.size(), 3u);
  for (int64_t b = 0; b < 3; ++b) {
    ASSERT_EQ(s.outputs[b].shape(), (std::vector<int64_t>{lengths[b], 8}));
    for (int64_t t = 0; t < lengths[b]; ++t)
      for (int64_t j = 0; j < 8; ++j) ASSERT_EQ(s.outputs[b][t * 8 + j], r.y[(t * 3 + b) * 8 + j]);
  }
  EXPECT_EQ(s.h_n.values(), r.h_n.values());
}

TEST(ForwardSequences, RejectsEmptyAndMisshapenSequences) {
  const auto m = model_2x_bidir();
  EXPECT_EQ(error_of([&] { rnn::forward_sequences(m, {}); }).subject(), "sequences");
  auto e = error_of([&] { rnn::forward_sequences(m, {testbed::random_tensor({2, 3}, 1), rnn::Tensor({0, 3})}); });
  EXPECT_EQ(e.subject(), "sequences[1]");
  e = error_of([&] { rnn::forward_sequences(m, {testbed::random_tensor({2, 5}, 1)}); });
  EXPECT_EQ(e.subject(), "sequences[0]");
  EXPECT_NE(e.message().find("expected [T, 3]"), std::string::npos) << e.what();
}

TEST(OutputHead, AppliesLinearLayerToLastDimension) {
  rnn::ModelConfig c;
  c.input_size = 2;
  c.hidden_size = 3;
  c.output_size = 2;
  auto m = rnn::Model::random(c, 9);
  m.head().weight = rnn::Tensor({2, 3}, {1, 0, -1, 0.5f, 2, 0});
  m.head().bias = rnn::Tensor({2}, {0.25f, -1});
  const rnn::Tensor y({1, 2, 3}, {1, 2, 3, -1, 0.5f, 4});
  const auto logits = rnn::apply_head(m, y);
  ASSERT_EQ(logits.shape(), (std::vector<int64_t>{1, 2, 2}));
  EXPECT_EQ(logits.values(), (std::vector<float>{1 - 3 + 0.25f, 0.5f + 4 - 1, -1 - 4 + 0.25f, -0.5f + 1 - 1}));
  EXPECT_EQ(error_of([&] { rnn::apply_head(m, rnn::Tensor({2, 4})); }).subject(), "y");
  EXPECT_EQ(error_of([&] { rnn::apply_head(model_2x_bidir(), y); }).subject(), "model");
}

TEST(Device, ParseAndName) {
  EXPECT_EQ(rnn::parse_device("auto"), rnn::Device::Auto);
  EXPECT_EQ(rnn::parse_device("cpu"), rnn::Device::Cpu);
  EXPECT_EQ(rnn::parse_device("cuda"), rnn::Device::Cuda);
  const auto e = error_of([] { rnn::parse_device("gpu", "--device"); });
  EXPECT_EQ(e.subject(), "--device");
  EXPECT_NE(e.message().find("unknown device 'gpu'"), std::string::npos);
  EXPECT_STREQ(rnn::device_name(rnn::Device::Cuda), "cuda");
}

TEST(Device, ParseKernel) {
  EXPECT_EQ(rnn::parse_kernel("auto"), rnn::Kernel::Auto);
  EXPECT_EQ(rnn::parse_kernel("stepwise"), rnn::Kernel::Stepwise);
  EXPECT_EQ(rnn::parse_kernel("persistent"), rnn::Kernel::Persistent);
  EXPECT_STREQ(rnn::kernel_name(rnn::Kernel::Persistent), "persistent");
  EXPECT_EQ(rnn::parse_kernel("registers"), rnn::Kernel::Registers);
  EXPECT_STREQ(rnn::kernel_name(rnn::Kernel::Registers), "registers");
  EXPECT_EQ(rnn::parse_kernel("gemm"), rnn::Kernel::Gemm);
  EXPECT_STREQ(rnn::kernel_name(rnn::Kernel::Gemm), "gemm");
  EXPECT_EQ(rnn::parse_kernel("cluster"), rnn::Kernel::Cluster);
  EXPECT_STREQ(rnn::kernel_name(rnn::Kernel::Cluster), "cluster");
  const auto e = error_of([] { rnn::parse_kernel("fast", "--kernel"); });
  EXPECT_EQ(e.subject(), "--kernel");
  EXPECT_NE(e.message().find("unknown kernel 'fast'"), std::string::npos);
}

TEST(Device, AutoRunsWhereTheForwardPathIsAvailable) {
  const auto m = model_2x_bidir();
  rnn::ForwardOptions o;  // Device::Auto
  const auto r = rnn::forward(m, testbed::random_tensor({3, 1, 3}, 10), nullptr, nullptr, o);
  EXPECT_EQ(r.device, rnn::cuda_forward_available() ? rnn::Device::Cuda : rnn::Device::Cpu);
}

TEST(Device, CudaWithoutABackendIsAClearError) {
  if (rnn::cuda_forward_available()) GTEST_SKIP() << "the CUDA forward path is available here";
  const auto m = model_2x_bidir();
  rnn::ForwardOptions o;
  o.device = rnn::Device::Cuda;
  const auto e = error_of([&] { rnn::forward(m, testbed::random_tensor({3, 1, 3}, 11), nullptr, nullptr, o); });
  EXPECT_EQ(e.subject(), "device");
  EXPECT_NE(e.message().find("cuda: "), std::string::npos) << e.what();
}

}  // namespace

// The thread count is chosen before the first pass and fixed by it: after a
// pass only the count in use is accepted; never a count below 1.
TEST(Device, CpuThreadsAreFixedByTheFirstPass) {
  const auto m = model_2x_bidir();
  rnn::ForwardOptions o;
  o.device = rnn::Device::Cpu;
  rnn::forward(m, testbed::random_tensor({3, 2, 3}, 11), nullptr, nullptr, o);
  const int n = rnn::cpu_threads();
  EXPECT_GE(n, 1);
  EXPECT_TRUE(rnn::set_cpu_threads(n));
  EXPECT_FALSE(rnn::set_cpu_threads(n + 1));
  EXPECT_FALSE(rnn::set_cpu_threads(0));
  EXPECT_EQ(rnn::cpu_threads(), n);
}
