// host/api/chunk_trainer.cpp: rnn::ChunkTrainer, truncated BPTT with carried
// state: train_step() on the CPU (fast or reference), the CUDA backend's GpuChunkTrainer on the GPU.
#include <memory>
#include <string>

#include "api/inputs.hpp"
#include "api/train_fast.hpp"
#include "engine/backend.hpp"
#include "rnn/error.hpp"
#include "rnn/limits.hpp"
#include "rnn/train.hpp"

namespace rnn {

struct ChunkTrainer::Impl {
  Impl(const Model& m, const OptimizerOptions& o, double c, Device d) : model(m), optimizer(m, o), clip(c), device(d) {}
  Model model;  // the CPU's weights; on the GPU, only the vocab and metadata are read
  Optimizer optimizer;
  double clip = 0.0;
  Device device = Device::Cpu;
  Tensor h;  // the carried state on the CPU ([L*D, B, H]; empty: zeros)
  std::unique_ptr<detail::GpuChunkTrainer> gpu;  // set when training on the GPU
  detail::FastTrainState fast;  // the fast CPU backend's buffers, kept for the whole run
};

namespace {

// Refuses, before anything is allocated, a run whose host memory would not
// fit: the model's copy, and on the CPU one training step's working memory.
void check_memory(const Model& model, Device device, int64_t max_steps, int64_t max_batch) {
  const ModelConfig& c = model.config();
  uint64_t bytes = checked_mul(c.parameter_count(), sizeof(float), "model");
  if (device != Device::Cuda) {
    const uint64_t step = train_step_bytes(c, max_steps, max_batch, "model");
    if (__builtin_add_overflow(bytes, step, &bytes)) throw Error("model", "size too large: overflows 64 bits");
  }
  check_host_bytes(bytes, "model", [&] {
    return "training a model of " + std::to_string(c.parameter_count()) + " parameters on chunks of " +
           std::to_string(max_steps) + " x " + std::to_string(max_batch);
  });
}

Device checked(const Model& model, Device device, int64_t max_steps, int64_t max_batch) {
  if (max_steps < 1 || max_batch < 1) throw Error("options", "max_steps and max_batch must be at least 1");
  if (model.config().output_size < 1) throw Error("model", "training needs a model with an output head");
  const Device d = resolve_device(device);
  check_memory(model, d, max_steps, max_batch);
  return d;
}

}  // namespace

ChunkTrainer::ChunkTrainer(const Model& model, const OptimizerOptions& optimizer, double clip, Device device,
                           int64_t max_steps, int64_t max_batch)
    : impl_(std::make_unique<Impl>(model, optimizer, clip, checked(model, device, max_steps, max_batch))) {
  if (impl_->device == Device::Cuda)
    impl_->gpu = detail::gpu().chunk_trainer(model, optimizer, clip, max_steps, max_batch);
}

ChunkTrainer::~ChunkTrainer() = default;
ChunkTrainer::ChunkTrainer(ChunkTrainer&&) noexcept = default;
ChunkTrainer& ChunkTrainer::operator=(ChunkTrainer&&) noexcept = default;

double ChunkTrainer::step(const Tensor& x, const std::vector<int64_t>& targets, bool fresh) {
  Impl& m = *impl_;
  if (m.gpu) return m.gpu->step(x, targets, fresh);
  if (fresh) m.h = Tensor();
  const Tensor* h0 = m.h.empty() ? nullptr : &m.h;
  TrainStepResult r;
  if (m.device == Device::Cpu && x.rank() == 3 && detail::fast_cpu_fits(m.model.config(), x.dim(0), x.dim(1))) {
    r = detail::fast_train_step(m.model, m.optimizer, x, h0, nullptr, targets, m.clip, m.fast);
  } else {
    ForwardOptions on;
    on.device = m.device;  // Cpu (the fast backend) or Reference
    r = train_step(m.model, m.optimizer, x, h0, nullptr, targets, m.clip, on);
  }
  m.h = std::move(r.h_n);
  return r.loss;
}

Model ChunkTrainer::model() const {
  if (impl_->gpu) {
    Model m = impl_->gpu->model();
    m.vocab = impl_->model.vocab;
    m.metadata = impl_->model.metadata;
    return m;
  }
  return impl_->model;
}

Device ChunkTrainer::device() const noexcept { return impl_->device; }

}  // namespace rnn
