// host/cuda/stepper.cpp: rnn::cuda::Stepper, the step API on the GPU.
// Owns the model's weights in the step kernel's layout, two state buffers
// used in turn (the kernel reads one and writes the other), the logits and
// the sampled indices.
#include <vector>

#include "../../kernels/step.cuh"
#include "engine/check_model.hpp"
#include "buffer.hpp"
#include "check.hpp"
#include "rnn/cuda.hpp"

namespace rnn::cuda {

using cuda_detail::DeviceBuffer;

struct Stepper::Impl {
  ModelConfig config;
  int64_t batch = 1;
  DeviceBuffer weights, state[2], logits, sample;
  kernels::StepParams params;  // weight pointers filled; per-step fields set by each call
  int current = 0;             // the state buffer holding the latest states
  int blocks = 0;
  uint64_t steps = 0;

  void launch(const float* x, const int32_t* index, bool sample_next, float temperature, uint64_t seed,
              cudaStream_t stream) {
    kernels::StepParams p = params;
    p.x = x;
    p.index = index;
    p.h_in = state[current].as<float>();
    p.h_out = state[current ^ 1].as<float>();
    p.sample = sample_next ? sample.as<int32_t>() : nullptr;
    p.temperature = temperature;
    p.seed = seed;
    p.counter = steps;
    RNN_LAUNCH_CHECK(kernels::launch_step(p, blocks, stream));
    current ^= 1;
    ++steps;
  }
};

namespace {

// The step kernel's weights in one device buffer (per layer W_ih, W_hh and
// b_ih + b_hh, then the head's W_hy and b_hy), and its parameters pointing
// into it.
void upload_weights(const Model& model, int64_t batch, DeviceBuffer& weights, kernels::StepParams& p) {
  const ModelConfig& c = model.config();
  const int64_t H = c.hidden_size, O = c.output_size;
  std::vector<float> host;
  std::vector<size_t> at;
  auto place = [&](const Tensor& t) {
    at.push_back(host.size());
    host.insert(host.end(), t.values().begin(), t.values().end());
  };
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const CellWeights& w = model.cell(l, 0);
    place(w.w_ih);
    place(w.w_hh);
    Tensor bias({H});
    if (c.bias)
      for (int64_t i = 0; i < H; ++i) bias[i] = w.b_ih[i] + w.b_hh[i];
    place(bias);
  }
  if (O > 0) {
    place(model.head().weight);
    place(model.head().bias.empty() ? Tensor({O}) : model.head().bias);
  }
  weights = DeviceBuffer(host.size() * sizeof(float));
  RNN_CUDA_CHECK(cudaMemcpy(weights.get(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
  const float* base = weights.as<float>();
  p.L = static_cast<int>(c.num_layers);
  p.B = static_cast<int>(batch);
  p.H = static_cast<int>(H);
  p.O = static_cast<int>(O);
  p.relu = c.nonlinearity == Nonlinearity::Relu;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    p.layers[l].w_ih = base + at[3 * l];
    p.layers[l].w_hh = base + at[3 * l + 1];
    p.layers[l].bias = c.bias ? base + at[3 * l + 2] : nullptr;
    p.layers[l].k = static_cast<int>(c.layer_input_size(l));
  }
  if (O > 0) {
    p.w_hy = base + at[3 * c.num_layers];
    p.b_hy = base + at[3 * c.num_layers + 1];
  }
}

}  // namespace

Stepper::Stepper(const Model& model, int64_t batch) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  rnn::detail::check_model(model);
  const ModelConfig& c = model.config();
  if (c.bidirectional)
    throw Error("model", "is bidirectional: its reverse direction needs the whole sequence, it cannot be stepped");
  if (c.num_layers > 8) throw Error("model", "has more than 8 layers: the GPU step kernel takes at most 8");
  if (batch < 1) throw Error("batch", "must be at least 1");
  s.config = c;
  s.batch = batch;
  upload_weights(model, batch, s.weights, s.params);
  const int64_t H = c.hidden_size, O = c.output_size;
  const size_t state = static_cast<size_t>(c.num_layers * batch * H) * sizeof(float);
  s.state[0] = DeviceBuffer(state);
  s.state[1] = DeviceBuffer(state);
  s.logits = DeviceBuffer(static_cast<size_t>(std::max<int64_t>(O, 1) * batch) * sizeof(float));
  s.sample = DeviceBuffer(static_cast<size_t>(batch) * sizeof(int32_t));
  RNN_CUDA_CHECK(kernels::step_grid(&s.blocks));
  s.params.logits = s.logits.as<float>();
  reset(nullptr, nullptr);
  RNN_CUDA_CHECK(cudaDeviceSynchronize());
}

Stepper::~Stepper() = default;
Stepper::Stepper(Stepper&&) noexcept = default;
Stepper& Stepper::operator=(Stepper&&) noexcept = default;

void Stepper::reset(const float* h0, cudaStream_t stream) {
  Impl& s = *impl_;
  if (h0)
    RNN_CUDA_CHECK(cudaMemcpyAsync(s.state[s.current].get(), h0, s.state[s.current].bytes(), cudaMemcpyDeviceToDevice,
                                   stream));
  else
    RNN_CUDA_CHECK(cudaMemsetAsync(s.state[s.current].get(), 0, s.state[s.current].bytes(), stream));
}

void Stepper::step(const float* x, cudaStream_t stream) {
  if (!x) throw Error("x", "is null");
  impl_->launch(x, nullptr, false, 0.0f, 0, stream);
}

void Stepper::step_one_hot(const int32_t* index, cudaStream_t stream) {
  if (!index) throw Error("index", "is null");
  impl_->launch(nullptr, index, false, 0.0f, 0, stream);
}

const int32_t* Stepper::step_and_sample(const int32_t* index, float temperature, uint64_t seed, cudaStream_t stream) {
  if (!index) throw Error("index", "is null");
  if (impl_->config.output_size == 0) throw Error("model", "has no output head to sample from");
  if (impl_->config.output_size > impl_->config.input_size)
    throw Error("model", "has " + std::to_string(impl_->config.output_size) + " outputs but " +
                             std::to_string(impl_->config.input_size) +
                             " inputs: a sampled index must be a valid one-hot input to feed back");
  if (!(temperature >= 0.0f)) throw Error("temperature", "must be 0 (greedy) or more");
  impl_->launch(nullptr, index, true, temperature, seed, stream);
  return impl_->sample.as<int32_t>();
}

const float* Stepper::state() const noexcept { return impl_->state[impl_->current].as<float>(); }
const float* Stepper::logits() const noexcept { return impl_->logits.as<float>(); }
int64_t Stepper::batch() const noexcept { return impl_->batch; }

}  // namespace rnn::cuda
