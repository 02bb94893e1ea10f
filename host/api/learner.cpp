// host/api/learner.cpp: rnn::Learner, rnn::Seq2SeqLearner and
// rnn::ChunkTrainer: the inputs checked here, then one update through the
// engine's learner for the device (host/engine/learner.hpp).
#include <map>
#include <memory>
#include <string>

#include "api/inputs.hpp"
#include "engine/check_model.hpp"
#include "engine/learner.hpp"
#include "rnn/error.hpp"
#include "rnn/learner.hpp"
#include "rnn/limits.hpp"
#include "rnn/train.hpp"

namespace rnn {

namespace {

LearnOptions resolved(const LearnOptions& options) {
  LearnOptions o = options;
  o.device = resolve_device(options.device);
  detail::check_optimizer_options(o.optimizer);  // before anything is made
  return o;
}

// What a learner keeps of the model it was given besides the engine's
// copy: its shape (to check inputs against) and its labels.
struct Given {
  ModelConfig config;
  std::string vocab;
  std::map<std::string, std::string> metadata;
  Tensor embedding;  // not trained (not among parameters()), kept with the model
};

// The model validated (rnn::Error "model"), with a head unless it is an
// encoder.
Given given_of(const Model& model, bool encoder = false) {
  detail::check_model(model);
  if (!encoder && !model.has_head())
    throw Error("model", "has no output head (fc.weight): nothing to train against");
  return Given{model.config(), model.vocab, model.metadata, model.embedding};
}

// The model's weights from `trained`, its vocab, metadata and embedding
// from `given`.
Model labelled(Model trained, const Given& given) {
  trained.vocab = given.vocab;
  trained.metadata = given.metadata;
  trained.embedding = given.embedding;
  return trained;
}

}  // namespace

// ---- Learner ------------------------------------------------------------------------

struct Learner::Impl {
  Given given;
  LearnOptions options;
  std::unique_ptr<detail::Learner> engine;
};

Learner::Learner(const Model& model, const LearnOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->given = given_of(model);
  impl_->options = resolved(options);
  impl_->engine = detail::make_learner(model, impl_->options);
}

Learner::~Learner() = default;
Learner::Learner(Learner&&) noexcept = default;
Learner& Learner::operator=(Learner&&) noexcept = default;

StepStats Learner::step(const Tensor& x, const std::vector<int64_t>* lengths, const std::vector<int64_t>& targets) {
  const ModelConfig& c = impl_->given.config;
  detail::check_training_inputs(c, x, nullptr, targets, lengths);
  detail::counted_targets(targets, c.output_size);
  return impl_->engine->every_step(x, lengths, targets, /*carry=*/false);
}

StepStats Learner::classify(const Tensor& x, const std::vector<int64_t>& lengths,
                            const std::vector<int64_t>& labels) {
  detail::check_inputs_fit(impl_->given.config, x, nullptr, &lengths, /*batch_first=*/false);
  detail::check_labels(labels, x.dim(1), impl_->given.config.output_size);
  return impl_->engine->final_state(x, lengths, labels);
}

Model Learner::model() const { return labelled(impl_->engine->model(), impl_->given); }
Device Learner::device() const noexcept { return impl_->options.device; }

// ---- Seq2SeqLearner -----------------------------------------------------------------------

struct Seq2SeqLearner::Impl {
  Given encoder, decoder;
  bool context = false;
  LearnOptions options;
  std::unique_ptr<detail::PairLearner> engine;
};

Seq2SeqLearner::Seq2SeqLearner(const Seq2SeqModel& model, const LearnOptions& options)
    : impl_(std::make_unique<Impl>()) {
  impl_->encoder = given_of(model.encoder, /*encoder=*/true);
  impl_->decoder = given_of(model.decoder);
  impl_->context = model.context;
  detail::check_seq2seq_pair(model.encoder.config(), model.decoder.config(), model.context);
  impl_->options = resolved(options);
  impl_->engine = detail::make_pair_learner(model, impl_->options);
}

Seq2SeqLearner::~Seq2SeqLearner() = default;
Seq2SeqLearner::Seq2SeqLearner(Seq2SeqLearner&&) noexcept = default;
Seq2SeqLearner& Seq2SeqLearner::operator=(Seq2SeqLearner&&) noexcept = default;

StepStats Seq2SeqLearner::step(const Tensor& src, const std::vector<int64_t>& src_lengths, const Tensor& dec_in,
                               const std::vector<int64_t>& tgt_lengths, const std::vector<int64_t>& targets) {
  const Impl& m = *impl_;
  detail::check_seq2seq_step(m.encoder.config, m.decoder.config, m.context, src, src_lengths, dec_in, tgt_lengths,
                             targets);
  detail::counted_targets(targets, m.decoder.config.output_size);
  return impl_->engine->step(src, src_lengths, dec_in, tgt_lengths, targets);
}

Seq2SeqModel Seq2SeqLearner::model() const {
  Seq2SeqModel m = impl_->engine->model();
  m.encoder = labelled(std::move(m.encoder), impl_->encoder);
  m.decoder = labelled(std::move(m.decoder), impl_->decoder);
  m.context = impl_->context;
  return m;
}

Device Seq2SeqLearner::device() const noexcept { return impl_->options.device; }

// ---- ChunkTrainer ---------------------------------------------------------------------------

struct ChunkTrainer::Impl {
  Given given;
  Device device = Device::Cpu;
  int64_t max_steps = 0, max_batch = 0;
  int64_t carried_batch = 0;  // the sequences of the state carried to the next chunk (0: none yet)
  std::unique_ptr<detail::Learner> engine;
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

}  // namespace

ChunkTrainer::ChunkTrainer(const Model& model, const OptimizerOptions& optimizer, double clip, Device device,
                           int64_t max_steps, int64_t max_batch)
    : impl_(std::make_unique<Impl>()) {
  if (max_steps < 1 || max_batch < 1) throw Error("options", "max_steps and max_batch must be at least 1");
  impl_->given = given_of(model);
  LearnOptions o;
  o.optimizer = optimizer;
  o.clip = clip;
  o.device = device;
  o = resolved(o);
  check_memory(model, o.device, max_steps, max_batch);
  impl_->engine = detail::make_learner(model, o);
  impl_->engine->reserve(max_steps, max_batch);  // on the GPU, sized once, here
  impl_->device = o.device;
  impl_->max_steps = max_steps;
  impl_->max_batch = max_batch;
}

ChunkTrainer::~ChunkTrainer() = default;
ChunkTrainer::ChunkTrainer(ChunkTrainer&&) noexcept = default;
ChunkTrainer& ChunkTrainer::operator=(ChunkTrainer&&) noexcept = default;

double ChunkTrainer::step(const Tensor& x, const std::vector<int64_t>& targets, bool fresh) {
  Impl& m = *impl_;
  detail::check_training_inputs(m.given.config, x, nullptr, targets, nullptr);
  if (x.dim(0) > m.max_steps || x.dim(1) > m.max_batch)
    throw Error("x", "shape " + shape_string(x.shape()) + " is larger than the trainer's chunks of " +
                         std::to_string(m.max_steps) + " x " + std::to_string(m.max_batch));
  if (!fresh && m.carried_batch != 0 && x.dim(1) != m.carried_batch)
    throw Error("x", "holds " + std::to_string(x.dim(1)) + " sequences; the state carried from the previous chunk "
                     "holds " + std::to_string(m.carried_batch) + " (pass fresh = true to start from zeros)");
  detail::counted_targets(targets, m.given.config.output_size);
  const double loss = m.engine->every_step(x, nullptr, targets, /*carry=*/!fresh).loss;
  m.carried_batch = x.dim(1);
  return loss;
}

Model ChunkTrainer::model() const { return labelled(impl_->engine->model(), impl_->given); }
Device ChunkTrainer::device() const noexcept { return impl_->device; }

}  // namespace rnn
