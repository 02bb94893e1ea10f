// rnn/train.hpp: learning: softmax cross-entropy, optimizers, gradient
// clipping, a training step with truncated BPTT, and the step API for
// streaming (one input at a time, state carried by the caller).
//
// train_step and loss_and_grads run on the device their options name (the
// fast CPU backend by default; the double reference; the GPU's passes with
// the head and update on the host). A whole training run with the model
// kept where it trains is rnn::Learner (rnn/learner.hpp) or, with the state
// carried from chunk to chunk, ChunkTrainer below; on device pointers,
// rnn::cuda::Trainer and rnn::cuda::Stepper (rnn/cuda.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rnn/device.hpp"
#include "rnn/forward.hpp"
#include "rnn/model.hpp"
#include "rnn/tensor.hpp"

namespace rnn {

// ---- loss ------------------------------------------------------------------

struct LossResult {
  double loss = 0.0;   // mean negative log-likelihood over counted positions, in nats
  int64_t count = 0;   // positions counted (targets >= 0)
  Tensor dlogits;      // d loss / d logits, logits' shape (0 at ignored positions)
};

// Numerically stable softmax cross-entropy over the last dimension:
// logits [..., O] flattened to N rows; targets [N], each in [0, O) or -1
// (ignored). Throws rnn::Error("targets", ...) on a size or range mismatch.
LossResult softmax_cross_entropy(const Tensor& logits, const std::vector<int64_t>& targets);

// ---- optimizers ----------------------------------------------------------------

enum class OptimizerKind { Sgd, Adam };

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::Adam;
  double lr = 2e-3;
  double momentum = 0.0;  // SGD: v = momentum * v + g; w -= lr * v (PyTorch's SGD)
  double beta1 = 0.9;     // Adam (PyTorch's, bias-corrected)
  double beta2 = 0.999;
  double eps = 1e-8;
};

class Optimizer {
 public:
  // State shaped like `model` (all its parameters, the head's included).
  Optimizer(const Model& model, const OptimizerOptions& options);
  // One update of every parameter of `model` from `grads` (same config).
  void step(Model& model, const Model& grads);
  int64_t steps() const noexcept { return steps_; }
  const OptimizerOptions& options() const noexcept { return options_; }

 private:
  OptimizerOptions options_;
  Model first_, second_;  // momentum buffer / Adam's moments
  int64_t steps_ = 0;
};

// PyTorch's clip_grad_norm_: the global L2 norm of all gradients; when it
// exceeds max_norm, every gradient is scaled by max_norm / (norm + 1e-6).
// max_norm <= 0 only measures. Returns the norm before clipping.
double clip_grad_norm(Model& grads, double max_norm);
// The same over the gradients of several models at once (one global norm:
// an encoder and its decoder, say), in the order given.
double clip_grad_norm(const std::vector<Model*>& grads, double max_norm);

// ---- a training step -------------------------------------------------------------

struct TrainStepResult {
  double loss = 0.0;      // mean NLL (nats) of this chunk
  int64_t count = 0;      // targets counted
  double grad_norm = 0.0; // before clipping
  Tensor h_n;             // [L*D, B, H]: the next chunk's h0 (truncated BPTT)
};

// Forward over x [T, B, I] from h0 (null: zeros), the model's head on every
// step, softmax cross-entropy against targets [T*B] (time-major, -1 =
// ignored), backward, clipping to `clip` (<= 0: none), one optimizer step.
// The model must have a head. Deterministic: same inputs, same result, bit
// for bit.
TrainStepResult train_step(Model& model, Optimizer& optimizer, const Tensor& x, const Tensor* h0,
                           const std::vector<int64_t>& targets, double clip);
// The same with per-sequence lengths [B] (packed semantics; targets at
// padded positions must be -1). Bidirectional models are fine here: every
// step's head reads both directions.
TrainStepResult train_step(Model& model, Optimizer& optimizer, const Tensor& x, const Tensor* h0,
                           const std::vector<int64_t>* lengths, const std::vector<int64_t>& targets, double clip);
// The same on the device `options` resolve to (options.batch_first must be
// false): on the GPU the RNN's forward and backward passes run there (one
// forward pass, kept for the backward pass), the head, loss and update on
// the host.
TrainStepResult train_step(Model& model, Optimizer& optimizer, const Tensor& x, const Tensor* h0,
                           const std::vector<int64_t>* lengths, const std::vector<int64_t>& targets, double clip,
                           const ForwardOptions& options);

// Peak host bytes of one CPU training step over T steps of B sequences,
// beyond the model itself: the gradients, the optimizer's state, the
// forward pass kept for the backward pass (cpu_pass_bytes, rnn/limits.hpp),
// the head's logits and their gradient. Overflow checked (rnn::Error with
// `subject`). Training commands check it (with check_host_bytes) before
// they allocate the model, so a model too large to train is refused before
// any of it is made.
uint64_t train_step_bytes(const ModelConfig& config, int64_t T, int64_t B, const std::string& subject);

// ---- training with carried state -----------------------------------------------

