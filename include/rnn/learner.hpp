// rnn/learner.hpp: a model in training, held where it trains.
//
// A Learner keeps a model, its gradients and its optimizer state on one
// device for the whole run and takes one update per call: on the GPU they
// stay in device memory (a step uploads its inputs and reads back the
// loss; the plan is made once and grown only when a larger batch or
// longer sequence arrives; the forward pass runs once per step); on the
// CPU each update is the host API's own step (train_step, classify_step,
// seq2seq_step), bit for bit. Every training command of the `rnn` program
// trains through one (rnn::ChunkTrainer, rnn/train.hpp, is the same with
// the state carried from chunk to chunk).
//
// Inputs are time-major: x [T, B, I], lengths [B] each in [1, T] (packed
// semantics), targets [T*B] with -1 for a position that is not counted (and
// -1 at every position past its sequence's length). Each call needs at
// least one counted target. Errors are rnn::Error naming the argument, as
// in rnn/train.hpp; a call that throws leaves the model as it was.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rnn/device.hpp"
#include "rnn/model.hpp"
#include "rnn/seq2seq.hpp"
#include "rnn/tensor.hpp"
#include "rnn/train.hpp"

namespace rnn {

struct StepStats {
  double loss = 0.0;       // mean NLL (nats) over the counted targets
  int64_t count = 0;       // targets counted
  int64_t correct = 0;     // Learner::classify only: argmax == label, before the update
  double grad_norm = 0.0;  // the global gradient norm before clipping
};

// Training options every learner takes.
struct LearnOptions {
  OptimizerOptions optimizer;    // SGD (momentum) or Adam, as rnn::Optimizer
  double clip = 0.0;             // clip the global gradient norm to this (<= 0: no clipping)
  Device device = Device::Auto;  // resolved when the learner is made (Auto: the GPU when usable)
  Kernel kernel = Kernel::Auto;  // the GPU's recurrence kernel
};

class Learner {
 public:
  // The model (which needs a head) is copied in. Throws rnn::Error
  // ("model" without a head; "device" or "cuda" from the GPU's setup).
  Learner(const Model& model, const LearnOptions& options);
  ~Learner();
  Learner(Learner&&) noexcept;
  Learner& operator=(Learner&&) noexcept;

  // One update with the head on every step's output (a tagger, a language
  // model's chunk), from zero initial states. Bidirectional models are
  // fine: every step's head reads both directions.
  StepStats step(const Tensor& x, const std::vector<int64_t>* lengths, const std::vector<int64_t>& targets);
  // One update with the head on the final states of the top layer
  // (rnn/classify.hpp): labels [B], each in [0, O). StepStats::correct
  // counts the batch's right answers before the update.
  StepStats classify(const Tensor& x, const std::vector<int64_t>& lengths, const std::vector<int64_t>& labels);

  // The current weights, with the vocab, metadata and embedding table (not
  // trained) of the model given (a download on the GPU).
  Model model() const;
  Device device() const noexcept;  // where it trains: Cpu, Reference or Cuda

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// An encoder and its decoder trained together with teacher forcing
// (rnn/seq2seq.hpp): one global gradient norm over both, one optimizer
// each.
class Seq2SeqLearner {
 public:
  // Throws rnn::Error("model") when the pair does not fit (seq2seq_step's
  // checks), and like Learner.
  Seq2SeqLearner(const Seq2SeqModel& model, const LearnOptions& options);
  ~Seq2SeqLearner();
  Seq2SeqLearner(Seq2SeqLearner&&) noexcept;
  Seq2SeqLearner& operator=(Seq2SeqLearner&&) noexcept;

  // seq2seq_step's arguments and semantics.
  StepStats step(const Tensor& src, const std::vector<int64_t>& src_lengths, const Tensor& dec_in,
                 const std::vector<int64_t>& tgt_lengths, const std::vector<int64_t>& targets);
  Seq2SeqModel model() const;  // with the vocabs, metadata and embeddings of the models given
  Device device() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rnn
