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

// n chunks of T steps, the last one shorter (as a text's last chunk is).
Chunks make_chunks(int n, int64_t T, int64_t B, int64_t I, int64_t O) {
  Chunks c;
  for (int k = 0; k < n; ++k) {
    const int64_t Tk = k == n - 1 ? T - 4 : T;
    c.x.push_back(testbed::random_tensor({Tk, B, I}, 100 + k));
    std::vector<int64_t> t(static_cast<size_t>(Tk * B));
    for (size_t i = 0; i < t.size(); ++i) t[i] = (i * 7 + k) % 5 == 0 ? -1 : static_cast<int64_t>((i * 3 + k) % O);
    c.targets.push_back(t);
  }
  return c;
}

constexpr double kClip = 0.1;  // below the gradients' norms here: clipping is exercised

struct GpuRun {
  std::vector<double> losses, norms;
  std::vector<int64_t> counts;
  rnn::Model model;
  std::vector<float> h_n;
};

GpuRun run_gpu(const rnn::Model& start, const rnn::OptimizerOptions& opt, const Chunks& c, rnn::Kernel kernel) {
  const int64_t T = c.x[0].dim(0), B = c.x[0].dim(1);
  rnn::cuda::TrainerOptions o;
  o.max_steps = T + 3;  // runs smaller than the trainer's plan
  o.max_batch = B;
  o.kernel = kernel;
  o.optimizer = opt;
  o.clip = kClip;
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
    const rnn::cuda::TrainStats st = trainer.step(d_x, c.x[k].dim(0), B, c.targets[k], h0, h[k % 2], nullptr);
    r.losses.push_back(st.loss);
    r.norms.push_back(st.grad_norm);
    r.counts.push_back(st.count);
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

// 0: 2 layers, one direction, tanh, biases; 1: bidirectional, relu, no
// biases, a head without bias.
rnn::ModelConfig variant(int v) {
  rnn::ModelConfig cfg;
  cfg.input_size = 6;
  cfg.hidden_size = 20;
  cfg.output_size = 7;
  if (v == 0) {
    cfg.num_layers = 2;
  } else {
    cfg.bidirectional = true;
    cfg.bias = false;
    cfg.output_bias = false;
    cfg.nonlinearity = rnn::Nonlinearity::Relu;
  }
  return cfg;
}

class GpuTrainer : public ::testing::TestWithParam<std::tuple<rnn::OptimizerKind, rnn::Kernel, int>> {};

TEST_P(GpuTrainer, MatchesTheCpuTrainingStep) {
  if (rnn::cuda_device_count() == 0) GTEST_SKIP() << "no usable CUDA device on this machine";
  const auto [kind, kernel, v] = GetParam();
  const rnn::ModelConfig cfg = variant(v);
  const rnn::Model start = rnn::Model::random(cfg, 42);
  rnn::OptimizerOptions opt;
  opt.kind = kind;
  opt.lr = kind == rnn::OptimizerKind::Sgd ? 0.1 : 0.01;
  opt.momentum = kind == rnn::OptimizerKind::Sgd ? 0.9 : 0.0;
  const Chunks chunks = make_chunks(4, 9, 3, 6, 7);

  rnn::Model cpu = start;
  rnn::Optimizer cpu_opt(cpu, opt);
  std::vector<rnn::TrainStepResult> cpu_steps;
  rnn::Tensor h;
  for (size_t k = 0; k < chunks.x.size(); ++k) {
    cpu_steps.push_back(
        rnn::train_step(cpu, cpu_opt, chunks.x[k], h.empty() ? nullptr : &h, chunks.targets[k], kClip));
    h = cpu_steps.back().h_n;
  }
  const GpuRun gpu = run_gpu(start, opt, chunks, kernel);
  for (size_t k = 0; k < cpu_steps.size(); ++k) {
    EXPECT_NEAR(gpu.losses[k], cpu_steps[k].loss, 1e-5 * cpu_steps[k].loss) << "chunk " << k;
    EXPECT_NEAR(gpu.norms[k], cpu_steps[k].grad_norm, 1e-5 * cpu_steps[k].grad_norm) << "chunk " << k;
    EXPECT_GT(cpu_steps[k].grad_norm, kClip) << "chunk " << k << ": clipping not exercised";
    EXPECT_EQ(gpu.counts[k], cpu_steps[k].count) << "chunk " << k;
  }
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
                                            ::testing::Values(rnn::Kernel::Stepwise, rnn::Kernel::Persistent),
                                            ::testing::Values(0, 1)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) == rnn::OptimizerKind::Sgd ? "sgd" : "adam") +
                                  "_" + rnn::kernel_name(std::get<1>(info.param)) +
                                  (std::get<2>(info.param) == 0 ? "_layers2" : "_bidir_relu_nobias");
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

