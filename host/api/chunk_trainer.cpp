// host/api/chunk_trainer.cpp: rnn::ChunkTrainer, truncated BPTT with carried
// state: train_step() on the CPU, the CUDA backend's GpuChunkTrainer on the GPU.
#include <memory>

#include "engine/backend.hpp"
#include "rnn/error.hpp"
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
};

ChunkTrainer::ChunkTrainer(const Model& model, const OptimizerOptions& optimizer, double clip, Device device,
                           int64_t max_steps, int64_t max_batch)
    : impl_(std::make_unique<Impl>(model, optimizer, clip, resolve_device(device))) {
  if (max_steps < 1 || max_batch < 1) throw Error("options", "max_steps and max_batch must be at least 1");
  if (model.config().output_size < 1) throw Error("model", "training needs a model with an output head");
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
  TrainStepResult r = train_step(m.model, m.optimizer, x, m.h.empty() ? nullptr : &m.h, targets, m.clip);
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
