// host/engine/learner.hpp: the engine's one training route. A Learner holds
// a model where it trains (its weights, gradients and optimizer state) for
// the whole run and takes one update per call, whatever the task:
//   every_step   a head on every step's output (a language model's chunk,
//                a tagger's batch), from zeros or from the carried state
//   final_state  a head on the final states of the top layer (a classifier)
// A PairLearner does the same for an encoder and its decoder (seq2seq).
// The CPU's (host/engine/cpu_learner.cpp) wrap the host functions of
// rnn/train.hpp, rnn/classify.hpp and rnn/seq2seq.hpp; the GPU's come from
// the CUDA backend (host/cuda/learner.cpp), which keeps everything on the
// device: a step uploads its inputs and reads back the loss. Inputs are
// validated by the caller (host/api/learner.cpp) before they get here.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rnn/device.hpp"
#include "rnn/learner.hpp"
#include "rnn/model.hpp"
#include "rnn/seq2seq.hpp"
#include "rnn/tensor.hpp"
#include "rnn/train.hpp"

namespace rnn::detail {

// The public learners' results and options (rnn/learner.hpp); options.device
// is resolved (Cpu, Reference or Cuda) before a learner is made.
using rnn::LearnOptions;
using rnn::StepStats;

class Learner {
 public:
  virtual ~Learner() = default;
  // x [T, B, I] time-major; lengths [B] or null (all T); targets [T*B]
  // (-1 ignored, -1 past each length). carry: start from the last call's
  // final state (same B; zeros on the first call), else from zeros.
  virtual StepStats every_step(const Tensor& x, const std::vector<int64_t>* lengths,
                               const std::vector<int64_t>& targets, bool carry) = 0;
  // labels [B], each in [0, O).
  virtual StepStats final_state(const Tensor& x, const std::vector<int64_t>& lengths,
                                const std::vector<int64_t>& labels) = 0;
  virtual Model model() const = 0;  // weights only (no vocab or metadata)
  // Sizes what the learner keeps for steps of up to T x B now rather than
  // at the first step that needs it (the GPU's plan and buffers; nothing
  // on the CPU). Throws what growing would (out of device memory, say).
  virtual void reserve(int64_t /*T*/, int64_t /*B*/) {}
};

class PairLearner {
 public:
  virtual ~PairLearner() = default;
  // rnn::seq2seq_step's arguments, checked.
  virtual StepStats step(const Tensor& src, const std::vector<int64_t>& src_lengths, const Tensor& dec_in,
                         const std::vector<int64_t>& tgt_lengths, const std::vector<int64_t>& targets) = 0;
  virtual Seq2SeqModel model() const = 0;  // weights only
};

// The one for options.device: the CPU's (host/engine/cpu_learner.cpp;
// Device::Cpu, the fast backend where it fits, or Reference), or the CUDA
// backend's.
std::unique_ptr<Learner> make_learner(const Model& model, const LearnOptions& options);
std::unique_ptr<PairLearner> make_pair_learner(const Seq2SeqModel& model, const LearnOptions& options);

}  // namespace rnn::detail
