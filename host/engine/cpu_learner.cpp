// host/engine/cpu_learner.cpp: the CPU's learners (host/engine/learner.hpp):
// the model and its optimizer state in host memory, each update one of the
// host API's steps (train_step on the fast backend with buffers kept for
// the whole run, classify_step, seq2seq_step), so a command that trains
// through a Learner computes exactly what those functions compute.
#include <memory>
#include <utility>

#include "api/inputs.hpp"
#include "api/train_fast.hpp"
#include "engine/backend.hpp"
#include "engine/learner.hpp"
#include "rnn/classify.hpp"
#include "rnn/error.hpp"

namespace rnn::detail {

namespace {

class CpuLearner final : public Learner {
 public:
  CpuLearner(const Model& model, const LearnOptions& o) : model_(model), optimizer_(model, o.optimizer), o_(o) {}

  StepStats every_step(const Tensor& x, const std::vector<int64_t>* lengths, const std::vector<int64_t>& targets,
                       bool carry) override {
    if (!carry) h_ = Tensor();
    const Tensor* h0 = h_.empty() ? nullptr : &h_;
    TrainStepResult r;
    if (o_.device == Device::Cpu && fast_cpu_fits(model_.config(), x.dim(0), x.dim(1))) {
      r = fast_train_step(model_, optimizer_, x, h0, lengths, targets, o_.clip, fast_);
    } else {
      ForwardOptions on;
      on.device = o_.device;
      r = train_step(model_, optimizer_, x, h0, lengths, targets, o_.clip, on);
    }
    h_ = std::move(r.h_n);
    StepStats s;
    s.loss = r.loss;
    s.count = r.count;
    s.grad_norm = r.grad_norm;
    return s;
  }

  StepStats final_state(const Tensor& x, const std::vector<int64_t>& lengths,
                        const std::vector<int64_t>& labels) override {
    ForwardOptions on;
    on.device = o_.device;
    on.kernel = o_.kernel;
    const ClassifyStepResult r = classify_step(model_, optimizer_, x, lengths, labels, o_.clip, on);
    h_ = Tensor();
    StepStats s;
    s.loss = r.loss;
    s.count = static_cast<int64_t>(labels.size());
    s.correct = r.correct;
    s.grad_norm = r.grad_norm;
    return s;
  }

  Model model() const override { return model_; }

 private:
  Model model_;
  Optimizer optimizer_;
  LearnOptions o_;
  Tensor h_;             // the carried state [L*D, B, H] (empty: zeros)
  FastTrainState fast_;  // the fast backend's buffers, kept for the whole run
};

class CpuPairLearner final : public PairLearner {
 public:
  CpuPairLearner(const Seq2SeqModel& model, const LearnOptions& o)
      : model_(model), encoder_(model.encoder, o.optimizer), decoder_(model.decoder, o.optimizer), o_(o) {}

  StepStats step(const Tensor& src, const std::vector<int64_t>& src_lengths, const Tensor& dec_in,
                 const std::vector<int64_t>& tgt_lengths, const std::vector<int64_t>& targets) override {
    const Seq2SeqStepResult r =
        seq2seq_step(model_, encoder_, decoder_, src, src_lengths, dec_in, tgt_lengths, targets, o_.clip, o_.device);
    StepStats s;
    s.loss = r.loss;
    s.count = r.count;
    s.grad_norm = r.grad_norm;
    return s;
  }

  Seq2SeqModel model() const override { return model_; }

 private:
  Seq2SeqModel model_;
  Optimizer encoder_, decoder_;
  LearnOptions o_;
};

}  // namespace

std::unique_ptr<Learner> make_learner(const Model& model, const LearnOptions& options) {
  if (options.device == Device::Cuda) return gpu().learner(model, options);
  return std::make_unique<CpuLearner>(model, options);
}

std::unique_ptr<PairLearner> make_pair_learner(const Seq2SeqModel& model, const LearnOptions& options) {
  if (options.device == Device::Cuda) return gpu().pair_learner(model, options);
  return std::make_unique<CpuPairLearner>(model, options);
}

}  // namespace rnn::detail
