// tests/host/cuda/test_stepper_gpu.cpp: the GPU step API against the CPU
// one: states and logits step by step (dense and one-hot inputs), greedy
// generation token for token, seeded sampling reproducible. Skips without
// a usable GPU.
#include <cuda_runtime.h>

#include "rnn/cuda.hpp"
#include "testbed.hpp"

namespace {

bool have_gpu() { return rnn::cuda_device_count() > 0; }

rnn::Model char_model(int64_t layers = 2) {
  rnn::ModelConfig c;
  c.input_size = 11;
  c.hidden_size = 40;
  c.num_layers = layers;
  c.output_size = 11;
  return rnn::Model::random(c, 77);
}

template <class T>
std::vector<T> down(const T* d, size_t n) {
  std::vector<T> h(n);
  EXPECT_EQ(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return h;
}

TEST(GpuStepper, DenseAndOneHotStepsMatchTheCpuStepper) {
  if (!have_gpu()) GTEST_SKIP() << "no usable CUDA device on this machine";
  const rnn::Model m = char_model();
  const int64_t B = 3, I = 11, H = 40, L = 2, O = 11;
  rnn::Stepper cpu(m, B);
  rnn::cuda::Stepper gpu(m, B);
  float* d_x = nullptr;
  int32_t* d_idx = nullptr;
  ASSERT_EQ(cudaMalloc(&d_x, B * I * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&d_idx, B * sizeof(int32_t)), cudaSuccess);
  for (int t = 0; t < 8; ++t) {
    if (t % 2 == 0) {
      const rnn::Tensor x = testbed::random_tensor({B, I}, 200 + t);
      ASSERT_EQ(cudaMemcpy(d_x, x.data(), B * I * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
      cpu.step(x);
      gpu.step(d_x, nullptr);
    } else {
      const std::vector<int64_t> idx = {t % I, (3 * t) % I, (5 * t + 1) % I};
      const std::vector<int32_t> idx32(idx.begin(), idx.end());
      ASSERT_EQ(cudaMemcpy(d_idx, idx32.data(), B * sizeof(int32_t), cudaMemcpyHostToDevice), cudaSuccess);
      cpu.step_one_hot(idx);
      gpu.step_one_hot(d_idx, nullptr);
    }
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_TRUE(testbed::close(rnn::Tensor({L, B, H}, down(gpu.state(), L * B * H)), cpu.state(), 1e-5)) << t;
    EXPECT_TRUE(testbed::close(rnn::Tensor({B, O}, down(gpu.logits(), B * O)), cpu.logits(), 1e-5)) << t;
  }
  cudaFree(d_x);
  cudaFree(d_idx);
}

TEST(GpuStepper, GreedyGenerationMatchesTheCpu) {
  if (!have_gpu()) GTEST_SKIP() << "no usable CUDA device on this machine";
  const rnn::Model m = char_model(1);
  rnn::Stepper cpu(m, 1);
  rnn::cuda::Stepper gpu(m, 1);
  int32_t* d_idx = nullptr;
  ASSERT_EQ(cudaMalloc(&d_idx, sizeof(int32_t)), cudaSuccess);
  const int32_t first = 4;
  ASSERT_EQ(cudaMemcpy(d_idx, &first, sizeof(int32_t), cudaMemcpyHostToDevice), cudaSuccess);
  int64_t cpu_next = first;
  const int32_t* next = d_idx;
  for (int t = 0; t < 30; ++t) {
    cpu.step_one_hot({cpu_next});
    const rnn::Tensor z = cpu.logits();
    int64_t arg = 0;
    for (int64_t k = 1; k < z.numel(); ++k)
      if (z[k] > z[arg]) arg = k;
    cpu_next = arg;
    next = gpu.step_and_sample(next, 0.0f, 0, nullptr);
    EXPECT_EQ(down(next, 1)[0], cpu_next) << "step " << t;
  }
  cudaFree(d_idx);
}

TEST(GpuStepper, SeededSamplingIsReproducible) {
  if (!have_gpu()) GTEST_SKIP() << "no usable CUDA device on this machine";
  const rnn::Model m = char_model();
  auto generate = [&](uint64_t seed) {
    rnn::cuda::Stepper s(m, 2);
    int32_t* d_idx = nullptr;
    EXPECT_EQ(cudaMalloc(&d_idx, 2 * sizeof(int32_t)), cudaSuccess);
    const int32_t start[2] = {1, 2};
    EXPECT_EQ(cudaMemcpy(d_idx, start, sizeof start, cudaMemcpyHostToDevice), cudaSuccess);
    std::vector<int32_t> out;
    const int32_t* next = d_idx;
    for (int t = 0; t < 40; ++t) {
      next = s.step_and_sample(next, 1.0f, seed, nullptr);
      for (int32_t v : down(next, 2)) {
        EXPECT_GE(v, 0);
        EXPECT_LT(v, 11);
        out.push_back(v);
      }
    }
    cudaFree(d_idx);
    return out;
  };
  EXPECT_EQ(generate(5), generate(5));
  EXPECT_NE(generate(5), generate(6));
}

TEST(GpuStepper, RefusesBidirectionalModels) {
  if (!have_gpu()) GTEST_SKIP() << "no usable CUDA device on this machine";
  rnn::ModelConfig c;
  c.input_size = 2;
  c.hidden_size = 3;
  c.bidirectional = true;
  EXPECT_THROW(rnn::cuda::Stepper(rnn::Model::random(c, 1)), rnn::Error);
}

// A sampled index is fed back as a one-hot input: a head wider than the
// input would index past W_ih.
TEST(GpuStepper, SamplingRefusesAHeadWiderThanTheInput) {
  if (!have_gpu()) GTEST_SKIP() << "no usable CUDA device on this machine";
  rnn::ModelConfig c;
  c.input_size = 4;
  c.hidden_size = 8;
  c.output_size = 6;
  rnn::cuda::Stepper s(rnn::Model::random(c, 2));
  int32_t* index = nullptr;
  ASSERT_EQ(cudaMalloc(&index, sizeof(int32_t)), cudaSuccess);
  ASSERT_EQ(cudaMemset(index, 0, sizeof(int32_t)), cudaSuccess);
  try {
    s.step_and_sample(index, 0.0f, 0, nullptr);
    ADD_FAILURE() << "no error";
  } catch (const rnn::Error& e) {
    EXPECT_EQ(e.subject(), "model");
    EXPECT_NE(e.message().find("6 outputs but 4 inputs"), std::string::npos) << e.what();
  }
  cudaFree(index);
}

}  // namespace