// The device-aware loss_and_grads (the training step of rnn train-tag and
// rnn train-seq2seq on the GPU): the RNN's passes on the GPU, the head on
// the host; loss, every gradient, dh0 and dx close to the CPU's.
TEST(GpuLossAndGrads, MatchesTheCpu) {
  if (rnn::cuda_device_count() == 0) GTEST_SKIP() << "no usable CUDA device on this machine";
  rnn::ModelConfig c;
  c.input_size = 6;
  c.hidden_size = 40;
  c.num_layers = 2;
  c.bidirectional = true;
  c.output_size = 7;
  const rnn::Model m = rnn::Model::random(c, 5);
  const rnn::Tensor x = testbed::random_tensor({11, 4, 6}, 6), h0 = testbed::random_tensor({4, 4, 40}, 7, 0.5f);
  const std::vector<int64_t> len = {11, 3, 8, 6};
  std::vector<int64_t> targets(11 * 4, -1);
  for (int64_t t = 0; t < 11; ++t)
    for (int64_t b = 0; b < 4; ++b)
      if (t < len[static_cast<size_t>(b)]) targets[static_cast<size_t>(t * 4 + b)] = (t * 3 + b) % 7;
  const rnn::LossAndGrads cpu = rnn::loss_and_grads(m, x, &h0, targets, &len);
  for (rnn::Kernel k : {rnn::Kernel::Stepwise, rnn::Kernel::Persistent}) {
    rnn::ForwardOptions o;
    o.device = rnn::Device::Cuda;
    o.kernel = k;
    const rnn::LossAndGrads gpu = rnn::loss_and_grads(m, x, &h0, targets, &len, o);
    EXPECT_NEAR(gpu.loss, cpu.loss, 1e-5 * std::abs(cpu.loss)) << rnn::kernel_name(k);
    EXPECT_EQ(gpu.count, cpu.count);
    EXPECT_TRUE(testbed::close(gpu.dh0, cpu.dh0, 1e-4)) << rnn::kernel_name(k);
    EXPECT_TRUE(testbed::close(gpu.dx, cpu.dx, 1e-4)) << rnn::kernel_name(k);
    EXPECT_TRUE(testbed::close(gpu.h_n, cpu.h_n, 1e-5)) << rnn::kernel_name(k);
    const auto g = std::as_const(gpu.grads).parameters(), w = std::as_const(cpu.grads).parameters();
    ASSERT_EQ(g.size(), w.size());
    for (size_t i = 0; i < g.size(); ++i)
      EXPECT_TRUE(testbed::close(*g[i].second, *w[i].second, 1e-4)) << rnn::kernel_name(k) << " " << g[i].first;
  }
}

}  // namespace

namespace {

// The host API's GPU route: rnn::ChunkTrainer on Device::Cuda (weights,
// gradients, optimizer state and carried state on the device) against the
// same trainer on the CPU, over chunks that start fresh and carry state.
TEST(GpuChunkTrainer, MatchesTheCpuTrainer) {
  if (rnn::cuda_device_count() == 0) GTEST_SKIP() << "no usable CUDA device on this machine";
  rnn::Model start = rnn::Model::random(variant(0), 42);
  start.vocab = "vocab";
  rnn::OptimizerOptions opt;
  opt.kind = rnn::OptimizerKind::Sgd;
  opt.lr = 0.1;
  opt.momentum = 0.9;
  const Chunks chunks = make_chunks(4, 9, 3, 6, 7);
  rnn::ChunkTrainer cpu(start, opt, kClip, rnn::Device::Cpu, 9, 3), gpu(start, opt, kClip, rnn::Device::Cuda, 9, 3);
  EXPECT_EQ(gpu.device(), rnn::Device::Cuda);
  for (size_t k = 0; k < chunks.x.size(); ++k) {
    const bool fresh = k == 0 || k == 2;
    const double want = cpu.step(chunks.x[k], chunks.targets[k], fresh);
    EXPECT_NEAR(gpu.step(chunks.x[k], chunks.targets[k], fresh), want, 1e-5 * want) << "chunk " << k;
  }
  const rnn::Model a = gpu.model(), b = cpu.model();
  EXPECT_EQ(a.vocab, "vocab");
  const auto pa = a.parameters(), pb = b.parameters();
  for (size_t k = 0; k < pa.size(); ++k) EXPECT_TRUE(testbed::close(*pa[k].second, *pb[k].second, 1e-5)) << pa[k].first;
}

// rnn::generate greedy on the GPU (cuda::Stepper, the index kept on the
// device) picks what the CPU picks.
TEST(GpuGenerate, GreedyMatchesTheCpu) {
  if (rnn::cuda_device_count() == 0) GTEST_SKIP() << "no usable CUDA device on this machine";
  rnn::ModelConfig c;
  c.input_size = 9;
  c.hidden_size = 32;
  c.num_layers = 2;
  c.output_size = 9;
  const rnn::Model model = rnn::Model::random(c, 8);
  const std::vector<int64_t> prime = {3, 1, 4, 1, 5};
  EXPECT_EQ(rnn::generate(model, prime, 40, 0.0, 1, rnn::Device::Cuda),
            rnn::generate(model, prime, 40, 0.0, 1, rnn::Device::Cpu));
  const auto s = rnn::generate(model, prime, 40, 0.8, 5, rnn::Device::Cuda);
  EXPECT_EQ(s, rnn::generate(model, prime, 40, 0.8, 5, rnn::Device::Cuda));  // seeded
  for (int64_t i : s) EXPECT_TRUE(i >= 0 && i < 9);
}

}  // namespace
