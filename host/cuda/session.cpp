// host/cuda/session.cpp: the GPU halves of rnn::ChunkTrainer and
// rnn::generate: cuda::Trainer and cuda::Stepper with the device buffers
// they are fed from, so that no caller of the host API handles device
// memory.
#include <cuda_runtime.h>

#include "gpu.hpp"
#include "buffer.hpp"
#include "check.hpp"
#include "rnn/cuda.hpp"

namespace rnn::detail {

using cuda_detail::DeviceBuffer;

struct CudaChunkTrainer::State {
  cuda::Trainer trainer;
  DeviceBuffer x;         // [max_steps, max_batch, I]
  DeviceBuffer state[2];  // [L*D, max_batch, H]: the carried state, written in turn
  int current = 0;        // which of state[] holds the last chunk's h_n
};

namespace {

cuda::TrainerOptions trainer_options(const OptimizerOptions& o, double clip, int64_t max_steps, int64_t max_batch) {
  cuda::TrainerOptions to;
  to.max_steps = max_steps;
  to.max_batch = max_batch;
  to.optimizer = o;
  to.clip = clip;
  return to;
}

}  // namespace

CudaChunkTrainer::CudaChunkTrainer(const Model& model, const OptimizerOptions& optimizer, double clip,
                                   int64_t max_steps, int64_t max_batch) {
  const ModelConfig& c = model.config();
  const size_t x = static_cast<size_t>(max_steps * max_batch * c.input_size) * sizeof(float);
  const size_t h =
      static_cast<size_t>(c.num_layers * c.num_directions() * max_batch * c.hidden_size) * sizeof(float);
  s_.reset(new State{cuda::Trainer(model, trainer_options(optimizer, clip, max_steps, max_batch)), DeviceBuffer(x),
                     {DeviceBuffer(h), DeviceBuffer(h)}, 0});
}

CudaChunkTrainer::~CudaChunkTrainer() = default;

double CudaChunkTrainer::step(const Tensor& x, const std::vector<int64_t>& targets, bool fresh) {
  if (x.values().size() * sizeof(float) > s_->x.bytes())
    throw Error("x", "shape " + shape_string(x.shape()) + " is larger than the trainer's chunks");
  RNN_CUDA_CHECK(cudaMemcpy(s_->x.get(), x.data(), x.values().size() * sizeof(float), cudaMemcpyHostToDevice));
  const float* h0 = fresh ? nullptr : s_->state[s_->current].as<float>();
  s_->current ^= 1;
  return s_->trainer.step(s_->x.as<float>(), x.dim(0), x.dim(1), targets, h0, s_->state[s_->current].as<float>(),
                          nullptr)
      .loss;
}

Model CudaChunkTrainer::model() const { return s_->trainer.model(); }

std::vector<int64_t> cuda_generate(const Model& model, const std::vector<int64_t>& prime, int64_t length,
                                   double temperature, uint64_t seed) {
  cuda::Stepper gpu(model, 1);
  DeviceBuffer index(sizeof(int32_t));
  auto put = [&index](int64_t i) {
    const int32_t v = static_cast<int32_t>(i);
    RNN_CUDA_CHECK(cudaMemcpy(index.get(), &v, sizeof v, cudaMemcpyHostToDevice));
  };
  for (size_t k = 0; k + 1 < prime.size(); ++k) {
    put(prime[k]);
    gpu.step_one_hot(index.as<int32_t>(), nullptr);
  }
  put(prime.back());
  std::vector<int64_t> out;
  const int32_t* next = index.as<int32_t>();
  for (int64_t n = 0; n < length; ++n) {
    next = gpu.step_and_sample(next, static_cast<float>(temperature), seed, nullptr);
    int32_t pick = 0;
    RNN_CUDA_CHECK(cudaMemcpy(&pick, next, sizeof pick, cudaMemcpyDeviceToHost));
    out.push_back(pick);
  }
  return out;
}

}  // namespace rnn::detail