// Truncated BPTT over chunks of a long stream (a character language model's
// text, say), the state carried from each chunk to the next. On the CPU
// each step is train_step(); on the GPU the weights, gradients, optimizer
// state and the carried state stay on the device for the whole run: a step
// uploads x and reads back the loss. The model (which
// needs a head) is copied in; model() gives the trained weights back.
class ChunkTrainer {
 public:
  // `device` may be Auto (resolved here). Chunks are at most max_steps x
  // max_batch (the GPU's plan and buffers are sized for them here, once). Throws rnn::Error like
  // train_step ("model" without a head) or the GPU's setup ("device", "cuda");
  // on the CPU, rnn::Error("model", "... needs N GiB ...") before allocating
  // when the model's copy and train_step_bytes() exceed the memory available.
  ChunkTrainer(const Model& model, const OptimizerOptions& optimizer, double clip, Device device,
               int64_t max_steps, int64_t max_batch);
  ~ChunkTrainer();
  ChunkTrainer(ChunkTrainer&&) noexcept;
  ChunkTrainer& operator=(ChunkTrainer&&) noexcept;

  // One update from x [T, B, I] (time-major, T <= max_steps, B <= max_batch)
  // and targets [T*B] (-1 ignored); `fresh` starts from zeros, else from the
  // previous chunk's final state (same B, else rnn::Error("x", ...)).
  // Returns the chunk's mean NLL (nats).
  double step(const Tensor& x, const std::vector<int64_t>& targets, bool fresh);
  // The current weights, with the vocab and metadata of the model given.
  Model model() const;
  Device device() const noexcept;  // where it trains (Cpu, Reference or Cuda)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Loss and the gradients of every parameter (head included) without updating.
struct LossAndGrads {
  double loss = 0.0;
  int64_t count = 0;
  Model grads;
  Tensor h_n;
  Tensor dh0;  // d loss / d h0 [L*D, B, H] (an encoder feeding h0 backpropagates it)
  Tensor dx;   // d loss / d x, x's shape (an encoder feeding part of x backpropagates it)
};
LossAndGrads loss_and_grads(const Model& model, const Tensor& x, const Tensor* h0,
                            const std::vector<int64_t>& targets, const std::vector<int64_t>* lengths = nullptr);
// The same on the device `options` resolve to (time-major x only). On the
// CPU it is the function above; on the GPU the RNN's forward pass runs
// there once and is kept for its backward pass (cuda::Plan's
// forward_for_backward and backward_after_forward), the head and the loss
// on the host (double) in between.
LossAndGrads loss_and_grads(const Model& model, const Tensor& x, const Tensor* h0,
                            const std::vector<int64_t>& targets, const std::vector<int64_t>* lengths,
                            const ForwardOptions& options);

// ---- the step API ------------------------------------------------------------------

namespace detail {
struct StepWeights;
}

// Runs a unidirectional model one time step at a time, for streaming and
// generation: the state lives in the Stepper between calls. On
// Device::Reference, stepping through a sequence gives exactly the
// reference's rnn::forward outputs (double arithmetic); on Device::Cpu (the
// default), the fast backend's kernels in the forward pass's order: its
// outputs within float rounding (often bit for bit: a one-hot input takes
// the same copy and the same step kernel; the BLAS may sum one step's rows
// in another order than all steps' at once).
class Stepper {
 public:
  // batch >= 1; throws rnn::Error("model", ...) for a bidirectional model.
  // Keeps a reference to `model`, which must outlive the Stepper. It steps on
  // the CPU: Device::Auto means Device::Cpu here, and Device::Cuda is
  // refused (rnn::Error "device"): on the GPU use rnn::cuda::Stepper
  // (device pointers, rnn/cuda.hpp) or rnn::generate (rnn/sample.hpp). On
  // Device::Cpu the weights are prepared (packed) when the Stepper is made
  // and on every reset(): a model changed in between is stepped with the
  // weights it had then.
  explicit Stepper(const Model& model, int64_t batch = 1, Device device = Device::Cpu);
  // Starts again from h0 [L, B, H] (null: zeros), with the model's weights
  // as they are now.
  void reset(const Tensor* h0 = nullptr);
  // Consumes x_t [B, I]; returns the top layer's new state [B, H]. The
  // reference is to the Stepper's own tensor: the next step(),
  // step_one_hot() or reset() overwrites it (copy it to keep it), and it
  // dies with the Stepper.
  const Tensor& step(const Tensor& x_t);
  // Same for a one-hot input: index[b] in [0, I) per sequence (the same
  // lifetime for the reference returned).
  const Tensor& step_one_hot(const std::vector<int64_t>& index);
  // The head's output for the last step, [B, O] (the model must have a head).
  Tensor logits() const;
  // All layers' states [L, B, H].
  Tensor state() const;

 private:
  void advance(const std::vector<double>& input, int64_t width);
  void advance_fast(const float* x, const std::vector<int64_t>* hot);
  const Model* model_;
  int64_t batch_;
  Device device_ = Device::Cpu;                          // Cpu (the fast backend) or Reference
  std::vector<double> h_;                                // Reference: [L, B, H]
  std::vector<float> hf_;                                // Cpu: [L, B, H]
  std::shared_ptr<const detail::StepWeights> weights_;  // Cpu: prepared by reset()
  Tensor top_;                                           // [B, H]
};

}  // namespace rnn
