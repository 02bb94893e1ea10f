// tests/host/cuda/test_trainer_gpu.cpp: training on the GPU against the CPU
// training step: the same losses and (with SGD) the same parameters after
// several chunks of truncated BPTT; Adam close; two runs bitwise equal.
// Skips without a usable GPU.
#include <cuda_runtime.h>

#include "rnn/cuda.hpp"
#include "testbed.hpp"

namespace {

struct Chunks {
  std::vector<rnn::Tensor> x;                 // [T, B, I] each
  std::vector<std::vector<int64_t>> targets;  // [T*B] each
};

Chunks make_chunks(int n, int64_t T, int64_t B, int64_t I, int64_t O) {
  Chunks c;
  for (int k = 0; k < n; ++k) {
    c.x.push_back(testbed::random_tensor({T, B, I}, 100 + k));
    std::vector<int64_t> t(static_cast<size_t>(T * B));
    for (size_t i = 0; i < t.size(); ++i) t[i] = (i * 7 + k) % 5 == 0 ? -1 : static_cast<int64_t>((i * 3 + k) % O);
    c.targets.push_back(t);
  }
  return c;
}

struct GpuRun {
  std::vector<double> losses;
  rnn::Model model;
  std::vector<float> h_n;
};

GpuRun run_gpu(const rnn::Model& start, const rnn::OptimizerOptions& opt, const Chunks& c, rnn::Kernel kernel) {
  const int64_t T = c.x[0].dim(0), B = c.x[0].dim(1);
  rnn::cuda::TrainerOptions o;
  o.max_steps = T;
  o.max_batch = B;
  o.kernel = kernel;
  o.optimizer = opt;
  o.clip = 1.0;
  rnn::cuda::Trainer trainer(start, o);
  const rnn::ModelConfig& cfg = start.config();
  const size_t state = static_cast<size_t>(cfg.num_layers * cfg.num_directions() * B * cfg.hidden_size);
  float *d_x = nullptr, *h[2] = {nullptr, nullptr};
  EXPECT_EQ(cudaMalloc(&d_x, c.x[0].values().size() * sizeof(float)), cudaSuccess);
  EXPECT_EQ(cudaMalloc(&h[0], state * sizeof(float)), cudaSuccess);
  EXPECT_EQ(cudaMalloc(&h[1], state * sizeof(float)), cudaSuccess);
  GpuRun r;
  for (size_t k = 0; k < c.x.size(); ++k) {
    EXPECT_EQ(cudaMemcpy(d_x, c.x[k].data(), c.x[k].values().size() * sizeof(float), cudaMemcpyHostToDevice),
              cudaSuccess);
    const float* h0 = k == 0 ? nullptr : h[(k + 1) % 2];
    r.losses.push_back(trainer.step(d_x, T, B, c.targets[k], h0, h[k % 2], nullptr).loss);
  }
  r.h_n.resize(state);
  EXPECT_EQ(cudaMemcpy(r.h_n.data(), h[(c.x.size() + 1) % 2], state * sizeof(float), cudaMemcpyDeviceToHost),
            cudaSuccess);
  r.model = trainer.model();
  cudaFree(d_x);
  cudaFree(h[0]);
  cudaFree(h[1]);
  return r;
}

class GpuTrainer : public ::testing::TestWithParam<std::tuple<rnn::OptimizerKind, rnn::Kernel>> {};

TEST_P(GpuTrainer, MatchesTheCpuTrainingStep) {
  if (rnn::cuda_device_count() == 0) GTEST_SKIP() << "no usable CUDA device on this machine";
  const auto [kind, kernel] = GetParam();
  rnn::ModelConfig cfg;
  cfg.input_size = 6;
  cfg.hidden_size = 20;
  cfg.num_layers = 2;
  cfg.output_size = 7;
  const rnn::Model start = rnn::Model::random(cfg, 42);
  rnn::OptimizerOptions opt;
  opt.kind = kind;
  opt.lr = kind == rnn::OptimizerKind::Sgd ? 0.1 : 0.01;
  opt.momentum = kind == rnn::OptimizerKind::Sgd ? 0.9 : 0.0;
  const Chunks chunks = make_chunks(4, 9, 3, 6, 7);

  rnn::Model cpu = start;
  rnn::Optimizer cpu_opt(cpu, opt);
  std::vector<double> cpu_losses;
  rnn::Tensor h;
  for (size_t k = 0; k < chunks.x.size(); ++k) {
    const auto s = rnn::train_step(cpu, cpu_opt, chunks.x[k], h.empty() ? nullptr : &h, chunks.targets[k], 1.0);
    cpu_losses.push_back(s.loss);
    h = s.h_n;
  }
  const GpuRun gpu = run_gpu(start, opt, chunks, kernel);
  for (size_t k = 0; k < cpu_losses.size(); ++k)
    EXPECT_NEAR(gpu.losses[k], cpu_losses[k], 1e-5 * cpu_losses[k]) << "chunk " << k;
  // SGD is linear in the gradients: the parameters agree closely. Adam
  // divides by sqrt(v), which magnifies float differences of tiny gradients.
  const double tol = kind == rnn::OptimizerKind::Sgd ? 1e-5 : 1e-4;
  const auto a = gpu.model.parameters();
  const auto b = cpu.parameters();
  for (size_t k = 0; k < a.size(); ++k) EXPECT_TRUE(testbed::close(*a[k].second, *b[k].second, tol)) << a[k].first;
  EXPECT_TRUE(testbed::close(rnn::Tensor(h.shape(), gpu.h_n), h, 1e-5)) << "h_n";

  const GpuRun again = run_gpu(start, opt, chunks, kernel);
  EXPECT_EQ(again.losses, gpu.losses);
  const auto c = again.model.parameters();
  for (size_t k = 0; k < a.size(); ++k) EXPECT_EQ(c[k].second->values(), a[k].second->values()) << a[k].first;
}

INSTANTIATE_TEST_SUITE_P(Optimizers, GpuTrainer,
                         ::testing::Combine(::testing::Values(rnn::OptimizerKind::Sgd, rnn::OptimizerKind::Adam),
                                            ::testing::Values(rnn::Kernel::Stepwise, rnn::Kernel::Persistent)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) == rnn::OptimizerKind::Sgd ? "sgd" : "adam") +
                                  "_" + rnn::kernel_name(std::get<1>(info.param));
                         });

TEST(GpuTrainerArgs, RefusesModelsWithoutHeadAndBadTargets) {
  if (rnn::cuda_device_count() == 0) GTEST_SKIP() << "no usable CUDA device on this machine";
  rnn::ModelConfig cfg;
  cfg.input_size = 2;
  cfg.hidden_size = 3;
  rnn::cuda::TrainerOptions o;
  o.max_steps = 2;
  o.max_batch = 1;
  EXPECT_THROW(rnn::cuda::Trainer(rnn::Model::random(cfg, 1), o), rnn::Error);
  cfg.output_size = 4;
  rnn::cuda::Trainer t(rnn::Model::random(cfg, 1), o);
  float* x = nullptr;
  ASSERT_EQ(cudaMalloc(&x, 4 * sizeof(float)), cudaSuccess);
  EXPECT_THROW(t.step(x, 2, 1, {-1, -1}, nullptr, nullptr, nullptr), rnn::Error);  // nothing counted
  EXPECT_THROW(t.step(x, 2, 1, {0, 4}, nullptr, nullptr, nullptr), rnn::Error);    // out of range
  EXPECT_THROW(t.step(x, 3, 1, {0, 1, 2}, nullptr, nullptr, nullptr), rnn::Error); // T beyond the plan
  cudaFree(x);
}

}  // namespace
