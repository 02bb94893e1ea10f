// host/cuda/trainer.cpp: rnn::cuda::Trainer, training on the GPU over the
// caller's device buffers: one cuda_detail::DeviceModel (device_model.hpp)
// of max_steps x max_batch, a step its forward pass, the head on every
// step's output, the backward pass, clipping and the update.
#include <cmath>
#include <string>
#include <vector>

#include "device_model.hpp"
#include "rnn/cuda.hpp"

namespace rnn::cuda {

struct Trainer::Impl {
  Impl(const Model& model, const TrainerOptions& o)
      : options(o), dm(model, o.optimizer, o.kernel, o.max_steps, o.max_batch) {}
  TrainerOptions options;
  cuda_detail::DeviceModel dm;
  int64_t steps = 0;
};

namespace {

const Model& checked(const Model& model, const TrainerOptions& options) {
  if (!model.has_head()) throw Error("model", "has no output head (fc.weight): nothing to train against");
  if (options.max_steps < 1 || options.max_batch < 1)
    throw Error("options", "max_steps and max_batch must be at least 1");
  Optimizer check(model, options.optimizer);  // validates the optimizer settings
  (void)check;
  return model;
}

}  // namespace

Trainer::Trainer(const Model& model, const TrainerOptions& options)
    : impl_(std::make_unique<Impl>(checked(model, options), options)) {}

Trainer::~Trainer() = default;
Trainer::Trainer(Trainer&&) noexcept = default;
Trainer& Trainer::operator=(Trainer&&) noexcept = default;
int64_t Trainer::steps() const noexcept { return impl_->steps; }

TrainStats Trainer::step(const float* x, int64_t T, int64_t B, const std::vector<int64_t>& targets, const float* h0,
                         float* h_n, cudaStream_t stream) {
  Impl& t = *impl_;
  const int64_t rows = T * B;
  if (T < 1 || T > t.options.max_steps || B < 1 || B > t.options.max_batch)
    throw Error("args", "T = " + std::to_string(T) + ", B = " + std::to_string(B) + " exceed the trainer's " +
                            std::to_string(t.options.max_steps) + " x " + std::to_string(t.options.max_batch));
  if (static_cast<int64_t>(targets.size()) != rows)
    throw Error("targets", "holds " + std::to_string(targets.size()) + " targets for T*B = " + std::to_string(rows));
  const int64_t O = t.dm.config().output_size;
  int count = 0;
  for (int64_t target : targets) {
    if (target >= O) throw Error("targets", "target " + std::to_string(target) + " is outside [0, " +
                                                std::to_string(O) + ")");
    count += target >= 0;
  }
  if (count == 0) throw Error("targets", "none is counted (all -1)");
  const int32_t* t32 = t.dm.upload_targets(targets, stream);
  t.dm.forward(x, T, B, h0, nullptr, h_n, stream);
  t.dm.head(t.dm.y(), static_cast<int>(rows), t32, count, t.dm.dy(), nullptr, stream);
  t.dm.backward(t.dm.dy(), nullptr, nullptr, nullptr, stream);
  const double norm = cuda_detail::clip_and_update({&t.dm}, t.options.clip, stream);
  ++t.steps;
  TrainStats s;
  s.loss = t.dm.mean_loss(static_cast<int>(rows), count, stream);
  s.count = count;
  s.grad_norm = norm;
  return s;
}

Model Trainer::model() const { return impl_->dm.download(); }

}  // namespace rnn::cuda
