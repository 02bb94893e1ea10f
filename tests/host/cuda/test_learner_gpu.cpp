// tests/host/cuda/test_learner_gpu.cpp: the engine's learners on the GPU
// (rnn::Learner and rnn::Seq2SeqLearner on Device::Cuda: weights, gradients
// and optimizer state on the device) against the same learners on the CPU:
// the same losses, norms and right answers, and (SGD) the same weights
// after several updates whose shapes grow and shrink (the plan grown, not
// made per step), on both recurrence kernels. Skips without a usable GPU.
#include <random>

#include "testbed.hpp"

namespace {

constexpr double kTol = 1e-5;

using testbed::two_layer_model;

void expect_close_weights(const rnn::Model& a, const rnn::Model& b) {
  const auto pa = a.parameters(), pb = b.parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t k = 0; k < pa.size(); ++k)
    EXPECT_TRUE(testbed::close(*pa[k].second, *pb[k].second, kTol)) << pa[k].first;
}

rnn::LearnOptions sgd(rnn::Device device, rnn::Kernel kernel) {
  rnn::LearnOptions lo;
  lo.device = device;
  lo.kernel = kernel;
  lo.optimizer.kind = rnn::OptimizerKind::Sgd;
  lo.optimizer.lr = 0.1;
  lo.optimizer.momentum = 0.9;
  lo.clip = 0.5;
  return lo;
}

// (B, T) of the updates: growing (new plans), then smaller (the grown plan).
const std::vector<std::pair<int64_t, int64_t>> kShapes = {{2, 3}, {3, 6}, {5, 4}, {1, 2}, {5, 6}};

class GpuLearner : public ::testing::TestWithParam<rnn::Kernel> {
 protected:
  void SetUp() override {
    if (rnn::cuda_device_count() == 0) GTEST_SKIP() << "no usable CUDA device on this machine";
  }
};

TEST_P(GpuLearner, StepMatchesTheCpu) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  const rnn::Model m0 = two_layer_model(5, 16, 6, true, seed);
  rnn::Learner gpu(m0, sgd(rnn::Device::Cuda, GetParam())), cpu(m0, sgd(rnn::Device::Cpu, GetParam()));
  EXPECT_EQ(gpu.device(), rnn::Device::Cuda);
  for (size_t k = 0; k < kShapes.size(); ++k) {
    const auto [B, T] = kShapes[k];
    const rnn::Tensor x = testbed::random_tensor({T, B, 5}, seed + 10 + k);
    std::vector<int64_t> lengths, targets;
    testbed::random_batch(T, B, 6, seed + 20 + k, lengths, targets);
    const rnn::StepStats a = gpu.step(x, &lengths, targets), b = cpu.step(x, &lengths, targets);
    EXPECT_NEAR(a.loss, b.loss, kTol * b.loss) << "update " << k;
    EXPECT_NEAR(a.grad_norm, b.grad_norm, kTol * b.grad_norm) << "update " << k;
    EXPECT_EQ(a.count, b.count);
  }
  expect_close_weights(gpu.model(), cpu.model());
}

TEST_P(GpuLearner, ClassifyMatchesTheCpu) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  const rnn::Model m0 = two_layer_model(4, 12, 3, true, seed);
  rnn::Learner gpu(m0, sgd(rnn::Device::Cuda, GetParam())), cpu(m0, sgd(rnn::Device::Cpu, GetParam()));
  for (size_t k = 0; k < kShapes.size(); ++k) {
    const auto [B, T] = kShapes[k];
    const rnn::Tensor x = testbed::random_tensor({T, B, 4}, seed + 10 + k);
    std::vector<int64_t> lengths, unused;
    testbed::random_batch(T, B, 3, seed + 20 + k, lengths, unused);
    std::vector<int64_t> labels(static_cast<size_t>(B));
    for (size_t b = 0; b < labels.size(); ++b) labels[b] = static_cast<int64_t>((b + k) % 3);
    const rnn::StepStats a = gpu.classify(x, lengths, labels), b = cpu.classify(x, lengths, labels);
    EXPECT_NEAR(a.loss, b.loss, kTol * b.loss) << "update " << k;
    EXPECT_NEAR(a.grad_norm, b.grad_norm, kTol * b.grad_norm) << "update " << k;
    EXPECT_EQ(a.correct, b.correct) << "update " << k;
  }
  expect_close_weights(gpu.model(), cpu.model());
}

TEST_P(GpuLearner, Seq2SeqMatchesTheCpu) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  for (const bool context : {false, true}) {
    SCOPED_TRACE(context ? "context" : "no context");
    rnn::ModelConfig e, d;
    e.input_size = 5;
    e.hidden_size = d.hidden_size = 10;
    e.num_layers = d.num_layers = 2;
    d.output_size = 4;
    d.input_size = 4 + (context ? 10 : 0);
    const rnn::Seq2SeqModel m0{rnn::Model::random(e, seed), rnn::Model::random(d, seed + 1), context};
    rnn::Seq2SeqLearner gpu(m0, sgd(rnn::Device::Cuda, GetParam())), cpu(m0, sgd(rnn::Device::Cpu, GetParam()));
    for (size_t k = 0; k < kShapes.size(); ++k) {
      const auto [B, T] = kShapes[k];
      const rnn::Tensor src = testbed::random_tensor({T + 1, B, 5}, seed + 10 + k);
      const rnn::Tensor dec_in = testbed::random_tensor({T, B, 4}, seed + 20 + k);
      std::vector<int64_t> src_len, tgt_len, targets, unused;
      testbed::random_batch(T + 1, B, 4, seed + 30 + k, src_len, unused);
      testbed::random_batch(T, B, 4, seed + 40 + k, tgt_len, targets);
      const rnn::StepStats a = gpu.step(src, src_len, dec_in, tgt_len, targets);
      const rnn::StepStats b = cpu.step(src, src_len, dec_in, tgt_len, targets);
      EXPECT_NEAR(a.loss, b.loss, kTol * b.loss) << "update " << k;
      EXPECT_NEAR(a.grad_norm, b.grad_norm, kTol * b.grad_norm) << "update " << k;
    }
    const rnn::Seq2SeqModel ga = gpu.model(), cb = cpu.model();
    expect_close_weights(ga.encoder, cb.encoder);
    expect_close_weights(ga.decoder, cb.decoder);
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, GpuLearner, ::testing::Values(rnn::Kernel::Stepwise, rnn::Kernel::Persistent),
                         [](const auto& info) { return std::string(rnn::kernel_name(info.param)); });

// A carried state needs the batch it was made for.
TEST(GpuChunkTrainerCarry, RefusesAnotherBatchSize) {
  if (rnn::cuda_device_count() == 0) GTEST_SKIP() << "no usable CUDA device on this machine";
  const rnn::Model m0 = two_layer_model(3, 8, 4, false, 3);
  rnn::ChunkTrainer gpu(m0, rnn::OptimizerOptions{}, 0.0, rnn::Device::Cuda, 4, 3);
  gpu.step(testbed::random_tensor({4, 3, 3}, 1), std::vector<int64_t>(12, 1), true);
  EXPECT_THROW(gpu.step(testbed::random_tensor({4, 2, 3}, 2), std::vector<int64_t>(8, 1), false), rnn::Error);
  EXPECT_NO_THROW(gpu.step(testbed::random_tensor({4, 2, 3}, 2), std::vector<int64_t>(8, 1), true));
}

}  // namespace
